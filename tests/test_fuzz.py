"""Arbitrary JSON into every response parser: only a typed model or a typed error comes out."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import example, given, strategies as st
import pytest

from custom_components.plex_link.plextv import Account, Pin, PlexTvResponseError, Server
from custom_components.plex_link.plextv.client import _decode, parse_retry_after
from custom_components.plex_link.plextv.models import servers_from_json

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**63, 2**53, 2**53 + 1, 2**31, -1, 0])
    | st.floats()
    | st.sampled_from([1.0, 2.5, 2.0**53, 2.0**54])
    | st.text()
    | st.sampled_from(
        [
            "",
            " ",
            " 7 ",
            "9007199254740992",
            "9007199254740993",
            "TRUE",
            "ABCD",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:15:00+00:00",
            "server",
            "https://x:1",
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
    """JSON objects that use plex.tv's own keys, with any values (scalars mostly)."""
    return st.dictionaries(st.sampled_from(keys), SCALARS | JSON, max_size=len(keys))


PIN_KEYS = ("id", "code", "authToken", "expiresIn", "createdAt", "expiresAt", "qr")
ACCOUNT_KEYS = ("id", "uuid", "username", "title", "friendlyName", "subscription")
SERVER_KEYS = (
    "clientIdentifier",
    "name",
    "provides",
    "product",
    "productVersion",
    "platform",
    "owned",
    "presence",
    "accessToken",
    "connections",
)
CONNECTION = shaped("uri", "protocol", "local", "relay")


@given(JSON | shaped(*PIN_KEYS))
def test_pin_parser(data: Any) -> None:
    """A PIN, with a finite lifetime that is never negative, or a typed error."""
    try:
        pin = Pin.from_json(data)
    except PlexTvResponseError:
        return
    assert isinstance(pin.id, int)
    assert pin.code.isalnum()
    assert 0 <= pin.lifetime <= 86_400
    assert pin.auth_token is None or (
        isinstance(pin.auth_token, str) and pin.auth_token
    )


@given(
    JSON
    | shaped(*ACCOUNT_KEYS)
    | shaped(*ACCOUNT_KEYS).map(lambda d: {**d, "subscription": d})
)
def test_account_parser(data: Any) -> None:
    """An account with typed fields, or a typed error."""
    try:
        account = Account.from_json(data)
    except PlexTvResponseError:
        return
    assert isinstance(account.id, int)
    assert account.uuid
    assert isinstance(account.title, str)
    assert isinstance(account.plex_pass, bool)


@given(
    JSON
    | st.lists(
        shaped(*SERVER_KEYS)
        | shaped(*SERVER_KEYS).map(lambda d: {**d, "provides": "server"})
        | st.fixed_dictionaries(
            {
                "provides": st.just("server"),
                "clientIdentifier": st.text(),
                "name": st.text(),
            },
            optional={"connections": st.lists(CONNECTION | JSON, max_size=4)},
        ),
        max_size=4,
    )
)
def test_resources_parser(data: Any) -> None:
    """Servers with connections in Plex's order, or a typed error."""
    try:
        servers = servers_from_json(data)
    except PlexTvResponseError:
        return
    for server in servers:
        assert isinstance(server, Server)
        assert server.machine_identifier
        ranks = [connection.rank for connection in server.connections]
        assert ranks == sorted(ranks)


@given(
    st.none()
    | st.text()
    | st.integers().map(str)
    | st.sampled_from(
        ["Wed, 21 Oct 2015 07:28:00 GMT", "Sat, 01 Jan 2000 00:00:00 -0000", "0", " 5 "]
    )
)
@example("0\x1f")  # a Unicode space that float() refuses: found by this test in CI
@example("9" * 400)  # more seconds than a float holds
def test_retry_after_parser(value: str | None) -> None:
    """A wait that is finite and never negative, or None."""
    wait = parse_retry_after(value)
    assert wait is None or (math.isfinite(wait) and wait >= 0)


@given(st.binary() | JSON.map(lambda value: json.dumps(value).encode()))
@example(b"[" * 200_000)
def test_body_decoder(body: bytes) -> None:
    """JSON comes out as the value it encodes; anything else is a typed error."""
    try:
        expected = json.loads(body)
    except (ValueError, RecursionError):
        with pytest.raises(PlexTvResponseError):
            _decode(body)
        return
    assert repr(_decode(body)) == repr(expected)
