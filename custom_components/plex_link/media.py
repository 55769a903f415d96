"""What a person reads about a piece of media, in the same words wherever Plex Link shows it."""

from __future__ import annotations

from typing import Any

from .plexserver import MediaItem


def media_attributes(item: MediaItem, *, year: bool = True) -> dict[str, Any]:
    """Return title, show, season, episode, artist, album and year; None where they do not apply.

    An episode has a show, a season and an episode number; a track an artist
    and an album. Compact lists leave the year out.
    """
    attributes: dict[str, Any] = {
        "title": item.title,
        "show": item.show,
        "season": item.season,
        "episode": item.episode,
        "artist": item.artist,
        "album": item.album,
    }
    if year:
        attributes["year"] = item.year
    return attributes
