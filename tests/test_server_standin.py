"""The Plex Media Server stand-in answers as shared/plex-media-server.md says a server does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from .standin import Fault, PlexTvStandIn, StandInAccount, StandInServer
from .standin.server import (
    THUMB_JPEG,
    PlexMediaServerStandIn,
    is_loopback_url,
    session_metadata,
)

JSON = {"Accept": "application/json", "X-Plex-Client-Identifier": "server-test"}
WAIT = 5  # seconds: the deadline of every wait below


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a client session for the test's requests."""
    async with aiohttp.ClientSession() as session:
        yield session


def authed(plex_server: PlexMediaServerStandIn) -> dict[str, str]:
    """Return JSON headers with the server's access token."""
    return {**JSON, "X-Plex-Token": plex_server.server.access_token}


async def _sessions(
    http: aiohttp.ClientSession, plex_server: PlexMediaServerStandIn
) -> dict[str, Any]:
    """Read /status/sessions as the owner."""
    async with http.get(
        f"{plex_server.base_url}/status/sessions", headers=authed(plex_server)
    ) as response:
        assert response.status == 200
        container: dict[str, Any] = (await response.json())["MediaContainer"]
        return container


async def _next_json(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """Receive the next JSON message from a socket, within the deadline."""
    message: dict[str, Any] = await socket.receive_json(timeout=WAIT)
    return message


def _playing(message: dict[str, Any]) -> dict[str, Any]:
    """Return the one PlaySessionStateNotification of a playing message."""
    container = message["NotificationContainer"]
    assert container["type"] == "playing"
    assert container["size"] == 1
    (notification,) = container["PlaySessionStateNotification"]
    assert set(notification) == {
        "sessionKey",
        "clientIdentifier",
        "guid",
        "ratingKey",
        "url",
        "key",
        "viewOffset",
        "state",
    }
    return dict(notification)


class Receiver:
    """A local aiohttp app that keeps every multipart post it receives."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[dict[str, tuple[str | None, str | None, bytes]]] = []
        self.content_types: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _receive(self, request: web.Request) -> web.Response:
        self.content_types.append(request.content_type)
        parts: dict[str, tuple[str | None, str | None, bytes]] = {}
        reader = await request.multipart()
        async for part in reader:
            assert isinstance(part, aiohttp.BodyPartReader)
            assert part.name is not None
            parts[part.name] = (
                part.filename,
                part.headers.get("Content-Type"),
                await part.read(),
            )
        self.posts.append(parts)
        return web.Response(status=self.status)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[Receiver]:
    """Serve a webhook receiver on loopback."""
    app = Receiver()
    await app.start()
    yield app
    await app.stop()


async def test_identity_needs_no_token(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """/identity names the server; JSON when asked for, XML otherwise."""
    async with http.get(f"{plex_server.base_url}/identity", headers=JSON) as response:
        assert await response.json() == {
            "MediaContainer": {
                "size": 0,
                "claimed": True,
                "machineIdentifier": plex_server.server.machine_identifier,
                "version": plex_server.server.version,
            }
        }
    async with http.get(f"{plex_server.base_url}/identity") as response:
        assert response.content_type == "application/xml"
        assert (
            f'machineIdentifier="{plex_server.server.machine_identifier}"'
            in await response.text()
        )
    assert plex_server.count("identity") == 2


async def test_resources_offer_the_stand_in(
    plex_tv: PlexTvStandIn, http: aiohttp.ClientSession
) -> None:
    """Started, the server is plex.tv's local connection; stopped, a closed port again."""
    server = plex_tv.demo_account.servers[0]
    plex_server = PlexMediaServerStandIn(plex_tv)
    url = await plex_server.start()
    assert server.uri == url
    assert url.startswith("http://127.0.0.1:")
    local = server.to_json()["connections"][0]
    assert (local["uri"], local["local"]) == (url, True)
    async with http.get(f"{local['uri']}/identity", headers=JSON) as response:
        assert response.status == 200
    await plex_server.stop()
    assert server.uri is None
    assert server.to_json()["connections"][0]["uri"] == "http://127.0.0.1:1"
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8"):
        await PlexMediaServerStandIn(plex_tv).start(host="0.0.0.0")  # noqa: S104


async def test_sessions_need_the_servers_token(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    http: aiohttp.ClientSession,
) -> None:
    """No token or another token (the account's too) is 401; the server's token reads."""
    account_token = plex_tv.issue_token()
    for headers in (JSON, {**JSON, "X-Plex-Token": account_token}):
        async with http.get(
            f"{plex_server.base_url}/status/sessions", headers=headers
        ) as response:
            assert response.status == 401
    assert await _sessions(http, plex_server) == {"size": 0}
    assert (
        plex_server.requests[-1].headers["X-Plex-Token"]
        == plex_server.server.access_token
    )


async def test_a_shared_server_can_refuse_activity(
    plex_tv: PlexTvStandIn, sam: StandInAccount, http: aiohttp.ClientSession
) -> None:
    """With refuse_activity, a server the account does not own answers 403."""
    shared = StandInServer(name="Friend's server", owned=False)
    sam.servers.append(shared)
    plex_server = PlexMediaServerStandIn(plex_tv, shared, refuse_activity=True)
    await plex_server.start()
    try:
        assert plex_server.owner is None
        async with http.get(
            f"{plex_server.base_url}/status/sessions", headers=authed(plex_server)
        ) as response:
            assert response.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(
                f"{plex_server.base_url}/:/websockets/notifications",
                headers=authed(plex_server),
            )
        assert refused.value.status == 403
        plex_server.refuse_activity = False
        assert await _sessions(http, plex_server) == {"size": 0}
    finally:
        await plex_server.stop()


async def test_session_shapes(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Sessions look like core's plex fixtures; TranscodeSession only while transcoding."""
    film = await plex_server.start_session()
    episode = await plex_server.start_session(
        user="Sam",
        player="Phone",
        media_type="episode",
        transcode=True,
        location="wan",
        bandwidth=3000,
    )
    track = await plex_server.start_session(media_type="track", title="A Tune")
    container = await _sessions(http, plex_server)
    assert container["size"] == 3
    by_id = {entry["Session"]["id"]: entry for entry in container["Metadata"]}
    assert list(by_id) == [film, episode, track]

    movie = by_id[film]
    assert movie["type"] == "movie"
    assert movie["title"] == "A Film"
    assert movie["librarySectionTitle"] == "Movies"
    assert movie["User"] == {
        "id": str(plex_server.plex_tv.demo_account.id),
        "title": "Demo Person",
        "thumb": f"https://plex.tv/users/{plex_server.plex_tv.demo_account.uuid}/avatar",
    }
    assert movie["Player"]["title"] == "Living room TV"
    assert movie["Player"]["state"] == "playing"
    assert movie["Player"]["local"] is True
    assert movie["Session"]["location"] == "lan"
    assert set(movie["Media"][0]) >= {
        "videoResolution",
        "videoCodec",
        "audioCodec",
        "bitrate",
    }
    assert "TranscodeSession" not in movie
    for key in ("duration", "viewOffset", "sessionKey", "ratingKey", "year"):
        assert key in movie

    show = by_id[episode]
    assert (show["type"], show["grandparentTitle"], show["parentTitle"]) == (
        "episode",
        "A Show",
        "Season 1",
    )
    assert (show["index"], show["parentIndex"]) == (1, 1)
    assert show["User"]["title"] == "Sam"
    assert show["Player"]["local"] is False
    assert show["Player"]["product"] == "Plex for iOS"
    assert show["Session"] == {"id": episode, "bandwidth": 3000, "location": "wan"}
    assert set(show["TranscodeSession"]) >= {
        "key",
        "videoDecision",
        "audioDecision",
        "throttled",
        "speed",
        "progress",
        "transcodeHwRequested",
    }
    assert show["TranscodeSession"]["videoDecision"] == "transcode"

    song = by_id[track]
    assert (song["type"], song["title"], song["librarySectionTitle"]) == (
        "track",
        "A Tune",
        "Music",
    )
    assert "videoCodec" not in song["Media"][0]
    for entry in container["Metadata"]:
        address = entry["Player"]["address"]
        assert address.startswith("127."), address

    await plex_server.pause(film)
    paused = (await _sessions(http, plex_server))["Metadata"][0]
    assert paused["Player"]["state"] == "paused"
    await plex_server.stop_session(film)
    assert [
        e["Session"]["id"] for e in (await _sessions(http, plex_server))["Metadata"]
    ] == [
        episode,
        track,
    ]


async def test_websocket_follows_every_change(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Start, pause, resume and stop each send a playing notification with the state."""
    async with http.ws_connect(
        f"{plex_server.base_url}/:/websockets/notifications",
        headers=authed(plex_server),
    ) as socket:
        assert plex_server.open_websockets == 1
        session_id = await plex_server.start_session()
        started = _playing(await _next_json(socket))
        session = plex_server.sessions[session_id]
        assert started["state"] == "playing"
        assert started["sessionKey"] == session.session_key
        assert started["ratingKey"] == session.item.rating_key
        assert started["key"] == f"/library/metadata/{session.item.rating_key}"
        assert started["clientIdentifier"] == session.player_identifier
        await plex_server.pause(session_id)
        assert _playing(await _next_json(socket))["state"] == "paused"
        await plex_server.resume(session_id)
        assert _playing(await _next_json(socket))["state"] == "playing"
        await plex_server.stop_session(session_id)
        assert _playing(await _next_json(socket))["state"] == "stopped"
        assert await plex_server.send_notification("activity") == 1
        activity = (await _next_json(socket))["NotificationContainer"]
        assert activity["type"] == "activity"
        assert activity["ActivityNotification"][0]["Activity"]["type"]
        await plex_server.send_notification("timeline", [{"itemID": "7", "state": 5}])
        timeline = (await _next_json(socket))["NotificationContainer"]
        assert timeline == {
            "type": "timeline",
            "size": 1,
            "TimelineEntry": [{"itemID": "7", "state": 5}],
        }
    (connection,) = plex_server.websockets
    assert connection.token_source == "header"
    assert "X-Plex-Token" not in connection.query
    assert connection.client_identifier == "server-test"
    assert plex_server.peak_websockets("server-test") == 1
    async with asyncio.timeout(WAIT):
        while plex_server.open_websockets:
            await asyncio.sleep(0.01)
    assert not connection.open


async def test_websocket_token_checks_and_query_token(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A wrong token is 401; a token in the query works but is recorded as such."""
    url = f"{plex_server.base_url}/:/websockets/notifications"
    for headers in (JSON, {**JSON, "X-Plex-Token": "wrong"}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, headers=headers)
        assert refused.value.status == 401
    async with http.ws_connect(
        url, headers=JSON, params={"X-Plex-Token": plex_server.server.access_token}
    ):
        pass
    async with http.ws_connect(
        url,
        headers=authed(plex_server),
        params={"X-Plex-Token": plex_server.server.access_token},
    ):
        pass
    assert [c.token_source for c in plex_server.websockets] == ["query", "both"]
    assert (
        plex_server.websockets[0].query["X-Plex-Token"]
        == plex_server.server.access_token
    )
    assert plex_server.count("websocket") == 4


async def test_drop_and_refuse_websockets(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """drop_websockets cuts every socket; refuse_websockets answers 503; peaks are kept."""
    url = f"{plex_server.base_url}/:/websockets/notifications"
    first = await http.ws_connect(url, headers=authed(plex_server))
    other = await http.ws_connect(
        url, headers={**authed(plex_server), "X-Plex-Client-Identifier": "another"}
    )
    second = await http.ws_connect(url, headers=authed(plex_server))
    assert plex_server.open_websockets == 3
    assert plex_server.peak_websockets("server-test") == 2
    assert plex_server.peak_websockets("another") == 1
    assert plex_server.peak_websockets() == 2

    assert await plex_server.drop_websockets() == 3
    assert plex_server.open_websockets == 0
    for socket in (first, other, second):
        message = await socket.receive(timeout=WAIT)
        assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert await plex_server.send_notification("status") == 0

    plex_server.refuse_websockets = True
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url, headers=authed(plex_server))
    assert refused.value.status == 503
    plex_server.refuse_websockets = False

    graceful = await http.ws_connect(url, headers=authed(plex_server))
    assert await plex_server.drop_websockets(graceful=True) == 1
    message = await graceful.receive(timeout=WAIT)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert message.data == aiohttp.WSCloseCode.GOING_AWAY
    await graceful.close()

    plex_server.inject("websocket", Fault(status=500))
    with pytest.raises(aiohttp.WSServerHandshakeError) as faulted:
        await http.ws_connect(url, headers=authed(plex_server))
    assert faulted.value.status == 500


async def test_terminate(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    sam: StandInAccount,
    http: aiohttp.ClientSession,
) -> None:
    """Only the owner's token ends a session; unknown ids are 404; the reason is kept."""
    url = f"{plex_server.base_url}/status/sessions/terminate"
    session_id = await plex_server.start_session()
    query = {"sessionId": session_id, "reason": "Bedtime"}
    async with http.get(url, headers=JSON, params=query) as response:
        assert response.status == 401
    async with http.get(
        url, headers={**JSON, "X-Plex-Token": plex_tv.issue_token()}, params=query
    ) as response:
        assert response.status == 401
    async with http.get(
        url, headers=authed(plex_server), params={"sessionId": "nope", "reason": "x"}
    ) as response:
        assert response.status == 404
    assert session_id in plex_server.sessions
    async with http.ws_connect(
        f"{plex_server.base_url}/:/websockets/notifications",
        headers=authed(plex_server),
    ) as socket:
        async with http.get(url, headers=authed(plex_server), params=query) as response:
            assert response.status == 200
        assert _playing(await _next_json(socket))["state"] == "stopped"
    assert plex_server.sessions == {}
    assert plex_server.terminated == {session_id: "Bedtime"}
    assert (await _sessions(http, plex_server)) == {"size": 0}

    shared = StandInServer(name="Friend's server", owned=False)
    sam.servers.append(shared)
    friend = PlexMediaServerStandIn(plex_tv, shared)
    await friend.start()
    try:
        other = await friend.start_session()
        async with http.get(
            f"{friend.base_url}/status/sessions/terminate",
            headers=authed(friend),
            params={"sessionId": other},
        ) as response:
            assert response.status == 401
        assert other in friend.sessions
    finally:
        await friend.stop()


async def test_faults_and_records(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Faults are injected per endpoint; requests are recorded with headers and query."""
    plex_server.inject("sessions", Fault(status=500), times=2)
    for expected in (500, 500, 200):
        async with http.get(
            f"{plex_server.base_url}/status/sessions",
            headers=authed(plex_server),
            params={"includeExtra": "1"},
        ) as response:
            assert response.status == expected
    assert plex_server.count("sessions") == 3
    assert plex_server.requests[-1].query == {"includeExtra": "1"}
    assert plex_server.requests[-1].headers["Accept"] == "application/json"
    # Until cleared: aiohttp retries a GET once when the server disconnects.
    plex_server.inject("identity", Fault(drop=True), times=None)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.get(f"{plex_server.base_url}/identity"):
            pass
    plex_server.clear_faults()
    async with http.get(f"{plex_server.base_url}/identity") as response:
        assert response.status == 200
    with pytest.raises(ValueError, match="Unknown endpoint"):
        plex_server.inject("get_pin", Fault())


async def test_webhook_post_has_payload_and_thumb(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    sam: StandInAccount,
    receiver: Receiver,
) -> None:
    """Every account that reaches the server gets a multipart post with both parts."""
    plex_tv.demo_account.set_webhooks([f"{receiver.url}/one", f"{receiver.url}/two"])
    sam.set_webhooks([f"{receiver.url}/not-reaching-this-server"])
    session_id = await plex_server.start_session(media_type="episode")
    assert await plex_server.post_event("media.play", session=session_id) == [200, 200]
    assert len(receiver.posts) == 2
    assert receiver.content_types == ["multipart/form-data"] * 2
    parts = receiver.posts[0]
    assert set(parts) == {"payload", "thumb"}
    _, payload_type, raw = parts["payload"]
    assert payload_type == "application/json"
    payload = json.loads(raw)
    session = plex_server.sessions[session_id]
    account = plex_tv.demo_account
    assert payload == {
        "event": "media.play",
        "user": True,
        "owner": True,
        "Account": {
            "id": account.id,
            "thumb": f"https://plex.tv/users/{account.uuid}/avatar",
            "title": "Demo Person",
        },
        "Server": {
            "title": "Media Shelf",
            "uuid": plex_server.server.machine_identifier,
        },
        "Player": {
            "local": True,
            "publicAddress": "127.0.0.1",
            "title": "Living room TV",
            "uuid": session.player_identifier,
        },
        "Metadata": {
            "librarySectionType": "show",
            "ratingKey": session.item.rating_key,
            "key": f"/library/metadata/{session.item.rating_key}",
            "guid": payload["Metadata"]["guid"],
            "librarySectionID": 2,
            "librarySectionTitle": "TV Shows",
            "type": "episode",
            "title": "Pilot",
            "grandparentTitle": "A Show",
            "parentTitle": "Season 1",
            "index": 1,
            "parentIndex": 1,
            "year": 2008,
            "thumb": f"/library/metadata/{session.item.rating_key}/thumb/1700000500",
            "addedAt": 1_700_000_000,
            "updatedAt": 1_700_000_500,
        },
    }
    filename, thumb_type, thumb = parts["thumb"]
    assert (filename, thumb_type) == ("thumb.jpg", "image/jpeg")
    assert thumb == THUMB_JPEG
    assert thumb.startswith(b"\xff\xd8\xff")
    assert thumb.endswith(b"\xff\xd9")
    assert 100 < len(thumb) < 1000

    await plex_server.pause(session_id)
    assert await plex_server.post_event("media.pause", session=session_id) == [200, 200]
    assert set(receiver.posts[-1]) == {"payload"}
    assert [d.event for d in plex_server.deliveries] == ["media.play"] * 2 + [
        "media.pause"
    ] * 2
    assert {d.account for d in plex_server.deliveries} == {"demo"}


async def test_webhook_flags_and_library_events(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    sam: StandInAccount,
    receiver: Receiver,
) -> None:
    """`user` is the receiver's own play, `owner` its server; library.new has a poster."""
    sam.servers.append(plex_server.server)
    plex_tv.demo_account.set_webhooks([f"{receiver.url}/owner"])
    sam.set_webhooks([f"{receiver.url}/sam"])
    session_id = await plex_server.start_session(user="Sam")
    assert await plex_server.post_event("media.stop", session=session_id) == [200, 200]
    owner_view, sam_view = (json.loads(p["payload"][2]) for p in receiver.posts)
    assert (owner_view["user"], owner_view["owner"]) == (False, True)
    assert (sam_view["user"], sam_view["owner"]) == (True, False)
    assert owner_view["Account"]["title"] == "Sam"

    metadata = {"type": "movie", "title": "Brand New", "ratingKey": "42"}
    assert await plex_server.post_event("library.new", metadata=metadata) == [200, 200]
    new = json.loads(receiver.posts[-1]["payload"][2])
    assert new["Metadata"] == metadata
    assert "Player" not in new
    assert "thumb" in receiver.posts[-1]


async def test_webhooks_go_to_loopback_only(
    plex_server: PlexMediaServerStandIn, plex_tv: PlexTvStandIn, receiver: Receiver
) -> None:
    """A non-loopback URL makes post_event raise before anything is posted."""
    assert is_loopback_url("http://127.0.0.5:80/x")
    for url in (
        "http://localhost:8123/x",
        "http://[::1]:8123/x",
        "http://example.invalid/x",
        "not a url",
    ):
        assert not is_loopback_url(url)
    plex_tv.demo_account.set_webhooks(
        [f"{receiver.url}/fine", "http://homeassistant.local:8123/api/webhook/x"]
    )
    with pytest.raises(ValueError, match=r"homeassistant\.local"):
        await plex_server.post_event("library.new")
    assert receiver.posts == []
    assert plex_server.deliveries == []


async def test_webhook_statuses(
    plex_server: PlexMediaServerStandIn, plex_tv: PlexTvStandIn, receiver: Receiver
) -> None:
    """post_event returns each status, 0 where the connection was refused."""
    receiver.status = 410
    plex_tv.demo_account.set_webhooks(
        [f"{receiver.url}/gone", "http://127.0.0.1:1/closed"]
    )
    assert await plex_server.post_event(
        "media.scrobble", session=await plex_server.start_session()
    ) == [
        410,
        0,
    ]
    assert [d.status for d in plex_server.deliveries] == [410, 0]


async def test_auto_webhooks_follow_the_controls(
    plex_server: PlexMediaServerStandIn, plex_tv: PlexTvStandIn, receiver: Receiver
) -> None:
    """With auto_webhooks, each control posts its media event, as a real server does."""
    plex_tv.demo_account.set_webhooks([receiver.url])
    session_id = await plex_server.start_session()
    assert receiver.posts == []
    plex_server.auto_webhooks = True
    await plex_server.pause(session_id)
    await plex_server.resume(session_id)
    await plex_server.stop_session(session_id)
    await plex_server.start_session()
    assert [json.loads(p["payload"][2])["event"] for p in receiver.posts] == [
        "media.pause",
        "media.resume",
        "media.stop",
        "media.play",
    ]


async def test_demo_page(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    receiver: Receiver,
    http: aiohttp.ClientSession,
) -> None:
    """The demo buttons drive the same controls, and library.new reaches the webhooks."""
    plex_tv.demo_account.set_webhooks([receiver.url])
    async with http.get(f"{plex_server.base_url}/demo") as response:
        page = await response.text()
    for label in (
        "Play a film",
        "Pause",
        "Resume",
        "Stop",
        "Transcode a film from outside",
        "Add to library",
    ):
        assert label in page

    async def press(action: str) -> str:
        async with http.post(f"{plex_server.base_url}/demo/{action}") as response:
            assert response.status == 200
            assert response.url.path == "/demo"
            return await response.text()

    await press("play")
    (film,) = plex_server.sessions.values()
    assert film.state == "playing"
    await press("pause")
    assert film.state == "paused"
    await press("resume")
    assert film.state == "playing"
    page = await press("transcode")
    remote = list(plex_server.sessions.values())[-1]
    assert (remote.transcode, remote.location) == (True, "wan")
    assert "transcoding, wan" in page
    await press("stop")
    assert list(plex_server.sessions.values()) == [film]
    await press("library_new")
    assert [json.loads(p["payload"][2])["event"] for p in receiver.posts] == [
        "library.new"
    ]
    async with http.post(f"{plex_server.base_url}/demo/explode") as response:
        assert response.status == 404


async def test_session_metadata_is_reusable(plex_tv: PlexTvStandIn) -> None:
    """The session builder works on a session without a running server."""
    plex_server = PlexMediaServerStandIn(plex_tv)
    assert plex_server.owner is plex_tv.demo_account
    assert plex_server.accounts() == [plex_tv.demo_account]
    session_id = await plex_server.start_session(media_type="track")
    metadata = session_metadata(plex_server.sessions[session_id])
    assert metadata["type"] == "track"
    assert metadata["grandparentTitle"] == "An Artist"
    assert metadata["Session"]["id"] == session_id
