"""Players, their commands and artwork: the Plex Media Server client against the stand-in.

Every request goes over loopback to the real server stand-in (tests/standin/server.py):
`/clients`, commands passed on through `/player/playback/*`, and images from
`/photo/:/transcode`; each call also meets the stand-in's fault injection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
import dataclasses
import io
import socket
from typing import Any

import aiohttp
from aiohttp import web
from hypothesis import example, given, strategies as st
from PIL import Image
import pytest

from custom_components.plex_link.plexserver import (
    MAX_IMAGE_BYTES,
    PlexPlayer,
    PlexServerAuthenticationError,
    PlexServerClient,
    PlexServerCommandError,
    PlexServerConnectionError,
    PlexServerError,
    PlexServerResponseError,
    PlexServerServerError,
    players_from_json,
)

from .standin import Fault
from .standin.server import PlexMediaServerStandIn

IDENTITY_HEADERS = {
    "X-Plex-Client-Identifier": "players-test",
    "X-Plex-Product": "Plex Link tests",
}
HTML = "<html><body>Sign in to the hotel Wi-Fi</body></html>"
FIFTY_MB = b"\xff\xd8" + b" " * (50 * 1024 * 1024)
SHORT = 0.5  # seconds: the request timeout of the tests that wait for one


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """Return an aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@dataclasses.dataclass
class Elsewhere:
    """Another loopback HTTP server: where a redirect points. It records what reaches it."""

    url: str = ""
    seen: list[str] = dataclasses.field(default_factory=list)


