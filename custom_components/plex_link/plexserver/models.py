"""Typed models of what a Plex Media Server sends."""

from __future__ import annotations

from dataclasses import dataclass
import math
import re
from typing import Any

from .exceptions import PlexServerResponseError

DIRECT_PLAY = "direct play"
TRANSCODE = "transcode"
VIDEO_TYPES = frozenset({"movie", "episode", "clip", "trailer"})
AUDIO_TYPES = frozenset({"track"})
_MAX_NUMBER = 2**53
_DIGITS = re.compile(r"[ \t]*([0-9]{1,16})[ \t]*")
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})


@dataclass(frozen=True, kw_only=True)
class Identity:
    """Who a server is, from `GET /identity`."""

    machine_identifier: str
    version: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Identity:
        """Build the identity from the server's answer, refusing anything malformed."""
        container = _container(data)
        machine_identifier = _text(container.get("machineIdentifier"))
        if machine_identifier is None:
            raise PlexServerResponseError(
                "The server did not name its machine identifier"
            )
        return cls(
            machine_identifier=machine_identifier,
            version=_text(container.get("version")),
        )


@dataclass(frozen=True, kw_only=True)
class PlaySession:
    """One stream the server is playing, from `GET /status/sessions`.

    The player's addresses and device identifier are left out: personal data
    that nothing here needs. Without a TranscodeSession the server plays the
    file as it is, so each stream the media has is a direct play; a stream the
    media lacks (the video of a track) has no decision.
    """

    session_key: str
    session_id: str | None = None
    media_type: str | None = None
    title: str | None = None
    grandparent_title: str | None = None
    parent_title: str | None = None
    index: int | None = None
    parent_index: int | None = None
    year: int | None = None
    duration_ms: int | None = None
    view_offset_ms: int | None = None
    progress: float | None = None
    user: str | None = None
    user_id: int | None = None
    player: str | None = None
    product: str | None = None
    platform: str | None = None
    state: str | None = None
    local: bool = False
    location: str | None = None
    bandwidth_kbps: int | None = None
    video_resolution: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    video_decision: str | None = None
    audio_decision: str | None = None
    transcoding: bool = False
    throttled: bool = False

    @classmethod
    def from_json(cls, data: Any) -> PlaySession:
        """Build a session from one `Metadata` entry, refusing one without a session key."""
        if not isinstance(data, dict):
            raise PlexServerResponseError(
                "The server sent a session of an unexpected shape"
            )
        session_key = _text(data.get("sessionKey"))
        if session_key is None:
            raise PlexServerResponseError("The server sent a session without a key")
        user = _child(data, "User")
        player = _child(data, "Player")
        session = _child(data, "Session")
        media = _media(data.get("Media"))
        media_type = _text(data.get("type"))
        duration = _number(data.get("duration"))
        view_offset = _number(data.get("viewOffset"))
        location = _lower(session.get("location"))
        if location not in {"lan", "wan"}:
            location = None
        local = _flag(player.get("local"))
        video_codec = _text(media.get("videoCodec"))
        video_resolution = _text(media.get("videoResolution"))
        audio_codec = _text(media.get("audioCodec"))
        transcode = data.get("TranscodeSession")
        if isinstance(transcode, dict):
            video_decision = _decision(transcode.get("videoDecision"))
            audio_decision = _decision(transcode.get("audioDecision"))
            throttled = _flag(transcode.get("throttled")) or False
        else:
            has_video = (
                bool(video_codec or video_resolution) or media_type in VIDEO_TYPES
            )
            has_audio = bool(audio_codec) or media_type in VIDEO_TYPES | AUDIO_TYPES
            video_decision = DIRECT_PLAY if has_video else None
            audio_decision = DIRECT_PLAY if has_audio else None
            throttled = False
        return cls(
            session_key=session_key,
            session_id=_text(session.get("id")),
            media_type=media_type,
            title=_text(data.get("title")),
            grandparent_title=_text(data.get("grandparentTitle")),
            parent_title=_text(data.get("parentTitle")),
            index=_number(data.get("index")),
            parent_index=_number(data.get("parentIndex")),
            year=_number(data.get("year")),
            duration_ms=duration,
            view_offset_ms=view_offset,
            progress=_progress(view_offset, duration),
            user=_text(user.get("title")),
            user_id=_number(user.get("id")),
            player=_text(player.get("title")),
            product=_text(player.get("product")),
            platform=_text(player.get("platform")),
            state=_lower(player.get("state")),
            local=local if local is not None else location == "lan",
            location=location,
            bandwidth_kbps=_number(session.get("bandwidth")),
            video_resolution=video_resolution,
            video_codec=video_codec,
            audio_codec=audio_codec,
            video_decision=video_decision,
            audio_decision=audio_decision,
            transcoding=TRANSCODE in (video_decision, audio_decision),
            throttled=throttled,
        )


def sessions_from_json(data: Any) -> list[PlaySession]:
    """Return the sessions of `/status/sessions`, skipping malformed entries.

    One odd entry must not hide the others; a container of the wrong shape is refused.
    """
    entries = _container(data).get("Metadata")
    if entries is None:
        return []
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise PlexServerResponseError("The server sent sessions of an unexpected shape")
    sessions = []
    for entry in entries:
        try:
            sessions.append(PlaySession.from_json(entry))
        except PlexServerResponseError:
            continue
    return sessions


def _container(data: Any) -> dict[str, Any]:
    """Return the `MediaContainer` object of an answer, or raise for another shape."""
    container = data.get("MediaContainer") if isinstance(data, dict) else None
    if not isinstance(container, dict):
        raise PlexServerResponseError("The server sent JSON of an unexpected shape")
    return container


def _child(data: dict[str, Any], key: str) -> dict[str, Any]:
    """Return a nested object, or an empty one when it is absent or not an object."""
    value = data.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else {}


def _media(value: Any) -> dict[str, Any]:
    """Return the media being played: the selected entry, else the first."""
    entries = value if isinstance(value, list) else [value]
    objects = [entry for entry in entries if isinstance(entry, dict)]
    for entry in objects:
        if _flag(entry.get("selected")):
            return entry
    return objects[0] if objects else {}


def _text(value: Any) -> str | None:
    """Return a non-empty string; a number counts as its digits, anything else as absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def _lower(value: Any) -> str | None:
    """Return a string field in lower case, without surrounding blanks."""
    text = _text(value)
    return text.strip().lower() if text is not None else None


def _decision(value: Any) -> str | None:
    """Return a transcode decision in Plex's words: transcode, copy or direct play."""
    text = _lower(value)
    return DIRECT_PLAY if text in {"directplay", "direct_play"} else text


def _number(value: Any) -> int | None:
    """Return a whole number that is not negative, also when sent as a string or float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and (digits := _DIGITS.fullmatch(value)):
        value = int(digits.group(1))
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= _MAX_NUMBER:
        return value
    return None


def _flag(value: Any) -> bool | None:
    """Return a boolean sent as true/false, 1/0 or their strings; None when absent."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in {0, 1}:
        return value == 1
    text = _lower(value)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _progress(view_offset: int | None, duration: int | None) -> float | None:
    """Return the share of the media played, from 0 to 1, when both are known."""
    if view_offset is None or not duration:
        return None
    return min(view_offset / duration, 1.0)
