"""Typed models of a Plex Media Server's libraries: sections, items, pages and play queues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
import math
from typing import Any

from .exceptions import PlexServerResponseError
from .fields import container, number, objects, text
from .models import MediaItem, media_item_fields

ITEM_TYPES = {
    "movie": 1,
    "show": 2,
    "season": 3,
    "episode": 4,
    "artist": 8,
    "album": 9,
    "track": 10,
    "photo": 13,
}
PLAYABLE_TYPES = frozenset({"movie", "episode", "track", "clip", "photo"})
PLAY_QUEUE_TYPES = {
    "movie": "video",
    "episode": "video",
    "clip": "video",
    "track": "audio",
    "photo": "photo",
}


@dataclass(frozen=True, kw_only=True)
class LibrarySection:
    """One library of a server, from `GET /library/sections`.

    changed_at is the server's mark of the section's last change of content
    (`contentChangedAt`, else `updatedAt`): while it stays the same, so do the
    section's items.
    """

    key: str
    title: str
    section_type: str
    uuid: str | None = None
    changed_at: int | None = None


@dataclass(frozen=True, kw_only=True)
class LibraryItem(MediaItem):
    """A film, show, season, episode, artist, album, track or photo of a library."""

    rating_key: str
    key: str | None = None
    added_at: datetime | None = None
    originally_available_at: date | None = None
    duration_ms: int | None = None
    view_offset_ms: int | None = None
    studio: str | None = None
    content_rating: str | None = None
    rating: float | None = None
    summary: str | None = None
    genres: tuple[str, ...] = ()
    thumb: str | None = None
    art: str | None = None
    parent_thumb: str | None = None
    grandparent_thumb: str | None = None
    grandparent_art: str | None = None
    library_section_id: str | None = None
    leaf_count: int | None = None
    child_count: int | None = None

    @property
    def poster(self) -> str | None:
        """Return the path of the item's poster: an episode's is its show's."""
        if self.media_type == "episode":
            return self.grandparent_thumb or self.parent_thumb or self.thumb
        if self.media_type in ("season", "track"):
            return self.thumb or self.parent_thumb
        return self.thumb

    @property
    def fanart(self) -> str | None:
        """Return the path of the item's background art, else its show's or artist's."""
        return self.art or self.grandparent_art

    @property
    def playable(self) -> bool:
        """Tell whether the item plays by itself, rather than holding others."""
        return self.media_type in PLAYABLE_TYPES


@dataclass(frozen=True, kw_only=True)
class LibraryPage:
    """A page of items and where it stands among all of them."""

    items: list[LibraryItem]
    offset: int
    total: int


@dataclass(frozen=True, kw_only=True)
class PlayQueue:
    """A play queue the server made for a player, from `POST /playQueues`."""

    play_queue_id: str
    selected_item_id: str | None = None


def sections_from_json(data: Any) -> list[LibrarySection]:
    """Return the libraries of a `/library/sections` answer; entries without a key or title are left out."""
    return [
        LibrarySection(
            key=key,
            title=title,
            section_type=text(entry.get("type")) or "unknown",
            uuid=text(entry.get("uuid")),
            changed_at=number(entry.get("contentChangedAt"))
            or number(entry.get("updatedAt")),
        )
        for entry in objects(container(data).get("Directory"))
        if (key := text(entry.get("key"))) is not None
        and (title := text(entry.get("title"))) is not None
    ]


def page_from_json(data: Any, *, offset: int = 0) -> LibraryPage:
    """Return the items of an answer and their total, which `totalSize` gives when paged.

    Items come as `Metadata` (films, episodes, tracks) or `Directory`
    (shows, seasons, artists, albums in some answers); those without a
    ratingKey are left out.
    """
    found = container(data)
    entries = objects(found.get("Metadata")) + objects(found.get("Directory"))
    items = [item for entry in entries if (item := item_from_json(entry)) is not None]
    start = number(found.get("offset"))
    offset = start if start is not None else offset
    total = number(found.get("totalSize"))
    if total is None:
        total = offset + (number(found.get("size")) or len(items))
    return LibraryPage(items=items, offset=offset, total=total)


def total_from_json(data: Any) -> int:
    """Return the number of items an answer of size 0 counts."""
    found = container(data)
    total = number(found.get("totalSize"))
    if total is None:
        total = number(found.get("size"))
    if total is None:
        raise PlexServerResponseError("The server did not say how many items it has")
    return total


def item_from_json(entry: dict[str, Any]) -> LibraryItem | None:
    """Return one item of a library, or None without a ratingKey."""
    if (rating_key := text(entry.get("ratingKey"))) is None:
        return None
    return LibraryItem(
        **media_item_fields(entry),
        rating_key=rating_key,
        key=text(entry.get("key")),
        added_at=_moment(entry.get("addedAt")),
        originally_available_at=_day(entry.get("originallyAvailableAt")),
        duration_ms=number(entry.get("duration")),
        view_offset_ms=number(entry.get("viewOffset")),
        studio=text(entry.get("studio")),
        content_rating=text(entry.get("contentRating")),
        rating=_rating(entry.get("audienceRating")) or _rating(entry.get("rating")),
        summary=text(entry.get("summary")),
        genres=tuple(
            tag
            for genre in objects(entry.get("Genre"))
            if (tag := text(genre.get("tag"))) is not None
        ),
        thumb=text(entry.get("thumb")),
        art=text(entry.get("art")),
        parent_thumb=text(entry.get("parentThumb")),
        grandparent_thumb=text(entry.get("grandparentThumb")),
        grandparent_art=text(entry.get("grandparentArt")),
        library_section_id=text(entry.get("librarySectionID")),
        leaf_count=number(entry.get("leafCount")),
        child_count=number(entry.get("childCount")),
    )


def play_queue_from_json(data: Any) -> PlayQueue:
    """Return the play queue the server made, or raise when it names none."""
    found = container(data)
    if (play_queue_id := text(found.get("playQueueID"))) is None:
        raise PlexServerResponseError("The server made no play queue")
    return PlayQueue(
        play_queue_id=play_queue_id,
        selected_item_id=text(found.get("playQueueSelectedItemID")),
    )


def _moment(value: Any) -> datetime | None:
    """Return a moment the server gives in seconds since 1970."""
    seconds = number(value)
    if seconds is None or seconds > 253_402_300_799:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _day(value: Any) -> date | None:
    """Return a day the server gives as YYYY-MM-DD."""
    found = text(value)
    if found is None:
        return None
    try:
        return date.fromisoformat(found.strip()[:10])
    except ValueError:
        return None


def _rating(value: Any) -> float | None:
    """Return a rating from 0 to 10, sent as a number or its digits."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 < value <= 10:
        return None
    return round(float(value), 1)
