"""Typed models of what a Plex Media Server sends."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .exceptions import PlexServerResponseError
from .fields import child, container, flag, lower, number, objects, text

DIRECT_PLAY = "direct play"
TRANSCODE = "transcode"
VIDEO_TYPES = frozenset({"movie", "episode", "clip", "trailer"})
AUDIO_TYPES = frozenset({"track"})
VIDEO_STREAM = 1
AUDIO_STREAM = 2


@dataclass(frozen=True, kw_only=True)
class MediaItem:
    """A film, an episode or a track, as sessions and webhook posts name it.

    The properties decide what a person reads about it: an episode's show,
    season and episode, a track's artist and album.
    """

    media_type: str | None = None
    title: str | None = None
    original_title: str | None = None
    grandparent_title: str | None = None
    parent_title: str | None = None
    index: int | None = None
    parent_index: int | None = None
    year: int | None = None
    library_section_title: str | None = None

    @property
    def show(self) -> str | None:
        """Return the show of an episode."""
        return self.grandparent_title if self.media_type == "episode" else None

    @property
    def season(self) -> int | None:
        """Return the season number of an episode."""
        return self.parent_index if self.media_type == "episode" else None

    @property
    def episode(self) -> int | None:
        """Return the number of an episode in its season."""
        return self.index if self.media_type == "episode" else None

    @property
    def artist(self) -> str | None:
        """Return the artist of a track: its own when it has one, else the album's."""
        if self.media_type != "track":
            return None
        return self.original_title or self.grandparent_title

    @property
    def album(self) -> str | None:
        """Return the album of a track."""
        return self.parent_title if self.media_type == "track" else None


def media_item_fields(metadata: dict[str, Any]) -> dict[str, Any]:
    """Return the MediaItem fields of a `Metadata` object, by their names."""
    return {
        "media_type": text(metadata.get("type")),
        "title": text(metadata.get("title")),
        "original_title": text(metadata.get("originalTitle")),
        "grandparent_title": text(metadata.get("grandparentTitle")),
        "parent_title": text(metadata.get("parentTitle")),
        "index": number(metadata.get("index")),
        "parent_index": number(metadata.get("parentIndex")),
        "year": number(metadata.get("year")),
        "library_section_title": text(metadata.get("librarySectionTitle")),
    }


