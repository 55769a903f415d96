"""The Plex Media Server stand-in answers as shared/plex-media-server.md says a server does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import io
import json
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image
import pytest

from .conftest import wait_for
from .standin import Fault, PlexTvStandIn, StandInAccount, StandInServer
from .standin.server import (
    PLAYBACK_CAPABILITIES,
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
    assert [
        (stream["streamType"], stream["decision"])
        for stream in show["Media"][0]["Part"][0]["Stream"]
    ] == [(1, "transcode"), (2, "transcode")]
    assert [
        (stream["streamType"], stream["decision"])
        for stream in movie["Media"][0]["Part"][0]["Stream"]
    ] == [(1, "directplay"), (2, "directplay")]

    song = by_id[track]
    assert (song["type"], song["title"], song["librarySectionTitle"]) == (
        "track",
        "A Tune",
        "Music",
    )
    assert "videoCodec" not in song["Media"][0]
    assert [s["streamType"] for s in song["Media"][0]["Part"][0]["Stream"]] == [2]
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
    await wait_for(lambda: not plex_server.open_websockets, WAIT)
    assert not connection.open
    assert connection.close_code == aiohttp.WSCloseCode.OK


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


async def test_streams_tell_of_a_transcode_without_a_transcode_session(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A session started without transcode_session says so in its streams only."""
    await plex_server.start_session(
        transcode=True, transcode_session=False, duration=60_000
    )
    (entry,) = (await _sessions(http, plex_server))["Metadata"]
    assert "TranscodeSession" not in entry
    assert entry["duration"] == 60_000
    assert {
        stream["decision"] for stream in entry["Media"][0]["Part"][0]["Stream"]
    } == {"transcode"}


