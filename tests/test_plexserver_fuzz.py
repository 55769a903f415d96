"""Arbitrary JSON into the Plex Media Server parsers: only typed models or typed errors come out."""

from __future__ import annotations

from datetime import UTC, datetime
import json
import math
from typing import Any

from hypothesis import example, given, strategies as st

from custom_components.plex_link.plexserver import (
    PlayingNotification,
    PlaySession,
    PlexServerResponseError,
    sessions_from_json,
)
from custom_components.plex_link.plexserver.client import _decode
from custom_components.plex_link.plexserver.fields import flag, lower, number, text
from custom_components.plex_link.plexserver.notifications import playing_notifications

READ_AT = datetime(2026, 12, 1, tzinfo=UTC)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**53, 2**53 + 1, 2**31, -1, 0, 1])
    | st.floats()
    | st.sampled_from([0.0, 1.0, 2.5, -1.0, 2.0**53, 2.0**54])
    | st.text()
    | st.sampled_from(
        [
            "",
            " ",
            "0",
            "1",
            "12",
            " 7 ",
            "-3",
            "1e3",
            "٣",
            "9007199254740992",
            "9007199254740993",
            "\t42\t",
            "true",
            "FALSE",
            "lan",
            "WAN",
            "playing",
            "transcode",
            "directplay",
            "copy",
            "paused",
            "stopped",
            "buffering",
            "movie",
            "track",
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=10,
)


def shaped(*keys: str) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects that use the server's own keys, with any values (scalars mostly)."""
    return st.dictionaries(st.sampled_from(keys), SCALARS | JSON, max_size=len(keys))


CHILD = shaped(
    "id",
    "title",
    "state",
    "local",
    "location",
    "bandwidth",
    "product",
    "platform",
    "address",
    "selected",
    "videoResolution",
    "videoCodec",
    "audioCodec",
    "videoDecision",
    "audioDecision",
    "machineIdentifier",
    "streamType",
    "decision",
)
PART = shaped("id", "selected", "decision") | st.fixed_dictionaries(
    {}, optional={"selected": SCALARS, "Stream": st.lists(CHILD | JSON, max_size=3)}
)
MEDIA = CHILD | st.fixed_dictionaries(
    {},
    optional={
        "selected": SCALARS,
        "videoCodec": SCALARS,
        "audioCodec": SCALARS,
        "Part": st.lists(PART | JSON, max_size=2) | PART | JSON,
    },
)
ENTRY = st.fixed_dictionaries(
    {"sessionKey": SCALARS},
    optional={
        "type": SCALARS,
        "ratingKey": SCALARS,
        "key": SCALARS,
        "title": SCALARS,
        "originalTitle": SCALARS,
        "librarySectionTitle": SCALARS,
        "thumb": SCALARS,
        "grandparentThumb": SCALARS,
        "grandparentTitle": SCALARS,
        "parentTitle": SCALARS,
        "index": SCALARS,
        "parentIndex": SCALARS,
        "year": SCALARS,
        "duration": SCALARS,
        "viewOffset": SCALARS,
        "User": CHILD | JSON,
        "Player": CHILD | JSON,
        "Session": CHILD | st.lists(CHILD, max_size=2) | JSON,
        "Media": st.lists(MEDIA | JSON, max_size=3) | MEDIA | JSON,
        "TranscodeSession": CHILD | JSON,
    },
)
CONTAINER = st.fixed_dictionaries(
    {},
    optional={
        "MediaContainer": st.fixed_dictionaries(
            {},
            optional={
                "size": SCALARS,
                "Metadata": st.lists(ENTRY | JSON, max_size=4) | ENTRY | JSON,
            },
        )
        | JSON
    },
)
TEXT_FIELDS = (
    "session_id",
    "player_id",
    "rating_key",
    "key",
    "thumb",
    "art",
    "parent_thumb",
    "grandparent_thumb",
    "grandparent_art",
    "library_section_title",
    "media_type",
    "title",
    "original_title",
    "grandparent_title",
    "parent_title",
    "user",
    "player",
    "product",
    "platform",
    "state",
    "video_resolution",
    "video_codec",
    "audio_codec",
    "video_decision",
    "audio_decision",
)
NUMBER_FIELDS = (
    "index",
    "parent_index",
    "year",
    "duration_ms",
    "view_offset_ms",
    "bandwidth_kbps",
)


@given(JSON | CONTAINER)
@example({"MediaContainer": {"Metadata": {"sessionKey": "1", "duration": 10**400}}})
@example({"MediaContainer": {"Metadata": [{"sessionKey": "1", "viewOffset": 2**53}]}})
def test_sessions_parser(data: Any) -> None:
    """Sessions with typed, sane fields, or a typed error."""
    try:
        sessions = sessions_from_json(data, position_at=READ_AT)
    except PlexServerResponseError:
        return
    for session in sessions:
        assert isinstance(session, PlaySession)
        assert isinstance(session.session_key, str)
        assert session.session_key.strip()
        assert session.position_at == READ_AT
        for name in TEXT_FIELDS:
            value = getattr(session, name)
            assert value is None or (isinstance(value, str) and value.strip())
        for name in NUMBER_FIELDS:
            value = getattr(session, name)
            assert value is None or (type(value) is int and 0 <= value <= 2**53), name
        assert session.progress is None or (
            math.isfinite(session.progress) and 0.0 <= session.progress <= 1.0
        )
        assert session.location in {None, "lan", "wan"}
        assert type(session.transcoding) is bool
        for name in ("video_decision", "audio_decision"):
            assert getattr(session, name) != "directplay"
        for name in ("show", "artist", "album"):
            value = getattr(session, name)
            assert value is None or (isinstance(value, str) and value.strip())
        assert session.transcoding == (
            "transcode" in (session.video_decision, session.audio_decision)
        )


@given(st.binary() | JSON.map(lambda value: json.dumps(value).encode()))
@example(b"[" * 100_000)
def test_body_decoder(body: bytes) -> None:
    """A decoded JSON value, or a typed error."""
    try:
        value = _decode(body)
    except PlexServerResponseError:
        return
    assert isinstance(value, dict | list | str | int | float | bool | None)


PLAYING_ENTRY = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        (
            "sessionKey",
            "clientIdentifier",
            "ratingKey",
            "key",
            "viewOffset",
            "state",
            "transcodeSession",
        ),
        SCALARS,
    ),
)