@dataclass(frozen=True, kw_only=True)
class PlaySession(MediaItem):
    """One stream the server is playing, from `GET /status/sessions`.

    The player's addresses are left out: personal data that nothing here
    needs. position_at is when view_offset_ms was true: the moment of the read,
    or of the notification that moved it (see moved()).

    Each transcode decision is the stream's own (`Media.Part.Stream.decision`
    of the video and the audio stream), else the TranscodeSession's. Without
    either the server plays the file as it is, so each stream the media has is
    a direct play; a stream the media lacks (the video of a track) has no
    decision.
    """

    session_key: str
    position_at: datetime
    session_id: str | None = None
    player_id: str | None = None
    rating_key: str | None = None
    key: str | None = None
    thumb: str | None = None
    art: str | None = None
    parent_thumb: str | None = None
    grandparent_thumb: str | None = None
    grandparent_art: str | None = None
    duration_ms: int | None = None
    view_offset_ms: int | None = None
    progress: float | None = None
    user: str | None = None
    player: str | None = None
    product: str | None = None
    platform: str | None = None
    state: str | None = None
    location: str | None = None
    bandwidth_kbps: int | None = None
    video_resolution: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    video_decision: str | None = None
    audio_decision: str | None = None
    transcoding: bool = False

    @classmethod
    def from_json(cls, data: Any, *, position_at: datetime) -> PlaySession:
        """Build a session from one `Metadata` entry read at position_at.

        An entry without a session key is refused.
        """
        if not isinstance(data, dict):
            raise PlexServerResponseError(
                "The server sent a session of an unexpected shape"
            )
        session_key = text(data.get("sessionKey"))
        if session_key is None:
            raise PlexServerResponseError("The server sent a session without a key")
        user = child(data, "User")
        player = child(data, "Player")
        session = child(data, "Session")
        media = _selected(data.get("Media"))
        streams = objects(_selected(media.get("Part")).get("Stream"))
        transcode = child(data, "TranscodeSession")
        media_type = text(data.get("type"))
        duration = number(data.get("duration"))
        view_offset = number(data.get("viewOffset"))
        location = lower(session.get("location"))
        video_codec = text(media.get("videoCodec"))
        video_resolution = text(media.get("videoResolution"))
        audio_codec = text(media.get("audioCodec"))
        video_decision = _decision(streams, VIDEO_STREAM, transcode, "videoDecision")
        audio_decision = _decision(streams, AUDIO_STREAM, transcode, "audioDecision")
        if not transcode:
            has_video = (
                bool(video_codec or video_resolution) or media_type in VIDEO_TYPES
            )
            has_audio = bool(audio_codec) or media_type in VIDEO_TYPES | AUDIO_TYPES
            video_decision = video_decision or (DIRECT_PLAY if has_video else None)
            audio_decision = audio_decision or (DIRECT_PLAY if has_audio else None)
        return cls(
            **media_item_fields(data),
            session_key=session_key,
            position_at=position_at,
            session_id=text(session.get("id")),
            player_id=text(player.get("machineIdentifier")),
            rating_key=text(data.get("ratingKey")),
            key=text(data.get("key")),
            thumb=text(data.get("thumb")),
            art=text(data.get("art")),
            parent_thumb=text(data.get("parentThumb")),
            grandparent_thumb=text(data.get("grandparentThumb")),
            grandparent_art=text(data.get("grandparentArt")),
            duration_ms=duration,
            view_offset_ms=view_offset,
            progress=_progress(view_offset, duration),
            user=text(user.get("title")),
            player=text(player.get("title")),
            product=text(player.get("product")),
            platform=text(player.get("platform")),
            state=lower(player.get("state")),
            location=location if location in {"lan", "wan"} else None,
            bandwidth_kbps=number(session.get("bandwidth")),
            video_resolution=video_resolution,
            video_codec=video_codec,
            audio_codec=audio_codec,
            video_decision=video_decision,
            audio_decision=audio_decision,
            transcoding=TRANSCODE in (video_decision, audio_decision),
        )

    def expected_offset(self, at: datetime) -> int | None:
        """Return where playback should be at a moment, if it went on as last known."""
        if self.view_offset_ms is None:
            return None
        if self.state != "playing":
            return self.view_offset_ms
        elapsed = max((at - self.position_at).total_seconds(), 0.0)
        return self.view_offset_ms + round(elapsed * 1000)

    def moved(self, view_offset_ms: int, at: datetime) -> PlaySession:
        """Return the session at another position, true at a moment."""
        return replace(
            self,
            view_offset_ms=view_offset_ms,
            progress=_progress(view_offset_ms, self.duration_ms),
            position_at=at,
        )


def sessions_from_json(data: Any, *, position_at: datetime) -> list[PlaySession]:
    """Return the sessions of `/status/sessions` read at position_at, skipping malformed entries.

    One odd entry must not hide the others; a container of the wrong shape is refused.
    """
    entries = container(data).get("Metadata")
    if entries is None:
        return []
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise PlexServerResponseError("The server sent sessions of an unexpected shape")
    sessions = []
    for entry in entries:
        try:
            sessions.append(PlaySession.from_json(entry, position_at=position_at))
        except PlexServerResponseError:
            continue
    return sessions


def _selected(value: Any) -> dict[str, Any]:
    """Return the selected object of a list (a media or a part), else the first."""
    entries = objects(value)
    for entry in entries:
        if flag(entry.get("selected")):
            return entry
    return entries[0] if entries else {}


def _decision(
    streams: list[dict[str, Any]],
    stream_type: int,
    transcode: dict[str, Any],
    key: str,
) -> str | None:
    """Return a stream's transcode decision: the stream's own, else the TranscodeSession's.

    Of several streams of the type, the selected one counts. The words are
    Plex's: transcode, copy or direct play.
    """
    of_type = [
        stream for stream in streams if number(stream.get("streamType")) == stream_type
    ]
    stream = _selected(of_type)
    decision = lower(stream.get("decision")) or lower(transcode.get(key))
    return DIRECT_PLAY if decision in {"directplay", "direct_play"} else decision


def _progress(view_offset: int | None, duration: int | None) -> float | None:
    """Return the share of the media played, from 0 to 1, when both are known."""
    if view_offset is None or not duration:
        return None
    return min(view_offset / duration, 1.0)