@pytest.fixture
async def elsewhere(socket_enabled: None) -> AsyncIterator[Elsewhere]:
    """Serve a recording server on loopback."""
    record = Elsewhere()

    async def handle(request: web.Request) -> web.Response:
        record.seen.append(request.path_qs)
        return web.Response(text="{}", content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    record.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield record
    await runner.cleanup()


def closed_port_url() -> str:
    """Return a loopback URL on which nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_client(
    http: aiohttp.ClientSession,
    plex_server: PlexMediaServerStandIn,
    *urls: str,
    request_timeout: float = 10.0,
) -> PlexServerClient:
    """Return a client for the stand-in's server (or the connections given, best first)."""
    return PlexServerClient(
        http,
        identity_headers=IDENTITY_HEADERS,
        access_token=plex_server.server.access_token,
        connections=list(urls) or [plex_server.base_url],
        request_timeout=request_timeout,
        connect_timeout=min(request_timeout, 2.0),
    )


def player_id(plex_server: PlexMediaServerStandIn, name: str) -> str:
    """Return the machine identifier of the stand-in's player called name."""
    return plex_server.player_named(name).machine_identifier


def assert_clean(error: BaseException, plex_server: PlexMediaServerStandIn) -> None:
    """The message names neither the token nor an address."""
    assert plex_server.server.access_token not in str(error)
    assert "127.0.0.1" not in str(error)


def assert_token_in_the_header_only(
    plex_server: PlexMediaServerStandIn, endpoint: str
) -> None:
    """Every request to endpoint carried the server's token as a header, never in its URL."""
    requests = [r for r in plex_server.requests if r.endpoint == endpoint]
    assert requests
    for request in requests:
        assert request.headers["X-Plex-Token"] == plex_server.server.access_token
        assert not any("token" in key.lower() for key in request.query)
        assert plex_server.server.access_token not in str(request.query)


# Parsing


def test_player_parser() -> None:
    """A `/clients` entry becomes a player; its capabilities are a set; no address is kept."""
    (player,) = players_from_json(
        {
            "MediaContainer": {
                "size": 1,
                "Server": [
                    {
                        "name": "Living room",
                        "host": "192.168.1.50",
                        "address": "192.168.1.50",
                        "port": 32500,
                        "machineIdentifier": "abc123",
                        "version": "8.45.0",
                        "protocol": "plex",
                        "product": "Plex for LG",
                        "platform": "webOS",
                        "platformVersion": "6.0",
                        "device": "OLED65C1",
                        "model": "C1",
                        "deviceClass": "tv",
                        "protocolVersion": "1",
                        "protocolCapabilities": " Timeline, playback,,navigation ",
                    }
                ],
            }
        }
    )
    assert player == PlexPlayer(
        machine_identifier="abc123",
        name="Living room",
        product="Plex for LG",
        platform="webOS",
        platform_version="6.0",
        device="OLED65C1",
        model="C1",
        version="8.45.0",
        protocol_capabilities=frozenset({"timeline", "playback", "navigation"}),
    )
    assert player.controllable
    assert "192.168.1.50" not in repr(player)
    assert {field.name for field in dataclasses.fields(PlexPlayer)}.isdisjoint(
        {"host", "address", "port"}
    )


@pytest.mark.parametrize(
    ("capabilities", "controllable"),
    [
        ("timeline,playback,navigation,playqueues", True),
        ("PLAYBACK", True),
        ("timeline", False),
        ("timeline,playbacks,provider-playback", False),
        ("", False),
        (None, False),
        (["playback"], False),
    ],
)
def test_controllable(capabilities: Any, controllable: bool) -> None:
    """Only a player whose capabilities name `playback` takes playback commands."""
    player = PlexPlayer.from_json(
        {"machineIdentifier": "x", "protocolCapabilities": capabilities}
    )
    assert player.controllable is controllable


def test_players_list_skips_odd_entries() -> None:
    """An entry without a machine identifier, or not an object, hides no other; ids are unique."""
    players = players_from_json(
        {
            "MediaContainer": {
                "Server": [
                    {"name": "No id"},
                    "garbage",
                    {"machineIdentifier": "  ", "name": "Blank id"},
                    {"machineIdentifier": "one", "name": "First"},
                    {"machineIdentifier": 7, "title": "Numbered"},
                    {"machineIdentifier": "one", "name": "Same id again"},
                ]
            }
        }
    )
    assert [(p.machine_identifier, p.name) for p in players] == [
        ("one", "First"),
        ("7", "Numbered"),
    ]
    single = players_from_json(
        {"MediaContainer": {"Server": {"machineIdentifier": "a"}}}
    )
    assert [p.machine_identifier for p in single] == ["a"]
    assert players_from_json({"MediaContainer": {"size": 0}}) == []


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "x",
        {"MediaContainer": "x"},
        {"MediaContainer": {"Server": "x"}},
        {"MediaContainer": {"Server": 3}},
    ],
)
def test_players_of_wrong_shape_are_refused(data: Any) -> None:
    """A container of the wrong shape is a response error."""
    with pytest.raises(PlexServerResponseError):
        players_from_json(data)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, 2**53, 2**53 + 1, -1, 0])
    | st.floats()
    | st.text()
    | st.sampled_from(["", " ", "playback", "PLAYBACK", " a ", "timeline,playback"])
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=10,
)
PLAYER_ENTRY = st.fixed_dictionaries(
    {"machineIdentifier": SCALARS},
    optional={
        "name": SCALARS,
        "title": SCALARS,
        "host": SCALARS,
        "product": SCALARS,
        "platform": SCALARS,
        "platformVersion": SCALARS,
        "device": SCALARS,
        "model": SCALARS,
        "version": SCALARS,
        "protocolCapabilities": SCALARS
        | st.lists(st.sampled_from(["playback", "timeline", " ", ""]), max_size=4).map(
            ",".join
        )
        | JSON,
    },
)
PLAYERS = st.fixed_dictionaries(
    {},
    optional={
        "MediaContainer": st.fixed_dictionaries(
            {},
            optional={
                "size": SCALARS,
                "Server": st.lists(PLAYER_ENTRY | JSON, max_size=4)
                | PLAYER_ENTRY
                | JSON,
            },
        )
        | JSON
    },
)


@given(JSON | PLAYERS)
@example({"MediaContainer": {"Server": {"machineIdentifier": 2**60}}})
@example({"MediaContainer": {"Server": [{"machineIdentifier": "a"}] * 2}})
def test_players_parser_fuzz(data: Any) -> None:
    """Players with typed fields and unique identifiers, or a typed error; nothing else."""
    try:
        players = players_from_json(data)
    except PlexServerResponseError:
        return
    assert len({p.machine_identifier for p in players}) == len(players)
    for player in players:
        assert isinstance(player, PlexPlayer)
        assert isinstance(player.machine_identifier, str)
        assert player.machine_identifier.strip()
        for name in ("name", "product", "platform", "platform_version", "version"):
            value = getattr(player, name)
            assert value is None or (isinstance(value, str) and value.strip())
        assert isinstance(player.protocol_capabilities, frozenset)
        for capability in player.protocol_capabilities:
            assert capability == capability.strip().lower()
            assert capability
            assert "," not in capability
        assert type(player.controllable) is bool