@given(
    st.text()
    | JSON.map(json.dumps)
    | JSON.map(lambda value: json.dumps({"NotificationContainer": value}))
    | SCALARS.map(
        lambda kind: json.dumps({"NotificationContainer": {"type": kind}}, default=str)
    )
    | st.lists(PLAYING_ENTRY | JSON, max_size=4).map(
        lambda entries: json.dumps(
            {
                "NotificationContainer": {
                    "type": "playing",
                    "PlaySessionStateNotification": entries,
                }
            },
            default=str,
        )
    )
)
@example("[" * 100_000)
@example('{"NotificationContainer": {"type": "playing"}}')
def test_notification_parser(message: str) -> None:
    """Reports with typed fields for a playing notification; None for anything else."""
    reports = playing_notifications(message)
    if reports is None:
        try:
            payload = json.loads(message)
        except (ValueError, RecursionError):
            return
        container = (
            payload.get("NotificationContainer") if isinstance(payload, dict) else None
        )
        assert not isinstance(container, dict) or container.get("type") != "playing"
        return
    assert json.loads(message)["NotificationContainer"]["type"] == "playing"
    for report in reports:
        assert isinstance(report, PlayingNotification)
        assert isinstance(report.session_key, str)
        assert report.session_key.strip()
        for name in ("client_identifier", "rating_key", "key", "state"):
            value = getattr(report, name)
            assert value is None or (isinstance(value, str) and value.strip())
        assert report.state is None or report.state == report.state.strip().lower()
        offset = report.view_offset_ms
        assert offset is None or (type(offset) is int and 0 <= offset <= 2**53)


@given(SCALARS | JSON)
@example(10**5000)
@example("9007199254740993")
@example(2.0**53)
def test_one_rule_for_every_field(value: Any) -> None:
    """Numbers, text and flags mean the same in every answer (sessions, notifications, posts).

    A number is a whole number from 0 to 2**53: an int, ASCII digits with blanks
    around them, or an integral float. Text is a string with more than blanks,
    or such a number's digits. A flag is a boolean, 1 or 0, or true/false/1/0 in
    any case.
    """
    read = number(value)
    if isinstance(value, bool):
        expected = None
    elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        expected = int(value) if 0 <= value <= 2**53 else None
    elif isinstance(value, str) and value.strip(" \t").isascii():
        digits = value.strip(" \t")
        whole = int(digits) if digits.isdigit() and len(digits) <= 16 else None
        expected = whole if whole is not None and whole <= 2**53 else None
    else:
        expected = None
    assert read == expected
    assert type(read) in {int, type(None)}

    shown = text(value)
    if isinstance(value, str):
        assert shown == (value if value.strip() else None)
    elif isinstance(value, int) and not isinstance(value, bool):
        assert shown == (str(value) if 0 <= value <= 2**53 else None)
    else:
        assert shown is None
    assert lower(value) == (shown.strip().lower() if shown is not None else None)

    truth = flag(value)
    if isinstance(value, bool):
        assert truth is value
    elif isinstance(value, int):
        assert truth is {1: True, 0: False}.get(value)
    elif isinstance(value, str):
        spelled = value.strip().lower()
        assert truth is {"1": True, "true": True, "0": False, "false": False}.get(
            spelled
        )
    else:
        assert truth is None
