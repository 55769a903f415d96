"""Tests of the plex.tv client and PIN linker on their own, free of Home Assistant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.plex_link.plextv import (
    Account,
    Pin,
    PinLinker,
    PlexTvAuthenticationError,
    PlexTvClient,
    PlexTvConnectionError,
    PlexTvIdentity,
    PlexTvPinExpiredError,
    PlexTvRateLimitedError,
    PlexTvResponseError,
    PlexTvServerError,
    linker as linker_module,
)
from custom_components.plex_link.plextv.client import MAX_BODY_BYTES, parse_retry_after
from custom_components.plex_link.plextv.models import (
    DEFAULT_PIN_LIFETIME,
    servers_from_json,
)

from .standin import CLOSED_PORT, STALL, Fault, PlexTvStandIn

IDENTITY = PlexTvIdentity(
    client_identifier="test-client",
    product="Plex Link tests",
    version="1.0",
    platform="pytest",
    platform_version="8",
    device="Test",
    device_name="Test bench",
)


@pytest.fixture
async def client(plex_tv: PlexTvStandIn) -> AsyncIterator[PlexTvClient]:
    """Return a client on its own aiohttp session, pointed at the stand-in."""
    async with aiohttp.ClientSession() as session:
        yield PlexTvClient(session, IDENTITY, base_url=plex_tv.base_url)


class FakeClock:
    """Stands in for the linker's clock and sleep, so waits take no time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay
        await asyncio.sleep(0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Replace the linker's clock and sleep with a fake one."""
    fake = FakeClock()
    monkeypatch.setattr(linker_module, "time", fake)
    monkeypatch.setattr(linker_module, "asyncio", SimpleNamespace(sleep=fake.sleep))
    return fake


async def test_pin_round_trip(client: PlexTvClient, plex_tv: PlexTvStandIn) -> None:
    """A new PIN has a 4-character code and no token until the code is entered."""
    pin = await client.create_pin()
    assert len(pin.code) == 4
    assert pin.lifetime == 900
    assert pin.auth_token is None
    assert not plex_tv.pins[pin.id].strong

    token = plex_tv.approve(pin.code)
    polled = await client.get_pin(pin.id)
    assert polled.auth_token == token
    assert token not in repr(polled)


async def test_expired_pin(client: PlexTvClient, plex_tv: PlexTvStandIn) -> None:
    """404 with code 1020 on a PIN is a typed expiry."""
    pin = await client.create_pin()
    plex_tv.expire(pin.code)
    with pytest.raises(PlexTvPinExpiredError):
        await client.get_pin(pin.id)


async def test_account_and_sign_out(
    client: PlexTvClient, plex_tv: PlexTvStandIn
) -> None:
    """The account is read with the token; signing out revokes the token."""
    token = plex_tv.issue_token()
    account = await client.get_account(token)
    assert account == Account(
        id=plex_tv.demo_account.id,
        uuid=plex_tv.demo_account.uuid,
        username="demo",
        title="Demo Person",
        plex_pass=True,
    )

    await client.sign_out(token)
    with pytest.raises(PlexTvAuthenticationError):
        await client.get_account(token)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(status=401), PlexTvAuthenticationError),
        (
            Fault(status=422, body='{"error":"Invalid token"}'),
            PlexTvAuthenticationError,
        ),
        (Fault(status=422, body='{"error":"Unprocessable"}'), PlexTvResponseError),
        (Fault(status=429), PlexTvRateLimitedError),
        (Fault(status=500), PlexTvServerError),
        (Fault(status=504), PlexTvServerError),
        (Fault(status=404), PlexTvResponseError),
        (
            Fault(status=200, body="<html>", content_type="text/html"),
            PlexTvResponseError,
        ),
        (Fault(status=200, body=""), PlexTvResponseError),
        (Fault(status=200, body="[]"), PlexTvResponseError),
        (Fault(status=200, body='{"id": "7", "uuid": "u"}'), PlexTvResponseError),
        (Fault(drop=True), PlexTvConnectionError),
        (Fault(delay=STALL), PlexTvConnectionError),
    ],
)
async def test_account_errors_are_typed(
    client: PlexTvClient, plex_tv: PlexTvStandIn, fault: Fault, error: type[Exception]
) -> None:
    """Every way plex.tv can fail ends in one of the client's typed errors."""
    plex_tv.inject("user", fault, times=2)
    with pytest.raises(error) as caught:
        await client.get_account(plex_tv.issue_token())
    assert type(caught.value) is error