# The players of a server


async def test_players_are_listed_with_their_capabilities(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """`/clients` gives every listed player; sessions name the same machine identifiers."""
    plex_server.add_player(
        "Kitchen",
        capabilities="timeline,playback,playqueues",
        product="Plexamp",
        platform="Linux",
    )
    plex_server.add_player("Far away", listed=False)
    session_id = await plex_server.start_session(player="Kitchen", media_type="track")
    players = await make_client(http, plex_server).get_players()
    by_name = {player.name: player for player in players}
    assert list(by_name) == ["Living room TV", "Phone", "Kitchen"]
    assert by_name["Living room TV"].protocol_capabilities == {
        "timeline",
        "playback",
        "navigation",
        "playqueues",
    }
    assert by_name["Living room TV"].controllable
    assert by_name["Phone"].protocol_capabilities == {"timeline"}
    assert not by_name["Phone"].controllable
    assert by_name["Phone"].product == "Plex for iOS"
    assert (by_name["Phone"].device, by_name["Phone"].model) == ("iPhone", "iPhone15,2")
    kitchen = by_name["Kitchen"]
    assert (kitchen.product, kitchen.platform, kitchen.controllable) == (
        "Plexamp",
        "Linux",
        True,
    )
    assert (
        kitchen.machine_identifier == plex_server.sessions[session_id].player_identifier
    )
    assert_token_in_the_header_only(plex_server, "clients")


# Commands through the server


async def test_commands_reach_the_targeted_player(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Each command reaches its player with the target header; the session follows.

    The first connection is closed: commands take the same fall-back as reads.
    """
    session_id = await plex_server.start_session()
    session = plex_server.sessions[session_id]
    phone_session = await plex_server.start_session(player="Phone", title="Other")
    target = player_id(plex_server, "Living room TV")
    client = make_client(http, plex_server, closed_port_url(), plex_server.base_url)

    async def send(command: str, params: dict[str, Any], state: str) -> None:
        """Send a command; the player's session then sends a playing notification."""
        before = len(plex_server.notifications)
        await client.send_player_command(target, command, params)
        assert len(plex_server.notifications) > before
        (entry,) = plex_server.notifications[-1]["NotificationContainer"][
            "PlaySessionStateNotification"
        ]
        assert (entry["clientIdentifier"], entry["state"]) == (target, state)

    await send("playback/pause", {"type": "video"}, "paused")
    assert session.state == "paused"
    await send("playback/seekTo", {"offset": 600_000}, "paused")
    assert session.view_offset == 600_000
    await send("playback/setParameters", {"volume": 35}, "paused")
    assert plex_server.players[target].volume == 35
    await send("playback/play", {}, "playing")
    assert session.state == "playing"
    first_item = session.item.rating_key
    await send("playback/skipNext", {}, "playing")
    assert session.item.rating_key != first_item
    assert session.item.title == "Another Film"
    await send("playback/skipPrevious", {}, "playing")
    assert session.item.title == "A Film"
    await send("playback/stop", {}, "stopped")
    assert session_id not in plex_server.sessions
    assert plex_server.sessions[phone_session].state == "playing"

    assert [c.command for c in plex_server.commands] == [
        "playback/pause",
        "playback/seekTo",
        "playback/setParameters",
        "playback/play",
        "playback/skipNext",
        "playback/skipPrevious",
        "playback/stop",
    ]
    assert {c.target for c in plex_server.commands} == {target}
    assert all(c.status == 200 for c in plex_server.commands)
    assert [c.query["commandID"] for c in plex_server.commands] == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
    ]
    assert plex_server.commands[0].query == {"type": "video", "commandID": "1"}
    assert plex_server.commands[1].query["offset"] == "600000"
    assert plex_server.commands[2].query["volume"] == "35"
    for command in plex_server.commands:
        assert command.headers["X-Plex-Target-Client-Identifier"] == target
        assert command.headers["X-Plex-Client-Identifier"] == "players-test"
    assert_token_in_the_header_only(plex_server, "player_command")


async def test_refused_commands_are_typed(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A player without `playback`, or one the server does not know, refuses: a command error."""
    session_id = await plex_server.start_session(player="Phone")
    client = make_client(http, plex_server)
    with pytest.raises(PlexServerCommandError) as refused:
        await client.send_player_command(
            player_id(plex_server, "Phone"), "playback/pause"
        )
    assert refused.value.status == 400
    assert plex_server.sessions[session_id].state == "playing"
    with pytest.raises(PlexServerCommandError) as unknown:
        await client.send_player_command("no-such-player", "playback/pause")
    assert unknown.value.status == 404
    with pytest.raises(PlexServerCommandError) as bad:
        await client.send_player_command(
            player_id(plex_server, "Living room TV"), "playback/explode"
        )
    assert bad.value.status == 400
    for error in (refused.value, unknown.value, bad.value):
        assert_clean(error, plex_server)
    assert [c.status for c in plex_server.commands] == [400, 404, 400]


async def test_a_silent_player_times_out_and_is_not_asked_twice(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    elsewhere: Elsewhere,
) -> None:
    """No answer within the command timeout is a command error; no other connection is tried.

    The second connection would answer 200: sending the command again there
    would make a silent player look obedient (and a skip count twice).
    """
    target = player_id(plex_server, "Living room TV")
    plex_server.players[target].silent = True
    client = make_client(
        http, plex_server, plex_server.base_url, elsewhere.url, request_timeout=SHORT
    )
    with pytest.raises(PlexServerCommandError) as silent:
        await client.send_player_command(target, "playback/pause")
    assert silent.value.status is None
    assert_clean(silent.value, plex_server)
    assert elsewhere.seen == []
    assert [c.status for c in plex_server.commands] == [None]
    assert client.connection == plex_server.base_url


async def test_command_arguments_are_checked_before_sending(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A command that is not group/name is a programming error; an unsendable id is typed."""
    client = make_client(http, plex_server)
    for command in ("pause", "playback/../../status/sessions", "/playback/pause", ""):
        with pytest.raises(ValueError, match="Not a player command"):
            await client.send_player_command("x", command)
    for identifier in ("", "a\r\nX-Evil: 1", " padded ", "é", "x" * 5000):
        with pytest.raises(PlexServerCommandError):
            await client.send_player_command(identifier, "playback/pause")
    assert plex_server.commands == []


# Artwork


async def test_image_is_resized_by_the_server_with_the_token_in_the_header(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """The session's poster comes back as a JPEG the server scaled to cover the box."""
    session_id = await plex_server.start_session(media_type="episode")
    item = plex_server.sessions[session_id].item
    path = f"/library/metadata/{item.rating_key}/thumb/{item.updated_at}"
    body, content_type = await make_client(http, plex_server).get_image(
        path, width=300, height=300
    )
    assert content_type == "image/jpeg"
    with Image.open(io.BytesIO(body)) as image:
        assert (image.format, image.size) == ("JPEG", (300, 450))
    (request,) = [r for r in plex_server.requests if r.endpoint == "photo_transcode"]
    assert request.path == "/photo/:/transcode"
    assert request.query == {
        "url": path,
        "width": "300",
        "height": "300",
        "minSize": "1",
        "upscale": "1",
    }
    assert request.headers["Accept"] == "image/*"
    assert plex_server.image_requests == 1
    assert_token_in_the_header_only(plex_server, "photo_transcode")


@pytest.mark.parametrize(
    "path",
    [
        "http://127.0.0.1:9/library/metadata/1/thumb/1",
        "https://images.example/poster.jpg",
        "//images.example/poster.jpg",
        "/\\images.example/poster.jpg",
        "library/metadata/1/thumb/1",
        "",
        "/library/metadata/1/thumb/1\n",
        "/" + "x" * 5000,
    ],
)
async def test_image_paths_other_than_the_servers_are_refused_unsent(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession, path: str
) -> None:
    """Only a path on the server itself is fetched: the token never goes elsewhere."""
    with pytest.raises(PlexServerResponseError, match="not one of the server's"):
        await make_client(http, plex_server).get_image(path, width=100, height=100)
    assert plex_server.requests == []


@pytest.mark.parametrize(("width", "height"), [(0, 100), (100, 0), (5000, 100)])
async def test_image_sizes_are_checked(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    width: int,
    height: int,
) -> None:
    """A box of no size, or a huge one, is a programming error."""
    with pytest.raises(ValueError, match="Image sides"):
        await make_client(http, plex_server).get_image(
            "/library/metadata/1/thumb/1", width=width, height=height
        )
    assert plex_server.requests == []


@pytest.mark.parametrize(
    "content_type", ["text/html", "application/json", "image/svg+xml", "text/plain"]
)
async def test_an_answer_that_is_not_a_raster_image_is_refused(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    content_type: str,
) -> None:
    """Only JPEG, PNG, WebP or GIF is handed on (an SVG could carry a script)."""
    plex_server.inject(
        "photo_transcode", Fault(status=200, body=HTML, content_type=content_type)
    )
    with pytest.raises(PlexServerResponseError, match="not answer with an image"):
        await make_client(http, plex_server).get_image(
            "/library/metadata/1/thumb/1", width=100, height=100
        )


@pytest.mark.parametrize(
    ("size", "accepted"), [(MAX_IMAGE_BYTES, True), (MAX_IMAGE_BYTES + 1, False)]
)
async def test_image_at_the_cap(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    size: int,
    accepted: bool,
) -> None:
    """A streamed image of exactly the cap is read; one byte more is refused."""
    body = b"\xff\xd8" + b"\x00" * (size - 2)
    plex_server.inject(
        "photo_transcode",
        Fault(status=200, body=body, content_type="image/png", chunked=True),
    )
    client = make_client(http, plex_server)
    if accepted:
        image, content_type = await client.get_image(
            "/library/metadata/1/art/1", width=100, height=100
        )
        assert (len(image), content_type) == (size, "image/png")
    else:
        with pytest.raises(PlexServerResponseError, match="oversized"):
            await client.get_image("/library/metadata/1/art/1", width=100, height=100)


# Every call against every fault

Call = Callable[[PlexServerClient, PlexMediaServerStandIn], Coroutine[Any, Any, Any]]
CALLS: dict[str, tuple[str, Call]] = {
    "players": ("clients", lambda client, server: client.get_players()),
    "command": (
        "player_command",
        lambda client, server: client.send_player_command(
            player_id(server, "Living room TV"), "playback/pause"
        ),
    ),
    "image": (
        "photo_transcode",
        lambda client, server: client.get_image(
            "/library/metadata/1001/thumb/1", width=200, height=200
        ),
    ),
}
FAULTS: dict[str, Fault] = {
    "reset": Fault(drop=True),
    "reset-mid-body": Fault(
        status=200,
        body='{"MediaContainer": {}}',
        content_type="image/jpeg",
        truncate=True,
    ),
    "500": Fault(status=500),
    "503": Fault(status=503),
    "404": Fault(status=404, body=HTML, content_type="text/html"),
    "html": Fault(status=200, body=HTML, content_type="text/html"),
    "wrong-shape": Fault(status=200, body='{"MediaContainer": {"Server": "x"}}'),
    "50-mb": Fault(status=200, body=FIFTY_MB, content_type="image/jpeg"),
    "50-mb-streamed": Fault(
        status=200, body=FIFTY_MB, content_type="image/jpeg", chunked=True
    ),
    "401": Fault(status=401, body=HTML, content_type="text/html"),
    "403": Fault(status=403, body=HTML, content_type="text/html"),
}
# What each call raises for each fault (with the HTTP status kept, where there is one).
# A command reads no body: whatever 2xx answer the server gives, the player took it.
OUTCOMES: dict[tuple[str, str], tuple[type[PlexServerError] | None, int | None]] = {
    **{
        (call, "reset"): (PlexServerConnectionError, None)
        for call in ("players", "command", "image")
    },
    **{(call, "401"): (PlexServerAuthenticationError, None) for call in CALLS},
    **{(call, "403"): (PlexServerAuthenticationError, None) for call in CALLS},
    ("players", "reset-mid-body"): (PlexServerConnectionError, None),
    ("image", "reset-mid-body"): (PlexServerConnectionError, None),
    ("command", "reset-mid-body"): (None, None),
    ("players", "500"): (PlexServerServerError, 500),
    ("image", "500"): (PlexServerServerError, 500),
    ("command", "500"): (PlexServerCommandError, 500),
    ("players", "503"): (PlexServerServerError, 503),
    ("image", "503"): (PlexServerServerError, 503),
    ("command", "503"): (PlexServerCommandError, 503),
    ("players", "404"): (PlexServerResponseError, 404),
    ("image", "404"): (PlexServerResponseError, 404),
    ("command", "404"): (PlexServerCommandError, 404),
    ("players", "html"): (PlexServerResponseError, None),
    ("image", "html"): (PlexServerResponseError, 200),
    ("command", "html"): (None, None),
    ("players", "wrong-shape"): (PlexServerResponseError, None),
    ("image", "wrong-shape"): (PlexServerResponseError, 200),
    ("command", "wrong-shape"): (None, None),
    ("players", "50-mb"): (PlexServerResponseError, 200),
    ("image", "50-mb"): (PlexServerResponseError, 200),
    ("command", "50-mb"): (None, None),
    ("players", "50-mb-streamed"): (PlexServerResponseError, 200),
    ("image", "50-mb-streamed"): (PlexServerResponseError, 200),
    ("command", "50-mb-streamed"): (None, None),
}


@pytest.mark.parametrize(
    ("call", "fault"), list(OUTCOMES), ids=[f"{c}-{f}" for c, f in OUTCOMES]
)
async def test_fault_matrix(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    call: str,
    fault: str,
) -> None:
    """Each call meets each fault with its typed error (or success), naming no token or address."""
    await plex_server.start_session()
    endpoint, run = CALLS[call]
    plex_server.inject(endpoint, FAULTS[fault], times=None)
    error_type, status = OUTCOMES[call, fault]
    client = make_client(http, plex_server)
    if error_type is None:
        await run(client, plex_server)
        return
    with pytest.raises(PlexServerError) as caught:
        await run(client, plex_server)
    assert type(caught.value) is error_type
    assert getattr(caught.value, "status", None) == status
    assert_clean(caught.value, plex_server)
    assert plex_server.count(endpoint) >= 1


@pytest.mark.parametrize("call", list(CALLS))
async def test_a_server_that_does_not_answer(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession, call: str
) -> None:
    """A server that never answers: a connection error for reads, a command error for commands."""
    endpoint, run = CALLS[call]
    held = asyncio.Event()
    plex_server.inject(endpoint, Fault(then_answer=True, hold=held), times=None)
    try:
        with pytest.raises(PlexServerError) as caught:
            await run(
                make_client(http, plex_server, request_timeout=SHORT), plex_server
            )
    finally:
        held.set()
    expected = (
        PlexServerCommandError if call == "command" else PlexServerConnectionError
    )
    assert type(caught.value) is expected
    assert "in time" in str(caught.value)
    assert_clean(caught.value, plex_server)


@pytest.mark.parametrize("call", list(CALLS))
async def test_redirects_are_not_followed(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    elsewhere: Elsewhere,
    call: str,
) -> None:
    """A redirect is a response error with its status; where it points sees nothing."""
    endpoint, run = CALLS[call]
    plex_server.inject(
        endpoint,
        Fault(status=302, body="", headers={"Location": f"{elsewhere.url}/x"}),
        times=None,
    )
    with pytest.raises(PlexServerResponseError) as caught:
        await run(make_client(http, plex_server), plex_server)
    assert type(caught.value) is PlexServerResponseError
    assert caught.value.status == 302
    assert elsewhere.seen == []
    assert_clean(caught.value, plex_server)


@pytest.mark.parametrize("call", list(CALLS))
async def test_a_wrong_token_is_refused(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession, call: str
) -> None:
    """The stand-in's own 401 for a token it does not know is an authentication error."""
    endpoint, run = CALLS[call]
    client = PlexServerClient(
        http,
        identity_headers=IDENTITY_HEADERS,
        access_token="not-the-servers-token",
        connections=[plex_server.base_url],
    )
    with pytest.raises(PlexServerAuthenticationError):
        await run(client, plex_server)
    assert plex_server.count(endpoint) == 1
