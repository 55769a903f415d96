"""Arbitrary JSON into the Plex Media Server parsers: only typed models or typed errors come out."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import example, given, strategies as st

from custom_components.plex_link.plexserver import (
    Identity,
    PlaySession,
    PlexServerResponseError,
    sessions_from_json,
)
from custom_components.plex_link.plexserver.client import _decode
from custom_components.plex_link.plexserver.notifications import is_playing

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**53, 2**53 + 1, -1, 0, 1])
    | st.floats()
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
            "true",
            "FALSE",
            "lan",
            "WAN",
            "playing",
            "transcode",
            "directplay",
            "copy",
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
    "throttled",
)
ENTRY = st.fixed_dictionaries(
    {"sessionKey": SCALARS},
    optional={
        "type": SCALARS,
        "title": SCALARS,
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
        "Media": st.lists(CHILD | JSON, max_size=3) | CHILD | JSON,
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
    "media_type",
    "title",
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
    "user_id",
    "bandwidth_kbps",
)


@given(JSON | CONTAINER)
@example({"MediaContainer": {"Metadata": {"sessionKey": "1", "duration": 10**400}}})
@example({"MediaContainer": {"Metadata": [{"sessionKey": "1", "viewOffset": 2**53}]}})
def test_sessions_parser(data: Any) -> None:
    """Sessions with typed, sane fields, or a typed error."""
    try:
        sessions = sessions_from_json(data)
    except PlexServerResponseError:
        return
    for session in sessions:
        assert isinstance(session, PlaySession)
        assert isinstance(session.session_key, str)
        assert session.session_key.strip()
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
        for flag in (session.local, session.transcoding, session.throttled):
            assert type(flag) is bool
        assert session.transcoding == (
            "transcode" in (session.video_decision, session.audio_decision)
        )


@given(
    JSON
    | CONTAINER
    | shaped("machineIdentifier", "version").map(lambda d: {"MediaContainer": d})
)
def test_identity_parser(data: Any) -> None:
    """An identity with a machine identifier, or a typed error."""
    try:
        identity = Identity.from_json(data)
    except PlexServerResponseError:
        return
    assert isinstance(identity.machine_identifier, str)
    assert identity.machine_identifier.strip()
    assert identity.version is None or isinstance(identity.version, str)


@given(st.binary() | JSON.map(lambda value: json.dumps(value).encode()))
@example(b"[" * 100_000)
def test_body_decoder(body: bytes) -> None:
    """A decoded JSON value, or a typed error."""
    try:
        value = _decode(body)
    except PlexServerResponseError:
        return
    assert isinstance(value, dict | list | str | int | float | bool | None)


@given(
    st.text()
    | JSON.map(json.dumps)
    | JSON.map(lambda value: json.dumps({"NotificationContainer": value}))
    | SCALARS.map(
        lambda kind: json.dumps({"NotificationContainer": {"type": kind}}, default=str)
    )
)
@example("[" * 100_000)
@example('{"NotificationContainer": {"type": "playing"}}')
def test_notification_parser(text: str) -> None:
    """A yes or no for any message; yes only for a playing notification."""
    playing = is_playing(text)
    assert type(playing) is bool
    if playing:
        assert json.loads(text)["NotificationContainer"]["type"] == "playing"