async def test_rate_limit_carries_the_wait(
    client: PlexTvClient, plex_tv: PlexTvStandIn
) -> None:
    """The wait from Retry-After comes with the error."""
    plex_tv.inject("create_pin", Fault(status=429, headers={"Retry-After": "12"}))
    with pytest.raises(PlexTvRateLimitedError) as caught:
        await client.create_pin()
    assert caught.value.retry_after == 12


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_body_is_refused(
    client: PlexTvClient, plex_tv: PlexTvStandIn, chunked: bool
) -> None:
    """A body over the limit is refused, whether or not its length is announced."""
    body = b'{"id": 1, "uuid": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    plex_tv.inject("user", Fault(status=200, body=body, chunked=chunked))
    with pytest.raises(PlexTvResponseError, match="oversized"):
        await client.get_account(plex_tv.issue_token())


async def test_redirect_is_not_followed(
    client: PlexTvClient, plex_tv: PlexTvStandIn, socket_enabled: None
) -> None:
    """A redirect to another host never carries the token there."""
    seen: list[web.Request] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response({"id": 1, "uuid": "stolen"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    other = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v2/user"
    try:
        plex_tv.inject("user", Fault(status=302, headers={"Location": other}))
        with pytest.raises(PlexTvResponseError) as caught:
            await client.get_account(plex_tv.issue_token())
        assert caught.value.status == 302
        assert seen == []
    finally:
        await runner.cleanup()


async def test_no_token_header_without_token(
    client: PlexTvClient, plex_tv: PlexTvStandIn
) -> None:
    """PIN requests carry the identity headers and no token."""
    pin = await client.create_pin()
    await client.get_pin(pin.id)
    for request in plex_tv.requests:
        assert "X-Plex-Token" not in request.headers
        assert request.headers["X-Plex-Client-Identifier"] == "test-client"
        assert request.headers["X-Plex-Device-Name"] == "Test bench"


def test_link_and_qr_urls() -> None:
    """The link page and QR image hang off the base URL."""
    session: Any = None
    client = PlexTvClient(session, IDENTITY)
    pin = Pin(id=1, code="AB12", lifetime=900)
    assert client.link_url == "https://plex.tv/link"
    assert client.qr_url(pin) == "https://plex.tv/api/v2/pins/qr/AB12"
    assert client.client_identifier == "test-client"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("7", 7.0),
        (" 30 ", 30.0),
        ("0", 0.0),
        ("-5", None),
        ("1.5", None),
        ("nan", None),
        ("soon", None),
        ("²", None),
        ("0\x1f", None),
        ("9" * 400, None),
        (format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True), 0.0),
        ("Sat, 01 Jan 2000 00:00:00 -0000", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After is seconds or an HTTP date; anything else is ignored."""
    assert parse_retry_after(value) == expected


def test_parse_retry_after_future_date() -> None:
    """A date in the future is the time until then."""
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    wait = parse_retry_after(future)
    assert wait is not None
    assert 100 < wait <= 120


NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("extra", "lifetime"),
    [
        ({"expiresIn": 600}, 600),
        ({"expiresIn": -5}, 0),
        ({"expiresIn": 10**400}, 86_400),
        (
            {"createdAt": "0001-01-01T00:00:00Z", "expiresAt": "9999-12-31T23:59:59Z"},
            86_400,
        ),
        (
            {
                "expiresIn": "600",
                "createdAt": "2026-01-01T00:00:00Z",
                "expiresAt": "2026-01-01T00:05:00Z",
            },
            300,
        ),
        ({"createdAt": "2026-01-01T00:00:00Z", "expiresAt": "2025-12-31T23:00:00Z"}, 0),
        (
            {"createdAt": "2026-01-01T00:00:00", "expiresAt": "2026-01-01T00:05:00"},
            DEFAULT_PIN_LIFETIME,
        ),
        ({"createdAt": "yesterday", "expiresAt": 5}, DEFAULT_PIN_LIFETIME),
        ({"expiresIn": True}, DEFAULT_PIN_LIFETIME),
        ({}, DEFAULT_PIN_LIFETIME),
    ],
)
def test_pin_lifetime_variants(extra: dict[str, Any], lifetime: float) -> None:
    """The lifetime comes from expiresIn, else plex.tv's own timestamps, else the default."""
    assert Pin.from_json({"id": 1, "code": "AB12", **extra}).lifetime == lifetime


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "pin",
        {"code": "AB12"},
        {"id": "1", "code": "AB12"},
        {"id": True, "code": "AB12"},
        {"id": 1, "code": None},
        {"id": 1, "code": ""},
        {"id": 1, "code": "AB 1"},
        {"id": 1, "code": "ABCD)![x](http://evil"},
        {"id": 1, "code": "AB12", "authToken": 5},
        {"id": 1, "code": "AB12", "authToken": ""},
    ],
)
def test_malformed_pins_are_refused(body: Any) -> None:
    """Anything but a well-formed PIN is a typed response error."""
    with pytest.raises(PlexTvResponseError):
        Pin.from_json(body)