async def test_timelines_report_every_session_as_it_is(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Timeline reports come on a beat, one message per session, carrying what is true now.

    A seek is reported at once; flush_websockets() returns once the client has
    read everything sent before; stop_timelines() ends the reports.
    """
    film = await plex_server.start_session()
    url = f"{plex_server.base_url}/:/websockets/notifications"
    async with http.ws_connect(url, headers=authed(plex_server)) as socket:
        await plex_server.pause(film)
        assert _playing(await _next_json(socket))["state"] == "paused"
        await plex_server.seek(film, 60_000)
        sought = _playing(await _next_json(socket))
        assert (sought["viewOffset"], sought["state"]) == (60_000, "paused")
        plex_server.start_timelines(0.05, limit=3)
        reports = [_playing(await _next_json(socket)) for _ in range(3)]
        session = plex_server.sessions[film]
        for report in reports:
            assert report == {
                "sessionKey": session.session_key,
                "clientIdentifier": session.player_identifier,
                "guid": "",
                "ratingKey": session.item.rating_key,
                "url": "",
                "key": f"/library/metadata/{session.item.rating_key}",
                "viewOffset": 60_000,
                "state": "paused",
            }
        assert plex_server.timeline_task is not None
        await wait_for(lambda: plex_server.timeline_task.done(), WAIT)
        assert plex_server.timeline_reports == 3

        await plex_server.resume(film)
        await _next_json(socket)
        plex_server.start_timelines(0.05)
        offsets = [_playing(await _next_json(socket))["viewOffset"] for _ in range(3)]
        assert offsets == sorted(offsets)
        assert offsets[0] >= 60_000
        plex_server.stop_timelines()
        assert plex_server.timeline_task is None
        await plex_server.send_notification("status")
        # The client answers the flush's ping as it reads: after the status.
        flushed = asyncio.create_task(plex_server.flush_websockets())
        while (await _next_json(socket))["NotificationContainer"]["type"] != "status":
            pass
        assert not flushed.done()
        reading = asyncio.create_task(_next_json(socket))
        await flushed
        await plex_server.send_notification("activity")
        assert (await reading)["NotificationContainer"]["type"] == "activity"


async def test_a_silent_server_keeps_the_connection_and_answers_nothing(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """go_silent keeps the TCP connection, answers no ping and sends nothing; new sockets work."""
    url = f"{plex_server.base_url}/:/websockets/notifications"
    silent = await http.ws_connect(url, headers=authed(plex_server), autoping=False)
    await silent.ping()
    assert (await silent.receive(timeout=WAIT)).type is aiohttp.WSMsgType.PONG
    assert plex_server.go_silent() == 1
    assert plex_server.open_websockets == 0
    await silent.ping()
    await plex_server.start_session()
    with pytest.raises(TimeoutError):
        await silent.receive(timeout=0.3)
    assert not silent.closed

    async with http.ws_connect(url, headers=authed(plex_server)) as fresh:
        await plex_server.start_session()
        assert _playing(await _next_json(fresh))["state"] == "playing"
    await plex_server.drop_websockets()
    message = await silent.receive(timeout=WAIT)
    assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    await silent.close()
    assert [connection.close_code for connection in plex_server.websockets] == [
        None,
        aiohttp.WSCloseCode.OK,
    ]


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


# -- Players, their commands and artwork ------------------------------------------


async def _get(
    http: aiohttp.ClientSession,
    plex_server: PlexMediaServerStandIn,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    """GET a path of the stand-in; return the status, content type and body."""
    async with http.get(
        f"{plex_server.base_url}{path}",
        headers=authed(plex_server) if headers is None else headers,
        params=params,
    ) as response:
        return response.status, response.content_type, await response.read()


async def test_clients_list_the_players_that_sessions_name(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    sam: StandInAccount,
    http: aiohttp.ClientSession,
) -> None:
    """`/clients` lists players with their capabilities; sessions carry the same identifiers."""
    assert (await _get(http, plex_server, "/clients", headers=JSON))[0] == 401
    film = await plex_server.start_session()
    elsewhere = await plex_server.start_session(player="A hotel TV", user="Sam")
    status, _, body = await _get(http, plex_server, "/clients")
    assert status == 200
    container = json.loads(body)["MediaContainer"]
    assert container["size"] == 2
    players = {entry["name"]: entry for entry in container["Server"]}
    assert list(players) == ["Living room TV", "Phone"]
    living_room = players["Living room TV"]
    assert living_room["protocolCapabilities"] == PLAYBACK_CAPABILITIES
    assert players["Phone"]["protocolCapabilities"] == "timeline"
    assert (players["Phone"]["product"], players["Phone"]["platform"]) == (
        "Plex for iOS",
        "iOS",
    )
    for entry in players.values():
        assert entry["host"].startswith("127.")
        assert entry["address"].startswith("127.")

    sessions = {
        entry["Session"]["id"]: entry["Player"]
        for entry in (await _sessions(http, plex_server))["Metadata"]
    }
    assert sessions[film]["machineIdentifier"] == living_room["machineIdentifier"]
    hotel = plex_server.player_named("A hotel TV")
    assert sessions[elsewhere]["machineIdentifier"] == hotel.machine_identifier
    assert (hotel.listed, hotel.controllable) == (False, False)
    again = await plex_server.start_session()
    assert (
        plex_server.sessions[again].player_identifier
        == living_room["machineIdentifier"]
    )

    # The same server gives its players the same identifiers after a restart.
    restarted = PlexMediaServerStandIn(plex_tv)
    assert set(restarted.players) == {
        entry["machineIdentifier"] for entry in players.values()
    }

    kitchen = plex_server.add_player(
        "Kitchen", capabilities="timeline,playback", product="Plexamp"
    )
    track = await plex_server.start_session(player="Kitchen", media_type="track")
    metadata = session_metadata(plex_server.sessions[track])
    assert metadata["Player"]["product"] == "Plexamp"
    assert metadata["Player"]["machineIdentifier"] == kitchen.machine_identifier
    status, _, body = await _get(http, plex_server, "/clients")
    assert [e["name"] for e in json.loads(body)["MediaContainer"]["Server"]] == [
        "Living room TV",
        "Phone",
        "Kitchen",
    ]

    plex_server.inject("clients", Fault(status=503))
    assert (await _get(http, plex_server, "/clients"))[0] == 503

    shared = StandInServer(name="Friend's server", owned=False)
    sam.servers.append(shared)
    friend = PlexMediaServerStandIn(plex_tv, shared, refuse_activity=True)
    await friend.start()
    try:
        assert (await _get(http, friend, "/clients"))[0] == 403
    finally:
        await friend.stop()


async def _command(
    http: aiohttp.ClientSession,
    plex_server: PlexMediaServerStandIn,
    name: str,
    target: str | None,
    *,
    token: bool = True,
    **query: str,
) -> int:
    """Send /player/playback/<name> for a target player (None: no header); return the status."""
    headers = authed(plex_server) if token else dict(JSON)
    if target is not None:
        headers["X-Plex-Target-Client-Identifier"] = target
    status, _, _ = await _get(
        http,
        plex_server,
        f"/player/playback/{name}",
        headers=headers,
        params={"commandID": str(len(plex_server.commands) + 1), **query},
    )
    return status


async def test_player_commands_act_on_the_target_players_session(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Playback commands reach the session of the player the header names, then notify."""
    tv = plex_server.player_named("Living room TV").machine_identifier
    session_id = await plex_server.start_session()
    session = plex_server.sessions[session_id]
    on_phone = await plex_server.start_session(player="Phone")

    async def command(name: str, **query: str) -> dict[str, Any]:
        """Send a command to the TV; return the playing notification that follows."""
        assert await _command(http, plex_server, name, tv, **query) == 200
        return _playing(await _next_json(socket))

    async with http.ws_connect(
        f"{plex_server.base_url}/:/websockets/notifications",
        headers=authed(plex_server),
    ) as socket:
        paused = await command("pause")
        assert (paused["clientIdentifier"], paused["state"]) == (tv, "paused")
        assert session.state == "paused"
        assert plex_server.sessions[on_phone].state == "playing"
        assert (await command("seekTo", offset="120000"))["viewOffset"] == 120_000
        assert (await command("stepForward"))["viewOffset"] == 150_000
        assert (await command("stepBack"))["viewOffset"] == 135_000
        assert (await command("setParameters", volume="20"))["state"] == "paused"
        assert plex_server.players[tv].volume == 20
        assert (await command("setParameters", volume="0"))["state"] == "paused"
        assert plex_server.players[tv].volume == 0
        assert (await command("pause"))["state"] == "paused"
        assert (await command("play"))["state"] == "playing"
        first = session.item.rating_key
        assert (await command("skipNext"))["ratingKey"] == session.item.rating_key
        assert session.item.rating_key != first
        assert (session.item.title, session.offset) == ("Another Film", 0)
        assert (await command("skipPrevious"))["ratingKey"] == session.item.rating_key
        assert session.item.title == "A Film"
        assert (await command("stop"))["state"] == "stopped"
        assert session_id not in plex_server.sessions
        assert plex_server.sessions[on_phone].state == "playing"

    assert [c.status for c in plex_server.commands] == [200] * 11
    first_command = plex_server.commands[0]
    assert (first_command.command, first_command.target) == ("playback/pause", tv)
    assert first_command.query == {"commandID": "1"}
    assert first_command.headers["X-Plex-Token"] == plex_server.server.access_token


async def test_player_commands_that_are_refused(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Without playback, a known target, the token or a known command: refused, nothing sent."""
    tv = plex_server.player_named("Living room TV").machine_identifier
    phone = plex_server.player_named("Phone").machine_identifier
    on_phone = await plex_server.start_session(player="Phone")
    before = len(plex_server.notifications)
    for target, name, query, token, status in (
        (phone, "pause", {}, True, 400),
        ("nobody", "pause", {}, True, 404),
        (None, "pause", {}, True, 404),
        (tv, "pause", {}, False, 401),
        (tv, "seekTo", {}, True, 400),
        (tv, "seekTo", {"offset": "-5"}, True, 400),
        (tv, "explode", {}, True, 400),
    ):
        assert (
            await _command(http, plex_server, name, target, token=token, **query)
            == status
        ), (target, name, query)
    assert plex_server.sessions[on_phone].state == "playing"
    # A player with nothing playing takes the command; there is nothing to notify.
    assert await _command(http, plex_server, "pause", tv) == 200
    assert len(plex_server.notifications) == before
    assert [c.status for c in plex_server.commands] == [
        400,
        404,
        404,
        401,
        400,
        400,
        400,
        200,
    ]
    plex_server.inject("player_command", Fault(status=500))
    assert await _command(http, plex_server, "pause", tv) == 500


async def test_a_silent_player_holds_a_command_until_the_stand_in_stops(
    plex_tv: PlexTvStandIn, http: aiohttp.ClientSession
) -> None:
    """A silent player's command is never answered while the stand-in serves."""
    plex_server = PlexMediaServerStandIn(plex_tv)
    await plex_server.start()
    tv = plex_server.player_named("Living room TV")
    tv.silent = True
    try:
        with pytest.raises(TimeoutError):
            await http.get(
                f"{plex_server.base_url}/player/playback/pause",
                headers={
                    **authed(plex_server),
                    "X-Plex-Target-Client-Identifier": tv.machine_identifier,
                },
                timeout=aiohttp.ClientTimeout(total=0.3),
            )
        (command,) = plex_server.commands
        assert command.status is None
    finally:
        await plex_server.stop()
    assert command.status == 408


async def test_artwork_is_a_jpeg_for_the_servers_token_only(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Sessions carry artwork paths; each is a real JPEG, resized by /photo/:/transcode."""
    film = await plex_server.start_session()
    episode = await plex_server.start_session(media_type="episode", player="Phone")
    entries = {
        entry["Session"]["id"]: entry
        for entry in (await _sessions(http, plex_server))["Metadata"]
    }
    movie, show = entries[film], entries[episode]
    key = movie["ratingKey"]
    assert movie["key"] == f"/library/metadata/{key}"
    assert movie["thumb"] == f"/library/metadata/{key}/thumb/1700000500"
    assert movie["art"] == f"/library/metadata/{key}/art/1700000500"
    assert "grandparentThumb" not in movie
    for field in ("thumb", "art", "parentThumb", "grandparentThumb", "grandparentArt"):
        assert show[field].startswith("/library/metadata/")
    assert show["grandparentThumb"].startswith(
        f"/library/metadata/{show['grandparentRatingKey']}/thumb/"
    )

    def size_of(body: bytes) -> tuple[int, int]:
        with Image.open(io.BytesIO(body)) as image:
            assert image.format == "JPEG"
            return image.size

    assert (await _get(http, plex_server, movie["thumb"], headers=JSON))[0] == 401
    status, content_type, body = await _get(http, plex_server, movie["thumb"])
    assert (status, content_type, size_of(body)) == (200, "image/jpeg", (600, 900))
    status, _, body = await _get(http, plex_server, show["grandparentArt"])
    assert (status, size_of(body)) == (200, (1280, 720))

    async def transcode(
        url: str, width: str, height: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, bytes]:
        return await _get(
            http,
            plex_server,
            "/photo/:/transcode",
            headers=headers,
            params={
                "url": url,
                "width": width,
                "height": height,
                "minSize": "1",
                "upscale": "1",
            },
        )

    status, content_type, body = await transcode(movie["thumb"], "300", "300")
    assert (status, content_type, size_of(body)) == (200, "image/jpeg", (300, 450))
    status, _, body = await transcode(movie["art"], "400", "100")
    assert (status, size_of(body)) == (200, (400, 225))
    status, _, body = await transcode(movie["thumb"], "4000", "4000")
    assert (status, size_of(body)) == (200, (1365, 2048))
    assert (await transcode(movie["thumb"], "300", "300", JSON))[0] == 401
    for url in (f"{plex_server.base_url}{movie['thumb']}", "/elsewhere/1", ""):
        assert (await transcode(url, "300", "300"))[0] == 404
    for width, height in (("0", "300"), ("x", "300"), ("300", "5000"), ("300", "")):
        assert (await transcode(movie["thumb"], width, height))[0] == 400
    assert plex_server.image_requests == 14
    assert plex_server.count("image") == 3
    plex_server.inject("photo_transcode", Fault(status=500))
    assert (await transcode(movie["thumb"], "300", "300"))[0] == 500
    plex_server.inject("image", Fault(status=200, body=b"x", content_type="text/html"))
    assert (await _get(http, plex_server, movie["thumb"]))[1] == "text/html"
    assert plex_server.image_requests == 16


# -- Libraries, play queues and playMedia -----------------------------------------


async def _library(
    http: aiohttp.ClientSession,
    plex_server: PlexMediaServerStandIn,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **params: str,
) -> dict[str, Any]:
    """GET a library path as the owner; return its MediaContainer (the answer must be 200)."""
    status, content_type, body = await _get(
        http, plex_server, path, headers=headers, params=params
    )
    assert (status, content_type) == (200, "application/json"), body[:200]
    container: dict[str, Any] = json.loads(body)["MediaContainer"]
    return container


def _titles(container: dict[str, Any]) -> list[str]:
    """Return the titles of a container's items, in order."""
    return [entry["title"] for entry in container.get("Metadata", [])]


LIBRARY_PATHS = (
    "/library/sections",
    "/library/sections/1/all",
    "/library/sections/1/recentlyAdded",
    "/library/recentlyAdded",
    "/hubs/home/recentlyAdded?type=1",
    "/library/onDeck",
    "/hubs/continueWatching/items",
    "/library/metadata/101",
    "/library/metadata/106/children",
    "/playQueues/1",
)


async def test_libraries_need_the_servers_token(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    http: aiohttp.ClientSession,
) -> None:
    """Every library path answers 401 without the server's token (the account's too)."""
    account = {**JSON, "X-Plex-Token": plex_tv.issue_token()}
    for path in LIBRARY_PATHS:
        for headers in (JSON, account):
            assert (await _get(http, plex_server, path, headers=headers))[0] == 401
    async with http.post(
        f"{plex_server.base_url}/playQueues", headers=JSON, params={"type": "video"}
    ) as response:
        assert response.status == 401
    assert plex_server.library_reads == 2 * len(LIBRARY_PATHS) + 1
    assert plex_server.items_served == 0


async def test_sections_are_listed(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Three sections as Directory entries; a section added later follows, counted only."""
    container = await _library(http, plex_server, "/library/sections")
    assert container["size"] == 3
    sections = container["Directory"]
    assert [(s["key"], s["title"], s["type"]) for s in sections] == [
        ("1", "Movies", "movie"),
        ("2", "TV Shows", "show"),
        ("3", "Music", "artist"),
    ]
    for section in sections:
        assert {"uuid", "updatedAt", "contentChangedAt", "scannedAt"} <= set(section)
    archive = plex_server.add_section("Archive", "movie", count=100_000)
    assert archive.key == "4"
    container = await _library(http, plex_server, "/library/sections")
    assert container["Directory"][-1]["title"] == "Archive"
    with pytest.raises(ValueError, match="range"):
        plex_server.add_section("Too big", "artist", count=10**6)
    with pytest.raises(ValueError, match="type"):
        plex_server.add_section("Clips", "clip")  # type: ignore[arg-type]


async def test_paging_by_query_or_header(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Start and size work as query or header; size 0 gives the total alone; bad values are 400."""
    path = "/library/sections/1/all"
    whole = await _library(http, plex_server, path)
    assert whole["size"] == 5
    assert "totalSize" not in whole  # not paged: everything, no total
    by_query = await _library(
        http,
        plex_server,
        path,
        **{"X-Plex-Container-Start": "1", "X-Plex-Container-Size": "2"},
    )
    by_header = await _library(
        http,
        plex_server,
        path,
        headers={
            **authed(plex_server),
            "X-Plex-Container-Start": "1",
            "X-Plex-Container-Size": "2",
        },
    )
    assert by_query == by_header
    assert (by_query["size"], by_query["totalSize"], by_query["offset"]) == (2, 5, 1)
    assert _titles(by_query) == _titles(whole)[1:3]
    count = await _library(
        http,
        plex_server,
        path,
        **{"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "0"},
    )
    assert (count["size"], count["totalSize"], "Metadata" in count) == (0, 5, False)
    for params in (
        {"X-Plex-Container-Size": "-1"},
        {"X-Plex-Container-Start": "x"},
        {"sort": "explode:desc"},
        {"sort": "addedAt:sideways"},
        {"type": "movie"},
    ):
        status, _, _ = await _get(http, plex_server, path, params=params)
        assert status == 400, params
    assert (await _get(http, plex_server, "/library/sections/9/all"))[0] == 404
    other = await _library(http, plex_server, path, type="4")
    assert (other["size"], "Metadata" in other) == (0, False)


async def test_sorting_and_types(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """titleSort by default (articles aside), addedAt both ways; a show section's types."""
    path = "/library/sections/1/all"
    assert _titles(await _library(http, plex_server, path))[:3] == [
        "Amélie à Montréal",
        "The Big Picture",
        "A Film",
    ]
    newest = await _library(http, plex_server, path, sort="addedAt:desc")
    added = [entry["addedAt"] for entry in newest["Metadata"]]
    assert added == sorted(added, reverse=True)
    oldest = await _library(http, plex_server, path, sort="addedAt")
    assert _titles(oldest) == _titles(newest)[::-1]
    shows = "/library/sections/2/all"
    assert _titles(await _library(http, plex_server, shows)) == [
        "Another Show",
        "A Show",
    ]
    seasons = await _library(http, plex_server, shows, type="3")
    assert sorted((s["parentTitle"], s["index"]) for s in seasons["Metadata"]) == [
        ("A Show", 1),
        ("A Show", 2),
        ("Another Show", 1),
    ]
    episodes = await _library(http, plex_server, shows, type="4", sort="addedAt:desc")
    first = episodes["Metadata"][0]
    assert (
        first["grandparentTitle"],
        first["parentIndex"],
        first["index"],
        first["title"],
    ) == ("Another Show", 1, 2, "Ends")
    tracks = await _library(http, plex_server, "/library/sections/3/all", type="10")
    assert {t["grandparentTitle"] for t in tracks["Metadata"]} == {
        "An Artist",
        "Ünïcödé Ärtist",
    }


async def test_item_shapes(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Films, shows, episodes and tracks carry the fields of shared/plex-media-server.md."""
    film = plex_server.entry("The Big Picture")
    (movie,) = (
        await _library(http, plex_server, f"/library/metadata/{film.rating_key}")
    )["Metadata"]
    assert {
        "ratingKey",
        "key",
        "type",
        "title",
        "addedAt",
        "originallyAvailableAt",
        "year",
        "duration",
        "studio",
        "rating",
        "audienceRating",
        "contentRating",
        "summary",
        "thumb",
        "art",
        "Genre",
        "Media",
        "librarySectionID",
        "viewOffset",
    } <= set(movie)
    assert movie["Genre"] == [{"tag": "Thriller"}, {"tag": "Drama"}]
    show = plex_server.entry("A Show", "show")
    (shown,) = (
        await _library(http, plex_server, f"/library/metadata/{show.rating_key}")
    )["Metadata"]
    assert (shown["leafCount"], shown["childCount"]) == (5, 2)
    assert shown["key"].endswith("/children")
    pilot = plex_server.entry("Pilot")
    (episode,) = (
        await _library(http, plex_server, f"/library/metadata/{pilot.rating_key}")
    )["Metadata"]
    assert episode["grandparentThumb"] == shown["thumb"]
    assert episode["grandparentArt"] == shown["art"] == episode["art"]
    assert (episode["grandparentRatingKey"], episode["parentIndex"]) == (
        show.rating_key,
        1,
    )
    assert (await _get(http, plex_server, "/library/metadata/999999"))[0] == 404


async def test_item_artwork_is_served(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Every thumb and art path of an item, real or synthesized, is an image of the server."""
    plex_server.add_section("Archive", "movie", count=100_000)
    items = await _library(http, plex_server, "/library/recentlyAdded")
    archived = await _library(
        http,
        plex_server,
        "/library/sections/4/all",
        **{"X-Plex-Container-Start": "50000", "X-Plex-Container-Size": "1"},
    )
    for entry in [*items["Metadata"][:3], *archived["Metadata"]]:
        for path in (entry["thumb"], entry["art"], entry.get("grandparentThumb")):
            if path is None:
                continue
            status, content_type, _ = await _get(http, plex_server, path)
            assert (status, content_type) == (200, "image/jpeg"), path
            status, content_type, body = await _get(
                http,
                plex_server,
                "/photo/:/transcode",
                params={"url": path, "width": "200", "height": "300"},
            )
            assert (status, content_type) == (200, "image/jpeg")
            width, height = Image.open(io.BytesIO(body)).size
            assert min(width / 200, height / 300) == 1  # covers 200 x 300 exactly


async def test_recently_added_on_deck_and_hubs(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Recently added everywhere, newest first; on deck and continue watching what is in progress."""
    recent = await _library(http, plex_server, "/library/recentlyAdded")
    added = [entry["addedAt"] for entry in recent["Metadata"]]
    assert added == sorted(added, reverse=True)
    assert {entry["type"] for entry in recent["Metadata"]} == {
        "movie",
        "episode",
        "album",
    }
    paged = await _library(
        http, plex_server, "/library/recentlyAdded", **{"X-Plex-Container-Size": "3"}
    )
    assert _titles(paged) == _titles(recent)[:3]
    assert paged["totalSize"] == len(recent["Metadata"])
    section = await _library(http, plex_server, "/library/sections/2/recentlyAdded")
    assert _titles(section)[:2] == ["Ends", "Another Return"]
    for number, kind in (("1", "movie"), ("2", "episode"), ("8", "album")):
        hub = await _library(http, plex_server, "/hubs/home/recentlyAdded", type=number)
        assert {entry["type"] for entry in hub["Metadata"]} == {kind}
    assert (await _get(http, plex_server, "/hubs/home/recentlyAdded"))[0] == 400
    deck = await _library(http, plex_server, "/library/onDeck")
    assert [(e["title"], e["viewOffset"]) for e in deck["Metadata"]] == [
        ("The Second Episode", 600_000),
        ("The Big Picture", 1_800_000),
    ]
    watching = await _library(http, plex_server, "/hubs/continueWatching/items")
    assert watching["Metadata"] == deck["Metadata"]


async def test_a_library_of_100000_items_is_a_count(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Its items exist only when a page asks for them; children and metadata work the same."""
    stored = len(plex_server.library.entries)
    plex_server.add_section("Archive", "movie", count=100_000)
    plex_server.add_section("Every Artist", "artist", count=1_000)
    path = "/library/sections/4/all"
    count = await _library(
        http,
        plex_server,
        path,
        **{"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "0"},
    )
    assert (count["totalSize"], count["size"]) == (100_000, 0)
    newest = await _library(
        http, plex_server, path, sort="addedAt:desc", **{"X-Plex-Container-Size": "3"}
    )
    assert _titles(newest) == [
        "Archive movie 0100000",
        "Archive movie 0099999",
        "Archive movie 0099998",
    ]
    rating_key = newest["Metadata"][1]["ratingKey"]
    (item,) = (await _library(http, plex_server, f"/library/metadata/{rating_key}"))[
        "Metadata"
    ]
    assert item["title"] == "Archive movie 0099999"
    tracks = await _library(
        http,
        plex_server,
        "/library/sections/5/all",
        type="10",
        **{"X-Plex-Container-Size": "0"},
    )
    assert tracks["totalSize"] == 20_000
    artists = await _library(
        http, plex_server, "/library/sections/5/all", **{"X-Plex-Container-Size": "1"}
    )
    (artist,) = artists["Metadata"]
    albums = await _library(
        http, plex_server, f"/library/metadata/{artist['ratingKey']}/children"
    )
    assert [album["index"] for album in albums["Metadata"]] == [1, 2]
    assert {album["parentTitle"] for album in albums["Metadata"]} == {artist["title"]}
    recent = await _library(
        http, plex_server, "/library/recentlyAdded", **{"X-Plex-Container-Size": "0"}
    )
    assert recent["totalSize"] == 14 + 100_000 + 2_000
    assert len(plex_server.library.entries) == stored
    for gone in ("4100100001", "4001000000", "4099000001", "9001000001"):
        assert (await _get(http, plex_server, f"/library/metadata/{gone}"))[0] == 404


async def test_shared_sections(
    plex_tv: PlexTvStandIn, sam: StandInAccount, http: aiohttp.ClientSession
) -> None:
    """A server the account does not own shows only the sections it shares, with its own token."""
    shared = StandInServer(name="Friend's server", owned=False)
    sam.servers.append(shared)
    friend = PlexMediaServerStandIn(plex_tv, shared, shared_sections=["2"])
    await friend.start()
    try:
        sections = await _library(http, friend, "/library/sections")
        assert [s["title"] for s in sections["Directory"]] == ["TV Shows"]
        recent = await _library(http, friend, "/library/recentlyAdded")
        assert {entry["type"] for entry in recent["Metadata"]} == {"episode"}
        film = friend.entry("A Film")
        for path in (
            "/library/sections/1/all",
            "/library/sections/1/recentlyAdded",
            f"/library/metadata/{film.rating_key}",
            f"/library/metadata/{film.rating_key}/children",
        ):
            assert (await _get(http, friend, path))[0] == 404
        deck = await _library(http, friend, "/library/onDeck")
        assert _titles(deck) == ["The Second Episode"]
    finally:
        await friend.stop()


async def _posted(receiver: Receiver) -> list[dict[str, Any]]:
    """Return the JSON payloads the receiver got, in order."""
    return [json.loads(post["payload"][2]) for post in receiver.posts]


async def test_adding_a_film_notifies_and_posts(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    receiver: Receiver,
    http: aiohttp.ClientSession,
) -> None:
    """A new film: contentChangedAt grows, the socket hears the scan, the webhook gets library.new."""
    plex_tv.demo_account.set_webhooks([receiver.url])
    before = (await _library(http, plex_server, "/library/sections"))["Directory"]
    async with http.ws_connect(
        f"{plex_server.base_url}/:/websockets/notifications",
        headers=authed(plex_server),
    ) as socket:
        film = await plex_server.add_item(
            "Movies", title="Nouveau Film ✨", year=2026, genres=["Drama"]
        )
        messages = [await _next_json(socket) for _ in range(4)]
    after = (await _library(http, plex_server, "/library/sections"))["Directory"]
    assert after[0]["contentChangedAt"] > before[0]["contentChangedAt"]
    assert after[1]["contentChangedAt"] == before[1]["contentChangedAt"]
    kinds = [m["NotificationContainer"]["type"] for m in messages]
    assert kinds == ["activity", "timeline", "timeline", "activity"]
    started, created, done, ended = (m["NotificationContainer"] for m in messages)
    assert started["ActivityNotification"][0]["event"] == "started"
    assert ended["ActivityNotification"][0]["event"] == "ended"
    activity = ended["ActivityNotification"][0]["Activity"]
    assert activity["type"] == "library.update.section"
    assert activity["Context"] == {"librarySectionID": "1"}
    (entry,) = created["TimelineEntry"]
    assert entry == {
        "identifier": "com.plexapp.plugins.library",
        "sectionID": "1",
        "itemID": film.rating_key,
        "type": 1,
        "title": "Nouveau Film ✨",
        "state": 0,
        "metadataState": "created",
        "updatedAt": film.updated_at,
    }
    assert [e["state"] for e in done["TimelineEntry"]] == [5]
    (payload,) = await _posted(receiver)
    assert payload["event"] == "library.new"
    assert payload["Metadata"]["ratingKey"] == film.rating_key
    assert payload["Metadata"]["title"] == "Nouveau Film ✨"
    assert payload["Metadata"]["librarySectionType"] == "movie"
    assert payload["Metadata"]["librarySectionID"] == 1
    assert "thumb" in receiver.posts[0]
    newest = await _library(
        http,
        plex_server,
        "/library/sections/1/all",
        sort="addedAt:desc",
        **{"X-Plex-Container-Size": "1"},
    )
    assert _titles(newest) == ["Nouveau Film ✨"]


async def test_notifications_alone_or_the_webhook_alone(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    receiver: Receiver,
) -> None:
    """Each way of telling can be sent without the other."""
    plex_tv.demo_account.set_webhooks([receiver.url])
    sent = len(plex_server.notifications)
    await plex_server.add_item("Movies", title="Heard only", webhook=False)
    assert receiver.posts == []
    assert len(plex_server.notifications) == sent + 4
    await plex_server.add_item("Movies", title="Posted only", notifications=())
    assert len(plex_server.notifications) == sent + 4
    assert [p["Metadata"]["title"] for p in await _posted(receiver)] == ["Posted only"]
    await plex_server.add_item(
        "Movies", title="Timeline only", notifications=("timeline",), webhook=False
    )
    assert [
        m["NotificationContainer"]["type"] for m in plex_server.notifications[-2:]
    ] == ["timeline", "timeline"]
    with pytest.raises(ValueError, match="Unknown"):
        await plex_server.add_item("Movies", title="x", notifications=("smoke",))


async def test_adding_episodes_and_tracks(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """An episode of a new show makes its show and season; numbers follow on; tracks too."""
    first = await plex_server.add_item(
        "TV Shows", title="Début", show="Nouvelle Série", season=1, webhook=False
    )
    created = plex_server.notifications[-3]["NotificationContainer"]["TimelineEntry"]
    assert [(e["type"], e["title"]) for e in created] == [
        (2, "Nouvelle Série"),
        (3, "Season 1"),
        (4, "Début"),
    ]
    second = await plex_server.add_item(
        "TV Shows", title="Suite", show="Nouvelle Série", webhook=False
    )
    assert (first.index, second.index, first.parent) == (1, 2, second.parent)
    episodes = await _library(
        http, plex_server, "/library/sections/2/all", type="4", sort="addedAt:desc"
    )
    newest = episodes["Metadata"][0]
    assert (newest["grandparentTitle"], newest["parentIndex"], newest["index"]) == (
        "Nouvelle Série",
        1,
        2,
    )
    track = await plex_server.add_item("Music", title="B-side", webhook=False)
    assert (track.type, track.index) == ("track", 4)
    assert plex_server.library.parent_of(track) == plex_server.entry("An Album")


async def test_removing_an_item(plex_server: PlexMediaServerStandIn) -> None:
    """Removing a season removes its episodes, says deleted (state 9), and changes the section."""
    before = plex_server.section("TV Shows").content_changed_at
    season = plex_server.entry("Season 2")
    await plex_server.remove_item(season.rating_key, notifications=("timeline",))
    assert plex_server.section("TV Shows").content_changed_at > before
    (message,) = plex_server.notifications[-1:]
    entries = message["NotificationContainer"]["TimelineEntry"]
    assert [(e["title"], e["state"], e["metadataState"]) for e in entries] == [
        ("Season 2", 9, "deleted"),
        ("Return", 9, "deleted"),
        ("Another Return", 9, "deleted"),
    ]
    assert len(plex_server.entries("TV Shows", "episode")) == 5


async def test_play_queues_and_play_media(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A queue of a film or a whole show; playMedia starts it on the player at the offset."""
    mid = plex_server.server.machine_identifier
    show = plex_server.entry("A Show", "show")

    async def queue(rating_key: str, **query: str) -> tuple[int, dict[str, Any]]:
        """POST /playQueues for an item; return the status and the container."""
        params = {
            "type": "video",
            "uri": f"server://{mid}/com.plexapp.plugins.library/library/metadata/{rating_key}",
            "own": "1",
        } | query
        async with http.post(
            f"{plex_server.base_url}/playQueues",
            headers=authed(plex_server),
            params=params,
        ) as response:
            if response.status != 200:
                return response.status, {}
            return 200, (await response.json())["MediaContainer"]

    status, container = await queue(show.rating_key)
    assert status == 200
    assert [e["title"] for e in container["Metadata"]] == [
        "Pilot",
        "The Second Episode",
        "The Third Episode",
        "Return",
        "Another Return",
    ]
    assert (
        container["playQueueSelectedItemID"]
        == container["Metadata"][0]["playQueueItemID"]
    )
    assert container["playQueueTotalCount"] == 5
    again = await _library(http, plex_server, f"/playQueues/{container['playQueueID']}")
    assert again == container
    assert (await queue(show.rating_key, type="smell"))[0] == 400
    assert (await queue("999999"))[0] == 404
    assert (await queue(show.rating_key, uri="library://x/item/1"))[0] == 400

    tv = plex_server.player_named("Living room TV").machine_identifier
    pilot = plex_server.entry("Pilot")
    queue_key = f"/playQueues/{container['playQueueID']}?window=100&own=1"
    play = {
        "key": f"/library/metadata/{pilot.rating_key}",
        "offset": "90000",
        "machineIdentifier": mid,
        "containerKey": queue_key,
        "type": "video",
    }
    async with http.ws_connect(
        f"{plex_server.base_url}/:/websockets/notifications",
        headers=authed(plex_server),
    ) as socket:
        assert await _command(http, plex_server, "playMedia", tv, **play) == 200
        started = _playing(await _next_json(socket))
    assert (started["ratingKey"], started["state"], started["clientIdentifier"]) == (
        pilot.rating_key,
        "playing",
        tv,
    )
    assert started["viewOffset"] >= 90_000
    session = plex_server.player_session(tv)
    assert session is not None
    assert (session.item.title, session.item.grandparent_title) == ("Pilot", "A Show")
    (command,) = plex_server.plays()
    assert {key: command.query[key] for key in play} == play
    # Playing something else replaces what the player played.
    film = plex_server.entry("A Film")
    assert (
        await _command(
            http,
            plex_server,
            "playMedia",
            tv,
            key=f"/library/metadata/{film.rating_key}",
            machineIdentifier=mid,
        )
        == 200
    )
    (now,) = [s for s in plex_server.sessions.values() if s.player_identifier == tv]
    assert (now.item.title, now.offset) == ("A Film", 0)
    phone = plex_server.player_named("Phone").machine_identifier
    for target, query in (
        (phone, play),
        (tv, {**play, "key": "/library/metadata/999999"}),
        (tv, {**play, "machineIdentifier": "another"}),
        (tv, {**play, "containerKey": "/playQueues/77"}),
        (tv, {**play, "offset": "soon"}),
    ):
        assert await _command(http, plex_server, "playMedia", target, **query) == 400
    assert [c.status for c in plex_server.plays()] == [200, 200] + [400] * 5


async def test_demo_adds_a_film(
    plex_server: PlexMediaServerStandIn,
    plex_tv: PlexTvStandIn,
    receiver: Receiver,
    http: aiohttp.ClientSession,
) -> None:
    """The demo's "Add a film" button adds one, lists it first and posts library.new."""
    plex_tv.demo_account.set_webhooks([receiver.url])
    async with http.post(f"{plex_server.base_url}/demo/add_film") as response:
        assert response.status == 200
        page = await response.text()
    assert "Added A New Film 6 to Movies." in page
    assert '<ul id="recent"><li>A New Film 6 (movie)</li>' in page
    assert [p["Metadata"]["title"] for p in await _posted(receiver)] == ["A New Film 6"]