def test_account_title_fallbacks() -> None:
    """The title falls back to friendlyName, then the username."""
    base = {"id": 1, "uuid": "u"}
    assert (
        Account.from_json({**base, "friendlyName": "F", "username": "n"}).title == "F"
    )
    assert Account.from_json({**base, "username": "n"}).title == "n"
    assert Account.from_json(base) == Account(id=1, uuid="u", username="", title="")


async def test_linker_returns_token(
    client: PlexTvClient, plex_tv: PlexTvStandIn, clock: FakeClock
) -> None:
    """The linker polls about once a second until the code is entered."""
    linker = await PinLinker.create(client)
    waiting = asyncio.create_task(linker.wait_for_token())
    for _ in range(5):
        await asyncio.sleep(0.05)
    token = plex_tv.approve(linker.pin.code)

    assert await waiting == token
    assert set(clock.sleeps) == {PinLinker.poll_interval}
    assert plex_tv.count("get_pin") == len(clock.sleeps)


async def test_linker_keeps_the_beat_when_answers_are_slow(
    client: PlexTvClient,
    plex_tv: PlexTvStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Polls start once a second: a slow answer shortens the wait instead of adding to it."""
    monkeypatch.setattr(PinLinker, "poll_interval", 1.0)
    answer_times = [0.3, 0.3, 1.4, 0.2]
    get_pin = client.get_pin

    async def slow_get_pin(pin_id: int) -> Pin:
        clock.now += answer_times.pop(0)
        if not answer_times:
            plex_tv.approve(linker.pin.code)
        return await get_pin(pin_id)

    monkeypatch.setattr(client, "get_pin", slow_get_pin)
    linker = await PinLinker.create(client)
    await linker.wait_for_token()

    assert clock.sleeps == pytest.approx([1.0, 0.7, 0.7, 0.0])


async def test_linker_backs_off_and_honours_retry_after(
    client: PlexTvClient,
    plex_tv: PlexTvStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Failures in a row double the wait up to the cap; Retry-After is honoured."""
    monkeypatch.setattr(PinLinker, "poll_interval", 1.0)
    monkeypatch.setattr(PinLinker, "max_backoff", 30.0)
    monkeypatch.setattr(PinLinker, "max_retry_after", 60.0)
    plex_tv.inject("get_pin", Fault(status=503), times=7)
    plex_tv.inject("get_pin", Fault(status=429, headers={"Retry-After": "45"}))
    linker = await PinLinker.create(client)
    plex_tv.approve(linker.pin.code)

    await linker.wait_for_token()

    assert clock.sleeps == [1, 1, 2, 4, 8, 16, 30, 30, 45]


async def test_linker_caps_an_absurd_retry_after(
    client: PlexTvClient, plex_tv: PlexTvStandIn, clock: FakeClock
) -> None:
    """A day-long Retry-After is honoured for a minute, not for the code's whole life."""
    plex_tv.inject("get_pin", Fault(status=429, headers={"Retry-After": "86400"}))
    linker = await PinLinker.create(client)
    plex_tv.approve(linker.pin.code)

    await linker.wait_for_token()
    assert clock.sleeps == [PinLinker.poll_interval, PinLinker.max_retry_after]


async def test_linker_rate_limited_until_the_end(
    client: PlexTvClient,
    plex_tv: PlexTvStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rate limited until the code runs out: the wait ends with that error."""
    monkeypatch.setattr(PinLinker, "max_retry_after", 60.0)
    plex_tv.inject(
        "get_pin", Fault(status=429, headers={"Retry-After": "86400"}), times=None
    )
    linker = await PinLinker.create(client)
    with pytest.raises(PlexTvRateLimitedError):
        await linker.wait_for_token()
    assert sum(clock.sleeps) == pytest.approx(900)


async def test_linker_reports_lasting_trouble_at_expiry(
    client: PlexTvClient,
    plex_tv: PlexTvStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """plex.tv failing until the code runs out ends with that failure, not 'expired'."""
    monkeypatch.setattr(PinLinker, "max_backoff", 100.0)
    plex_tv.inject("get_pin", Fault(status=502), times=None)
    linker = await PinLinker.create(client)
    with pytest.raises(PlexTvServerError):
        await linker.wait_for_token()


async def test_linker_recovers_from_trouble(
    client: PlexTvClient, plex_tv: PlexTvStandIn, clock: FakeClock
) -> None:
    """After a failure, a good answer resets the wait to the normal interval."""
    plex_tv.inject("get_pin", Fault(drop=True))
    plex_tv.inject("get_pin", Fault(status=200, body="garbage"))
    linker = await PinLinker.create(client)
    waiting = asyncio.create_task(linker.wait_for_token())
    async with asyncio.timeout(10):
        while plex_tv.count("get_pin") < 6:
            await asyncio.sleep(0.01)
    plex_tv.approve(linker.pin.code)
    await waiting
    assert clock.sleeps[-1] == PinLinker.poll_interval


async def test_linker_stops_on_expiry(
    client: PlexTvClient, plex_tv: PlexTvStandIn, clock: FakeClock
) -> None:
    """404/1020 while waiting means the code expired."""
    linker = await PinLinker.create(client)
    plex_tv.expire(linker.pin.code)
    with pytest.raises(PlexTvPinExpiredError):
        await linker.wait_for_token()
    assert plex_tv.count("get_pin") == 1


async def test_linker_raises_lasting_errors_at_once(
    client: PlexTvClient, plex_tv: PlexTvStandIn, clock: FakeClock
) -> None:
    """An answer that will not change (400, 401) is not retried."""
    plex_tv.inject("get_pin", Fault(status=401), times=None)
    linker = await PinLinker.create(client)
    with pytest.raises(PlexTvAuthenticationError):
        await linker.wait_for_token()
    assert plex_tv.count("get_pin") == 1


async def test_linker_progress(
    client: PlexTvClient,
    plex_tv: PlexTvStandIn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before a poll, progress says how much of the code's lifetime has passed, when that changed."""
    monkeypatch.setattr(PinLinker, "poll_interval", 3.0)
    reported: list[float] = []
    linker = await PinLinker.create(client)
    with pytest.raises(PlexTvPinExpiredError):
        await linker.wait_for_token(reported.append)
    beats = int(linker.pin.lifetime // PinLinker.poll_interval)
    every_beat = [
        round(beat * PinLinker.poll_interval / linker.pin.lifetime, 2)
        for beat in range(beats)
    ]
    assert reported == list(dict.fromkeys(every_beat))
    assert len(reported) < beats
    assert plex_tv.count("get_pin") == beats - 1
    assert linker.elapsed == 1.0


async def test_zero_lifetime_ends_without_polling(
    client: PlexTvClient, plex_tv: PlexTvStandIn
) -> None:
    """A PIN born expired has no lifetime left and is never polled."""
    linker = PinLinker(client, Pin(id=1, code="AB12", lifetime=0))
    assert linker.elapsed == 1.0
    with pytest.raises(PlexTvPinExpiredError):
        await linker.wait_for_token()
    assert plex_tv.count("get_pin") == 0


@pytest.mark.parametrize("in_flight", [False, True], ids=["sleeping", "in-flight"])
async def test_cancelled_linker_sends_nothing_more(
    client: PlexTvClient, plex_tv: PlexTvStandIn, in_flight: bool
) -> None:
    """Cancelled, the linker stops at once, whether sleeping or mid-request."""
    if in_flight:
        plex_tv.inject("get_pin", Fault(delay=1.5), times=None)
    linker = await PinLinker.create(client)
    waiting = asyncio.create_task(linker.wait_for_token())
    async with asyncio.timeout(10):
        while plex_tv.count("get_pin") < 2 - in_flight:
            await asyncio.sleep(0.005)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0.05)  # a poll already on the wire may still land
    cancelled = time.monotonic()
    await asyncio.sleep(0.3)  # 30 poll intervals
    assert plex_tv.requests_since(cancelled) == []


async def test_servers_and_ping(client: PlexTvClient, plex_tv: PlexTvStandIn) -> None:
    """Resources become servers (players left out); ping uses the token."""
    token = plex_tv.issue_token()
    servers = await client.get_servers(token)
    assert [server.name for server in servers] == ["Media Shelf"]
    assert servers[0].best_connection is not None
    assert servers[0].best_connection.uri == f"http://127.0.0.1:{CLOSED_PORT}"
    assert servers[0].access_token not in repr(servers[0])
    request = plex_tv.requests[-1]
    assert request.path == "/api/v2/resources"
    await client.ping(token)
    assert plex_tv.count("ping") == 1


def test_resources_parsed_defensively() -> None:
    """Odd devices and connections are skipped; anything but a list of objects is an error."""
    with pytest.raises(PlexTvResponseError):
        servers_from_json({"MediaContainer": {}})
    with pytest.raises(PlexTvResponseError):
        servers_from_json([1, 2])
    servers = servers_from_json(
        [
            {"provides": "server", "name": "No id"},
            {"provides": "player", "name": "TV", "clientIdentifier": "tv"},
            {
                "provides": "server,pubsub",
                "name": "Bare",
                "clientIdentifier": "bare",
                "connections": [
                    {"uri": "http://relay.example:1", "relay": True},
                    {"uri": ""},
                    "junk",
                    {"uri": "https://remote.example:2"},
                    {"uri": "http://local.example:3", "local": True},
                ],
            },
            {"provides": "server", "name": "Empty", "clientIdentifier": "empty"},
        ]
    )
    assert [server.name for server in servers] == ["Bare", "Empty"]
    bare, empty = servers
    assert [c.uri for c in bare.connections] == [
        "http://local.example:3",
        "https://remote.example:2",
        "http://relay.example:1",
    ]
    assert bare.connections[1].protocol == "https"
    assert bare.product == "Plex Media Server"
    assert bare.online is False
    assert empty.best_connection is None


async def test_strong_pin_and_auth_url(
    client: PlexTvClient, plex_tv: PlexTvStandIn
) -> None:
    """A strong PIN is long; the sign-in page of a stand-in is on its own address."""
    pin = await client.create_pin(strong=True)
    assert len(pin.code) == 25
    assert client.auth_url(pin) == (
        f"{plex_tv.base_url}/auth#?clientID=test-client&code={pin.code}"
        "&context%5Bdevice%5D%5Bproduct%5D=Plex%20Link%20tests"
    )


def test_auth_url_on_plex_tv() -> None:
    """For plex.tv itself the sign-in page is app.plex.tv's, with the forward URL encoded."""
    session: Any = None
    client = PlexTvClient(session, IDENTITY)
    pin = Pin(id=1, code="a" * 25, lifetime=1800)
    assert client.auth_url(pin, "http://127.0.0.1:8123/api/plex_link/signed_in") == (
        "https://app.plex.tv/auth#?clientID=test-client&code="
        + "a" * 25
        + "&context%5Bdevice%5D%5Bproduct%5D=Plex%20Link%20tests"
        "&forwardUrl=http%3A%2F%2F127.0.0.1%3A8123%2Fapi%2Fplex_link%2Fsigned_in"
    )
