"""The Plex Media Server client and notification listener, against small servers written here.

Every server runs on 127.0.0.1 on a free port. Session fixtures are named after the shape
they stand for: what Home Assistant core's plex test fixtures and python-plexapi show a
server sending for a direct-played movie, a transcoded episode, a paused movie sent with
numbers as strings, a music track, and entries with fields missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import ipaddress
import json
import logging
from pathlib import Path
import socket
import ssl
import tempfile
from typing import Any

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from multidict import CIMultiDict
import pytest

from custom_components.plex_link.plexserver import (
    DIRECT_PLAY,
    MAX_BODY_BYTES,
    NotificationListener,
    PlayingNotification,
    PlaySession,
    PlexServerAuthenticationError,
    PlexServerClient,
    PlexServerConnectionError,
    PlexServerError,
    PlexServerResponseError,
    PlexServerServerError,
    sessions_from_json,
)
from custom_components.plex_link.plexserver.notifications import NOTIFICATIONS_PATH

from .conftest import wait_for

TOKEN = "server-token-5ecret-0123456789"
IDENTITY_HEADERS = {
    "X-Plex-Client-Identifier": "test-client",
    "X-Plex-Product": "Plex Link tests",
}
PLAYER_ADDRESS = "192.168.1.50"
PUBLIC_ADDRESS = "203.0.113.7"
# A timeline report of two sessions, numbers as strings, as some servers send them;
# entries without a session key are left out.
TIMELINE = json.dumps(
    {
        "NotificationContainer": {
            "type": "playing",
            "size": 3,
            "PlaySessionStateNotification": [
                {
                    "sessionKey": "20",
                    "clientIdentifier": "player-device-id",
                    "guid": "",
                    "ratingKey": "7",
                    "url": "",
                    "key": "/library/metadata/7",
                    "viewOffset": "61000",
                    "state": "Paused",
                    "transcodeSession": "",
                },
                {"clientIdentifier": "no key", "state": "playing"},
                {"sessionKey": 21, "viewOffset": -1, "state": ""},
            ],
        }
    }
)
PLAYING = json.dumps(
    {
        "NotificationContainer": {
            "type": "playing",
            "size": 1,
            "PlaySessionStateNotification": [
                {"sessionKey": "12", "state": "playing", "viewOffset": 1000}
            ],
        }
    }
)
LISTENER = "plex_link notification listener"
READ_AT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)

# A movie played as it is on the LAN, in the shape of core's plex session fixtures.
MOVIE_DIRECT: dict[str, Any] = {
    "sessionKey": "12",
    "ratingKey": "1",
    "key": "/library/metadata/1",
    "type": "movie",
    "title": "Big Buck Bunny",
    "year": 2008,
    "duration": 9_000_000,
    "viewOffset": 4_500_000,
    "Media": [
        {
            "audioCodec": "aac",
            "videoCodec": "h264",
            "videoResolution": "1080",
            "bitrate": 4000,
            "selected": True,
            "Part": [{"decision": "directplay"}],
        }
    ],
    "User": {"id": "1", "title": "Owner", "thumb": "https://plex.tv/users/1/avatar"},
    "Player": {
        "address": PLAYER_ADDRESS,
        "remotePublicAddress": PUBLIC_ADDRESS,
        "machineIdentifier": "player-device-id",
        "title": "Living room",
        "product": "Plex for LG",
        "platform": "webOS",
        "state": "playing",
        "local": True,
    },
    "Session": {"id": "session-abc", "bandwidth": 10_000, "location": "lan"},
}
# An episode whose video is transcoded and audio copied, streamed to another network.
EPISODE_TRANSCODE: dict[str, Any] = {
    "sessionKey": "13",
    "type": "episode",
    "title": "Pilot",
    "grandparentTitle": "The Show",
    "parentTitle": "Season 1",
    "index": 1,
    "parentIndex": 1,
    "year": 2020,
    "duration": 1_800_000,
    "viewOffset": 2_000_000,
    "Media": [{"audioCodec": "eac3", "videoCodec": "hevc", "videoResolution": "4k"}],
    "User": {"id": 2, "title": "Friend"},
    "Player": {
        "address": PUBLIC_ADDRESS,
        "title": "Phone",
        "product": "Plex for Android",
        "platform": "Android",
        "state": "buffering",
        "local": False,
    },
    "Session": {"id": "session-def", "bandwidth": 4000, "location": "wan"},
    "TranscodeSession": {
        "key": "/transcode/sessions/x",
        "videoDecision": "transcode",
        "audioDecision": "copy",
        "throttled": True,
        "speed": 3.1,
        "progress": 12.5,
    },
}
# A paused movie from a server that sends numbers as strings and Media as one object.
MOVIE_PAUSED_STRINGS: dict[str, Any] = {
    "sessionKey": 14,
    "type": "movie",
    "title": "Sintel",
    "year": "2010",
    "duration": "7200000",
    "viewOffset": "1800000",
    "Media": {"audioCodec": "opus", "videoCodec": "vp9", "videoResolution": 720},
    "User": {"id": "3", "title": "Guest"},
    "Player": {"title": "Browser", "state": "PAUSED"},
    "Session": {"id": "session-ghi", "bandwidth": "2500", "location": "lan"},
}
# A music track played as it is: there is no video, so no video decision.
TRACK_DIRECT: dict[str, Any] = {
    "sessionKey": "15",
    "type": "track",
    "title": "Love The One You're With",
    "grandparentTitle": "Stephen Stills",
    "parentTitle": "Stephen Stills",
    "index": 1,
    "parentIndex": 1,
    "duration": 180_000,
    "viewOffset": 0,
    "Media": [{"audioCodec": "flac", "bitrate": 1411}],
    "User": {"id": "1", "title": "Owner"},
    "Player": {"title": "Kitchen", "product": "Plexamp", "state": "playing"},
    "Session": {"id": "session-jkl", "location": "wan"},
}
# A music track transcoded (audio only): the server names no video decision.
TRACK_TRANSCODE: dict[str, Any] = {
    "sessionKey": "16",
    "type": "track",
    "title": "Song",
    "Media": [{"audioCodec": "flac"}],
    "TranscodeSession": {"audioDecision": "transcode", "throttled": "0"},
}


@dataclass(frozen=True)
class Seen:
    """One request a fake server received."""

    path_qs: str
    headers: CIMultiDict[str]


@dataclass
class FakeServer:
    """Answers /status/sessions, terminate and the notification socket.

    plan holds what to do with each websocket handshake in turn: "refuse" (HTTP
    refuse_status), "close" (accept, then close at once), "stall" (never answer);
    when it runs out, sockets are accepted and kept open.
    """

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    overrides: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = (
        field(default_factory=dict)
    )
    sessions: Any = field(default_factory=lambda: {"MediaContainer": {"size": 0}})
    plan: list[str] = field(default_factory=list)
    refuse_status: int = 503
    handshakes: int = 0
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    open_sockets: int = 0
    max_open_sockets: int = 0
    close_codes: list[int | None] = field(default_factory=list)
    pongs: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    runner: web.AppRunner | None = None

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> FakeServer:
        """Serve on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        """Release stalled handlers, close sockets and stop serving."""
        self.release.set()
        for ws in self.sockets:
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def paths(self) -> list[str]:
        """Return the path and query of each request received."""
        return [seen.path_qs for seen in self.seen]

    async def flush(self, ws: web.WebSocketResponse) -> None:
        """Return once the client has read everything sent before: it answers a ping in order."""
        before = self.pongs
        await ws.ping()
        await wait_for(lambda: self.pongs > before)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Record the request and answer it."""
        self.seen.append(Seen(request.path_qs, request.headers.copy()))
        if (override := self.overrides.get(request.path)) is not None:
            return await override(request)
        if request.path == "/status/sessions":
            return web.json_response(self.sessions)
        if request.path == "/status/sessions/terminate":
            return web.Response(status=200)
        if request.path == NOTIFICATIONS_PATH:
            return await self._notifications(request)
        return web.Response(status=404)

    async def _notifications(self, request: web.Request) -> web.StreamResponse:
        """Follow the plan for this handshake; count the sockets open at once."""
        self.handshakes += 1
        action = self.plan.pop(0) if self.plan else "keep"
        if action == "refuse":
            return web.Response(status=self.refuse_status)
        if action == "stall":
            await self.release.wait()
            return web.Response(status=503)
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self.sockets.append(ws)
        self.open_sockets += 1
        self.max_open_sockets = max(self.max_open_sockets, self.open_sockets)
        try:
            if action == "close":
                await ws.close()
            else:
                async for message in ws:
                    if message.type is aiohttp.WSMsgType.PONG:
                        self.pongs += 1
                    elif message.type is aiohttp.WSMsgType.PING:
                        await ws.pong(message.data)
        finally:
            self.open_sockets -= 1
            self.close_codes.append(ws.close_code)
        return ws


@dataclass
class HangUp:
    """A TCP port that accepts connections and closes them without a word."""

    url: str = ""
    connections: int = 0
    server: asyncio.Server | None = None

    async def start(self) -> HangUp:
        """Listen on a free loopback port."""
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Count the connection and hang up."""
        self.connections += 1
        writer.close()

    async def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class Events:
    """What a listener reported through its callbacks."""

    opens: int = 0
    reports: list[list[PlayingNotification]] = field(default_factory=list)
    states: list[bool] = field(default_factory=list)

    def on_open(self) -> None:
        """Count an opening of the socket."""
        self.opens += 1

    def on_playing(self, reports: list[PlayingNotification]) -> None:
        """Keep the reports of a playing notification."""
        self.reports.append(reports)

    def callbacks(self) -> dict[str, Any]:
        """Return the callbacks, to pass to a listener."""
        return {
            "on_open": self.on_open,
            "on_playing": self.on_playing,
            "on_connection": self.on_connection,
        }

    def on_connection(self, connected: bool) -> None:
        """Record a connection state."""
        self.states.append(connected)


def closed_port_url() -> str:
    """Return a loopback URL on which nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def self_signed_context() -> ssl.SSLContext:
    """Return a server TLS context with a certificate for 127.0.0.1 that nobody trusts.

    The PEM files live in a directory of their own: pytest's tmp_path may be
    pruned by another pytest run on the same machine.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as directory:
        cert_file = Path(directory, "cert.pem")
        key_file = Path(directory, "key.pem")
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context.load_cert_chain(cert_file, key_file)
    return context


def assert_clean(error: BaseException) -> None:
    """The message names neither the token nor an address."""
    assert TOKEN not in str(error)
    assert "127.0.0.1" not in str(error)


def assert_token_in_headers_only(server: FakeServer) -> None:
    """Every request carried the token as a header, never in its URL."""
    assert server.seen
    for seen in server.seen:
        assert seen.headers["X-Plex-Token"] == TOKEN
        assert TOKEN not in seen.path_qs
        assert "token" not in seen.path_qs.lower()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return an aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Start fake servers (or a hang-up port with hang_up=True); stop them after the test."""
    started: list[FakeServer | HangUp] = []

    async def start(
        ssl_context: ssl.SSLContext | None = None, *, hang_up: bool = False
    ) -> Any:
        server = await (
            HangUp().start() if hang_up else FakeServer().start(ssl_context)
        )
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.stop()


@pytest.fixture(autouse=True)
def fast_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry after 10 ms, doubling up to 80 ms."""
    monkeypatch.setattr(NotificationListener, "initial_backoff", 0.01)
    monkeypatch.setattr(NotificationListener, "max_backoff", 0.08)


def make_client(
    session: aiohttp.ClientSession, *urls: str, request_timeout: float = 5.0
) -> PlexServerClient:
    """Return a client for the given connections, best first."""
    return PlexServerClient(
        session,
        identity_headers=IDENTITY_HEADERS,
        access_token=TOKEN,
        connections=list(urls),
        request_timeout=request_timeout,
        connect_timeout=min(request_timeout, 2.0),
    )


def listener_tasks() -> list[asyncio.Task[Any]]:
    """Return the listener tasks still running."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name() == LISTENER and not task.done()
    ]


# Parsing


def parse(data: Any) -> PlaySession:
    """Return the session of one `Metadata` entry, read at READ_AT."""
    return PlaySession.from_json(data, position_at=READ_AT)


def test_direct_play_movie() -> None:
    """A movie without TranscodeSession plays both streams directly; no address is kept."""
    session = parse(MOVIE_DIRECT)
    assert session == PlaySession(
        session_key="12",
        position_at=READ_AT,
        session_id="session-abc",
        player_id="player-device-id",
        rating_key="1",
        key="/library/metadata/1",
        media_type="movie",
        title="Big Buck Bunny",
        year=2008,
        duration_ms=9_000_000,
        view_offset_ms=4_500_000,
        progress=0.5,
        user="Owner",
        player="Living room",
        product="Plex for LG",
        platform="webOS",
        state="playing",
        location="lan",
        bandwidth_kbps=10_000,
        video_resolution="1080",
        video_codec="h264",
        audio_codec="aac",
        video_decision=DIRECT_PLAY,
        audio_decision=DIRECT_PLAY,
        transcoding=False,
    )
    for private in (PLAYER_ADDRESS, PUBLIC_ADDRESS, "avatar"):
        assert private not in repr(session)


def test_transcoded_episode() -> None:
    """TranscodeSession gives the decisions; progress past the end is capped at 1."""
    session = parse(EPISODE_TRANSCODE)
    assert session.video_decision == "transcode"
    assert session.audio_decision == "copy"
    assert session.transcoding is True
    assert (session.grandparent_title, session.parent_title) == ("The Show", "Season 1")
    assert (session.show, session.season, session.episode) == ("The Show", 1, 1)
    assert (session.artist, session.album) == (None, None)
    assert session.progress == 1.0
    assert session.state == "buffering"
    assert session.location == "wan"
    assert PUBLIC_ADDRESS not in repr(session)


def test_paused_movie_with_numbers_as_strings() -> None:
    """Numbers sent as strings are read; Media as one object."""
    session = parse(MOVIE_PAUSED_STRINGS)
    assert session.session_key == "14"
    assert session.state == "paused"
    assert (session.year, session.duration_ms, session.view_offset_ms) == (
        2010,
        7_200_000,
        1_800_000,
    )
    assert session.progress == 0.25
    assert session.bandwidth_kbps == 2500
    assert (session.video_resolution, session.video_codec) == ("720", "vp9")
    assert session.video_decision == session.audio_decision == DIRECT_PLAY


def test_music_tracks() -> None:
    """A track has no video decision, whether played directly or transcoded."""
    direct = parse(TRACK_DIRECT)
    assert (direct.video_decision, direct.audio_decision) == (None, DIRECT_PLAY)
    assert direct.transcoding is False
    assert direct.progress == 0.0
    assert (direct.artist, direct.album) == ("Stephen Stills", "Stephen Stills")
    assert (direct.show, direct.season, direct.episode) == (None, None, None)
    assert direct.audio_codec == "flac"
    assert direct.video_codec is None
    transcoded = parse(TRACK_TRANSCODE)
    assert (transcoded.video_decision, transcoded.audio_decision) == (None, "transcode")
    assert transcoded.transcoding is True


def test_a_track_artist_of_its_own() -> None:
    """A track's own artist (originalTitle) comes before the album's."""
    track = parse({**TRACK_DIRECT, "originalTitle": "Crosby, Stills & Nash"})
    assert track.artist == "Crosby, Stills & Nash"
    assert track.grandparent_title == "Stephen Stills"


def _with_streams(*streams: dict[str, Any], **entry: Any) -> dict[str, Any]:
    """Return a film session whose selected part has these streams."""
    return {
        "sessionKey": "20",
        "type": "movie",
        "Media": [
            {"selected": False, "Part": [{"Stream": []}]},
            {
                "selected": True,
                "videoCodec": "h264",
                "audioCodec": "aac",
                "Part": [{"Stream": list(streams)}],
            },
        ],
        **entry,
    }


@pytest.mark.parametrize(
    ("entry", "video", "audio"),
    [
        pytest.param(
            _with_streams(
                {"streamType": 1, "decision": "transcode"},
                {"streamType": 2, "decision": "copy"},
            ),
            "transcode",
            "copy",
            id="streams-without-transcode-session",
        ),
        pytest.param(
            _with_streams(
                {"streamType": "1", "decision": "copy"},
                {"streamType": 2, "decision": "directplay"},
                TranscodeSession={
                    "videoDecision": "transcode",
                    "audioDecision": "copy",
                },
            ),
            "copy",
            DIRECT_PLAY,
            id="streams-before-transcode-session",
        ),
        pytest.param(
            _with_streams(
                {"streamType": 1},
                {"streamType": 3, "decision": "transcode"},
                TranscodeSession={
                    "videoDecision": "transcode",
                    "audioDecision": "copy",
                },
            ),
            "transcode",
            "copy",
            id="transcode-session-where-streams-say-nothing",
        ),
        pytest.param(
            _with_streams(
                {"streamType": 2, "decision": "copy"},
                {"streamType": 2, "decision": "transcode", "selected": True},
            ),
            DIRECT_PLAY,
            "transcode",
            id="the-selected-audio-stream",
        ),
        pytest.param(
            _with_streams({"streamType": 1, "decision": "Transcode"}, "junk", 7),
            "transcode",
            DIRECT_PLAY,
            id="odd-entries",
        ),
    ],
)
def test_stream_decisions(entry: dict[str, Any], video: str, audio: str) -> None:
    """Each stream's own decision first, then TranscodeSession's, then direct play."""
    session = parse(entry)
    assert (session.video_decision, session.audio_decision) == (video, audio)
    assert session.transcoding is ("transcode" in (video, audio))


def test_missing_fields() -> None:
    """An entry with only a session key gives a session of unknowns."""
    session = parse({"sessionKey": "99"})
    assert session == PlaySession(session_key="99", position_at=READ_AT)
    assert session.progress is None
    assert session.video_decision is None
    assert session.audio_decision is None


@pytest.mark.parametrize(
    ("field_value", "expected"),
    [
        ({"duration": 0, "viewOffset": 10}, None),
        ({"duration": -5, "viewOffset": 1}, None),
        ({"duration": "12abc", "viewOffset": 1}, None),
        ({"duration": 1e400, "viewOffset": 1}, None),
        ({"duration": True, "viewOffset": 1}, None),
        ({"duration": 10**400, "viewOffset": 1}, None),
        ({"duration": 100.0, "viewOffset": 25}, 0.25),
    ],
)
def test_odd_numbers(field_value: dict[str, Any], expected: float | None) -> None:
    """Numbers that are not sane counts are unknown, never an error."""
    assert parse({"sessionKey": "1", **field_value}).progress == expected


def test_moved_sessions() -> None:
    """A session moved to another position keeps everything else; progress follows."""
    session = parse(MOVIE_DIRECT)
    later = READ_AT + timedelta(seconds=10)
    moved = session.moved(4_510_000, later)
    assert (moved.view_offset_ms, moved.position_at) == (4_510_000, later)
    assert moved.progress == pytest.approx(4_510_000 / 9_000_000)
    assert (
        dataclasses.replace(
            moved,
            view_offset_ms=session.view_offset_ms,
            progress=session.progress,
            position_at=READ_AT,
        )
        == session
    )


def test_sessions_list_skips_malformed_entries() -> None:
    """Entries without a usable key, or not objects, are skipped; the rest are kept."""
    data = {
        "MediaContainer": {
            "size": 9,
            "Metadata": [
                MOVIE_DIRECT,
                "junk",
                42,
                None,
                {"title": "no key"},
                {"sessionKey": True},
                {"sessionKey": "  "},
                {"sessionKey": "7", "User": "not an object", "Media": ["x", 5]},
                TRACK_DIRECT,
            ],
        }
    }
    assert [
        session.session_key for session in sessions_from_json(data, position_at=READ_AT)
    ] == [
        "12",
        "7",
        "15",
    ]


def test_sessions_list_variants() -> None:
    """No Metadata means nothing plays; one object instead of a list is one session."""
    assert (
        sessions_from_json(position_at=READ_AT, data={"MediaContainer": {"size": 0}})
        == []
    )
    assert (
        sessions_from_json(
            position_at=READ_AT, data={"MediaContainer": {"Metadata": None}}
        )
        == []
    )
    assert [
        s.session_key
        for s in sessions_from_json(
            position_at=READ_AT, data={"MediaContainer": {"Metadata": TRACK_DIRECT}}
        )
    ] == ["15"]


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "MediaContainer",
        {},
        {"MediaContainer": []},
        {"MediaContainer": {"Metadata": "x"}},
        {"MediaContainer": {"Metadata": 3}},
    ],
)
def test_sessions_of_wrong_shape_are_refused(data: Any) -> None:
    """A container of the wrong shape is a typed error, not an empty list."""
    with pytest.raises(PlexServerResponseError):
        sessions_from_json(data, position_at=READ_AT)


# Requests


async def test_sessions_and_headers(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """Requests carry JSON, identity and token headers; the token never goes in a URL.

    Each session's position is true at the moment of the read.
    """
    server: FakeServer = await serve()
    server.sessions = {
        "MediaContainer": {"size": 2, "Metadata": [MOVIE_DIRECT, EPISODE_TRANSCODE]}
    }
    client = make_client(session, server.url)
    assert client.connection == server.url
    before = datetime.now(UTC)
    sessions = await client.get_sessions()
    after = datetime.now(UTC)
    assert [s.session_key for s in sessions] == ["12", "13"]
    for read in sessions:
        assert before <= read.position_at <= after
        assert read.position_at.tzinfo is UTC
    assert server.paths() == ["/status/sessions"]
    assert_token_in_headers_only(server)
    for seen in server.seen:
        assert seen.headers["Accept"] == "application/json"
        assert seen.headers["X-Plex-Client-Identifier"] == "test-client"
        assert seen.headers["X-Plex-Product"] == "Plex Link tests"


async def test_terminate_session(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """Terminate names the session and, when given, the reason; the body is not read."""
    server: FakeServer = await serve()
    client = make_client(session, server.url)
    await client.terminate_session("session-abc", "Bed time & sleep")
    await client.terminate_session("session-def")
    assert server.paths() == [
        "/status/sessions/terminate?sessionId=session-abc&reason=Bed+time+%26+sleep",
        "/status/sessions/terminate?sessionId=session-def",
    ]
    assert_token_in_headers_only(server)


async def test_fall_back_from_a_closed_port(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """A refused connection falls back to the next one, which is remembered."""
    server: FakeServer = await serve()
    closed = closed_port_url()
    client = make_client(session, closed, server.url)
    assert client.connection == closed
    assert await client.get_sessions() == []
    assert client.connection == server.url
    assert client.connections == (closed, server.url)


async def test_fall_back_in_order(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """The connections after a failing one are tried best first: the second, not the last."""
    hang_up: HangUp = await serve(hang_up=True)
    second: FakeServer = await serve()
    third: FakeServer = await serve()
    client = make_client(session, hang_up.url, second.url, third.url)
    assert await client.get_sessions() == []
    assert client.connection == second.url
    assert (second.paths(), third.paths()) == (["/status/sessions"], [])


async def test_the_working_connection_is_remembered(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """After a fall-back, the next request goes straight to the connection that answered."""
    hang_up: HangUp = await serve(hang_up=True)
    server: FakeServer = await serve()
    client = make_client(session, hang_up.url, server.url)
    await client.get_sessions()
    tried = hang_up.connections
    assert tried >= 1
    await client.get_sessions()
    await client.get_sessions()
    assert hang_up.connections == tried
    assert server.paths() == [
        "/status/sessions",
        "/status/sessions",
        "/status/sessions",
    ]


async def test_fall_back_when_the_remembered_connection_goes(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """The others are tried again in order; new connections replace a vanished one."""
    hang_up: HangUp = await serve(hang_up=True)
    first: FakeServer = await serve()
    client = make_client(session, hang_up.url, first.url)
    await client.get_sessions()
    assert client.connection == first.url
    await first.stop()
    tried = hang_up.connections
    with pytest.raises(PlexServerConnectionError) as caught:
        await client.get_sessions()
    assert hang_up.connections > tried
    assert_clean(caught.value)

    second: FakeServer = await serve()
    client.update_connections([hang_up.url, second.url])
    assert client.connection == hang_up.url
    await client.get_sessions()
    assert client.connection == second.url
    assert second.paths() == ["/status/sessions"]


async def test_update_connections(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """The remembered connection stays while listed; unusable URIs are left out."""
    one: FakeServer = await serve()
    two: FakeServer = await serve()
    client = make_client(session, one.url, two.url)
    client.update_connections([two.url, one.url])
    assert client.connection == one.url
    await client.get_sessions()
    assert (one.paths(), two.paths()) == (["/status/sessions"], [])
    client.update_connections(
        ["ftp://127.0.0.1:21", "not a uri", "http://", "", two.url + "/x?y=1"]
    )
    assert client.connections == (two.url,)
    assert client.connection == two.url
    await client.get_sessions()
    assert two.paths() == ["/status/sessions"]


async def test_no_usable_connection(session: aiohttp.ClientSession) -> None:
    """Without a connection, requests fail with a connection error."""
    client = make_client(session, "mailto:someone")
    assert client.connection is None
    with pytest.raises(PlexServerConnectionError):
        await client.get_sessions()


async def test_tls_failure_falls_back(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
) -> None:
    """An untrusted certificate is a connection failure: no request, no token reaches it.

    The TLS server's side of each failed handshake reaches the event loop's
    exception handler, which Home Assistant's test harness counts as an error:
    the test takes those two reports itself.
    """
    loop = asyncio.get_running_loop()
    harness_handler = loop.get_exception_handler()
    refused: list[dict[str, Any]] = []

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if "incoming connection" in context.get("message", ""):
            refused.append(context)
        elif harness_handler is not None:
            harness_handler(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        tls: FakeServer = await serve(self_signed_context())
        server: FakeServer = await serve()
        with pytest.raises(PlexServerConnectionError) as caught:
            await make_client(session, tls.url).get_sessions()
        assert isinstance(
            caught.value.__cause__, aiohttp.ClientConnectorCertificateError
        )
        assert_clean(caught.value)

        client = make_client(session, tls.url, server.url)
        assert await client.get_sessions() == []
        assert client.connection == server.url
        assert tls.seen == []
        await wait_for(lambda: len(refused) == 2)
    finally:
        loop.set_exception_handler(harness_handler)


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_token(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]], status: int
) -> None:
    """401 and 403 are authentication errors, and no reason to try another connection."""
    refusing: FakeServer = await serve()
    other: FakeServer = await serve()
    refusing.overrides["/status/sessions"] = lambda request: _answer(status, b"")
    client = make_client(session, refusing.url, other.url)
    with pytest.raises(PlexServerAuthenticationError) as caught:
        await client.get_sessions()
    assert_clean(caught.value)
    assert other.seen == []
    assert client.connection == refusing.url


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]], status: int
) -> None:
    """5xx is a server error with its status, from the connection that answered."""
    failing: FakeServer = await serve()
    other: FakeServer = await serve()
    failing.overrides["/status/sessions"] = lambda request: _answer(status, b"oops")
    with pytest.raises(PlexServerServerError) as caught:
        await make_client(session, failing.url, other.url).get_sessions()
    assert caught.value.status == status
    assert_clean(caught.value)
    assert other.seen == []


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, b"{}"),
        (200, b"<html><body>Sign in to the hotel Wi-Fi</body></html>"),
        (200, b""),
        (200, b"[]"),
        (200, b'{"MediaContainer": "x"}'),
        (200, b"[" * 200_000),
    ],
    ids=["404", "html", "empty", "list", "container", "deep"],
)
async def test_unexpected_answers(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
    status: int,
    body: bytes,
) -> None:
    """Anything but the expected JSON is a response error, never another exception."""
    server: FakeServer = await serve()
    server.overrides["/status/sessions"] = lambda request: _answer(status, body)
    with pytest.raises(PlexServerResponseError) as caught:
        await make_client(session, server.url).get_sessions()
    assert not isinstance(caught.value, PlexServerServerError)
    assert_clean(caught.value)


async def test_announced_oversized_body_is_refused_unread(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """A body announced as 50 MB is refused at once, before waiting for any of it."""
    server: FakeServer = await serve()

    async def announce(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 50 * 1024 * 1024
        await response.prepare(request)
        await response.write(b"[")
        await server.release.wait()
        return response

    server.overrides["/status/sessions"] = announce
    client = make_client(session, server.url, request_timeout=2.0)
    with pytest.raises(PlexServerResponseError, match="oversized") as caught:
        await client.get_sessions()
    assert caught.value.status == 200


async def test_streamed_oversized_body_is_refused_unread(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """A 50 MB chunked answer is refused after about the cap, not read whole."""
    server: FakeServer = await serve()
    total = 50 * 1024 * 1024
    sent = 0
    done = asyncio.Event()

    async def flood(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            while sent < total:
                await response.write(b"[" + b" " * (64 * 1024 - 1))
                sent += 64 * 1024
        except ConnectionError:
            pass
        finally:
            done.set()
        return response

    server.overrides["/status/sessions"] = flood
    with pytest.raises(PlexServerResponseError, match="oversized"):
        await make_client(session, server.url).get_sessions()
    async with asyncio.timeout(10):
        await done.wait()
    assert sent < total // 3


@pytest.mark.parametrize(
    ("size", "accepted"), [(MAX_BODY_BYTES, True), (MAX_BODY_BYTES + 1, False)]
)
async def test_body_at_the_cap(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
    size: int,
    accepted: bool,
) -> None:
    """A body of exactly the cap is read; one byte more is refused."""
    server: FakeServer = await serve()
    body = json.dumps({"MediaContainer": {"Metadata": [TRACK_DIRECT]}}).encode()
    body += b" " * (size - len(body))
    server.overrides["/status/sessions"] = lambda request: _answer(200, body)
    client = make_client(session, server.url)
    if accepted:
        assert [s.session_key for s in await client.get_sessions()] == ["15"]
    else:
        with pytest.raises(PlexServerResponseError, match="oversized"):
            await client.get_sessions()


async def test_redirect_is_not_followed(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """A redirect is an error; the place it points to sees no request and no token."""
    server: FakeServer = await serve()
    elsewhere: FakeServer = await serve()
    server.overrides["/status/sessions"] = lambda request: _answer(
        302, b"", {"Location": f"{elsewhere.url}/status/sessions"}
    )
    with pytest.raises(PlexServerResponseError) as caught:
        await make_client(session, server.url).get_sessions()
    assert caught.value.status == 302
    assert_clean(caught.value)
    assert elsewhere.seen == []


async def test_timeout_falls_back(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """A connection that never answers times out and the next one is used."""
    stalled: FakeServer = await serve()
    server: FakeServer = await serve()

    async def stall(request: web.Request) -> web.StreamResponse:
        await stalled.release.wait()
        return web.Response()

    stalled.overrides["/status/sessions"] = stall
    with pytest.raises(PlexServerConnectionError, match="in time") as caught:
        await make_client(session, stalled.url, request_timeout=0.3).get_sessions()
    assert_clean(caught.value)

    client = make_client(session, stalled.url, server.url, request_timeout=0.3)
    assert await client.get_sessions() == []
    assert client.connection == server.url


async def test_answer_that_breaks_off_does_not_fall_back(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """Once a connection answered, a body that stalls is its error, not the next one's."""
    server: FakeServer = await serve()
    other: FakeServer = await serve()

    async def half(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"MediaContainer": ')
        await server.release.wait()
        return response

    server.overrides["/status/sessions"] = half
    client = make_client(session, server.url, other.url, request_timeout=0.3)
    with pytest.raises(PlexServerConnectionError) as caught:
        await client.get_sessions()
    assert_clean(caught.value)
    assert other.seen == []
    assert client.connection == server.url


async def _answer(
    status: int, body: bytes, headers: dict[str, str] | None = None
) -> web.Response:
    """Return a canned answer."""
    return web.Response(status=status, body=body, headers=headers)


# Notifications


async def test_playing_notifications_are_handed_on(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """Connecting calls on_open; each playing message hands its reports to on_playing.

    The token is a handshake header.
    """
    server: FakeServer = await serve()
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url),
        **events.callbacks(),
    )
    listener.start()
    try:
        await wait_for(lambda: server.open_sockets == 1 and events.opens == 1)
        assert listener.connected
        assert events.states == [True]
        assert events.reports == []
        assert server.paths() == [NOTIFICATIONS_PATH]
        assert_token_in_headers_only(server)
        ws = server.sockets[0]
        await ws.send_str(PLAYING)
        await wait_for(lambda: len(events.reports) == 1)
        await ws.send_str(TIMELINE)
        await server.flush(ws)
        assert events.reports == [
            [
                PlayingNotification(
                    session_key="12", state="playing", view_offset_ms=1000
                )
            ],
            [
                PlayingNotification(
                    session_key="20",
                    client_identifier="player-device-id",
                    rating_key="7",
                    key="/library/metadata/7",
                    view_offset_ms=61_000,
                    state="paused",
                ),
                PlayingNotification(session_key="21"),
            ],
        ]
        assert events.opens == 1
    finally:
        await listener.stop()


async def test_garbage_is_ignored(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """Messages that are not playing notifications change nothing and break nothing."""
    server: FakeServer = await serve()
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url), **events.callbacks()
    )
    listener.start()
    try:
        await wait_for(lambda: server.open_sockets == 1 and events.opens == 1)
        ws = server.sockets[0]
        for garbage in (
            "not json",
            "",
            "null",
            "[]",
            '"playing"',
            '{"type": "playing"}',
            '{"NotificationContainer": "playing"}',
            '{"NotificationContainer": {"type": "timeline", "size": 1}}',
            '{"NotificationContainer": {"type": ["playing"]}}',
            '{"NotificationContainer": {"type": "activity"}}',
            "[" * 100_000,
        ):
            await ws.send_str(garbage)
        await ws.send_bytes(PLAYING.encode())
        await server.flush(ws)
        assert events.reports == []
        await ws.send_str('{"NotificationContainer": {"type": "playing"}}')
        await ws.send_str(PLAYING)
        await server.flush(ws)
        assert [len(reports) for reports in events.reports] == [0, 1]
        assert (events.opens, server.handshakes) == (1, 1)
    finally:
        await listener.stop()


async def test_failing_callback_does_not_stop_the_listener(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A callback that raises is logged; the listener keeps reading."""
    server: FakeServer = await serve()
    calls = 0

    def fail(*_: Any) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("callback bug")

    listener = NotificationListener(
        make_client(session, server.url), on_open=fail, on_playing=fail
    )
    listener.start()
    try:
        await wait_for(lambda: server.open_sockets == 1 and calls == 1)
        await server.sockets[0].send_str(PLAYING)
        await wait_for(lambda: calls == 2)
        assert server.handshakes == 1
        assert "Error in a notification callback" in caplog.text
    finally:
        await listener.stop()


async def test_reconnects_after_the_server_drops_the_socket(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """A dropped socket is reported and reopened, and on_open is called again."""
    server: FakeServer = await serve()
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url),
        **events.callbacks(),
    )
    listener.start()
    try:
        await wait_for(lambda: server.open_sockets == 1 and events.opens == 1)
        await server.sockets[0].close()
        await wait_for(lambda: server.handshakes == 2 and server.open_sockets == 1)
        await wait_for(lambda: events.opens == 2)
        assert events.states == [True, False, True]
        await server.sockets[1].send_str(PLAYING)
        await wait_for(lambda: len(events.reports) == 1)
    finally:
        await listener.stop()


@pytest.mark.parametrize("status", [401, 503])
async def test_backoff_when_the_server_refuses(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
    status: int,
) -> None:
    """Each refusal doubles the wait, up to the cap; the loss is reported once."""
    server: FakeServer = await serve()
    server.refuse_status = status
    server.plan = ["refuse"] * 1000
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url),
        **events.callbacks(),
    )
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    monkeypatch.setattr(listener, "_wait", record)
    listener.start()
    try:
        await wait_for(lambda: len(delays) >= 6)
    finally:
        await listener.stop()
    assert delays[:6] == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.08, 0.08])
    assert server.handshakes >= 6
    assert events.states == [False]
    assert events.opens == 0


@pytest.mark.parametrize(
    ("stable_after", "expected"),
    [(0.0, [0.01, 0.02, 0.04, 0.01, 0.02]), (3600.0, [0.01, 0.02, 0.04, 0.08, 0.08])],
    ids=["good-connection-resets", "short-connection-does-not"],
)
async def test_backoff_resets_after_a_good_connection(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
    stable_after: float,
    expected: list[float],
) -> None:
    """A connection that stayed up long enough starts the doubling again."""
    monkeypatch.setattr(NotificationListener, "stable_after", stable_after)
    server: FakeServer = await serve()
    server.plan = ["refuse", "refuse", "refuse", "close"] + ["refuse"] * 1000
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url),
        **events.callbacks(),
    )
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    monkeypatch.setattr(listener, "_wait", record)
    listener.start()
    try:
        await wait_for(lambda: len(delays) >= 5)
    finally:
        await listener.stop()
    assert delays[:5] == pytest.approx(expected)
    assert events.states[:3] == [False, True, False]


async def test_stop_closes_the_socket_and_leaves_no_task(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """stop() closes the socket, ends the task, and reports nothing."""
    server: FakeServer = await serve()
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url),
        **events.callbacks(),
    )
    await listener.stop()
    listener.start()
    await wait_for(lambda: server.open_sockets == 1 and events.states == [True])
    assert listener_tasks()
    await listener.stop()
    assert listener_tasks() == []
    assert not listener.running
    assert not listener.connected
    await wait_for(lambda: server.open_sockets == 0)
    assert server.handshakes == 1
    assert events.states == [True]
    await listener.stop()


async def test_stop_during_backoff(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stop() ends a long wait at once; no attempt follows."""
    monkeypatch.setattr(NotificationListener, "initial_backoff", 3600.0)
    monkeypatch.setattr(NotificationListener, "max_backoff", 3600.0)
    server: FakeServer = await serve()
    server.plan = ["refuse"]
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url),
        **events.callbacks(),
    )
    listener.start()
    await wait_for(lambda: events.states == [False])
    async with asyncio.timeout(2):
        await listener.stop()
    assert listener_tasks() == []
    assert server.handshakes == 1


async def test_stop_during_a_stalled_handshake(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """stop() does not wait for a handshake that never ends."""
    server: FakeServer = await serve()
    server.plan = ["stall"]
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url),
        **events.callbacks(),
    )
    listener.start()
    await wait_for(lambda: server.handshakes == 1)
    async with asyncio.timeout(2):
        await listener.stop()
    assert listener_tasks() == []
    assert events.states == []
    assert events.opens == 0


async def test_one_socket_at_a_time(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """Starting twice and many reconnections never open a second socket."""
    server: FakeServer = await serve()
    server.plan = ["close"] * 5
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url), **events.callbacks()
    )
    listener.start()
    listener.start()
    try:
        await wait_for(
            lambda: server.handshakes == 6
            and server.open_sockets == 1
            and events.opens == 6
        )
        assert len(listener_tasks()) == 1
        assert server.max_open_sockets == 1
    finally:
        await listener.stop()


async def test_listener_falls_back_to_a_working_connection(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """The socket opens through the first connection that answers, which is remembered."""
    server: FakeServer = await serve()
    client = make_client(session, closed_port_url(), server.url)
    events = Events()
    listener = NotificationListener(client, **events.callbacks())
    listener.start()
    try:
        await wait_for(lambda: server.open_sockets == 1 and events.states != [])
        assert client.connection == server.url
        assert events.states == [True]
    finally:
        await listener.stop()


async def test_websocket_redirect_is_not_followed(
    session: aiohttp.ClientSession, serve: Callable[..., Awaitable[Any]]
) -> None:
    """A redirected handshake is an error; the place it points to sees no token."""
    server: FakeServer = await serve()
    elsewhere: FakeServer = await serve()
    server.overrides[NOTIFICATIONS_PATH] = lambda request: _answer(
        307, b"", {"Location": f"{elsewhere.url}{NOTIFICATIONS_PATH}"}
    )
    client = make_client(session, server.url)
    with pytest.raises(PlexServerResponseError) as caught:
        async with client.websocket(NOTIFICATIONS_PATH, max_msg_size=1024):
            pass
    assert caught.value.status == 307
    assert_clean(caught.value)
    assert elsewhere.seen == []


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, PlexServerAuthenticationError), (500, PlexServerServerError)],
)
async def test_websocket_refusals_are_typed(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
    status: int,
    error: type[PlexServerError],
) -> None:
    """A refused handshake raises the same typed errors as requests."""
    server: FakeServer = await serve()
    server.refuse_status = status
    server.plan = ["refuse"]
    client = make_client(session, server.url)
    with pytest.raises(error) as caught:
        async with client.websocket(NOTIFICATIONS_PATH, max_msg_size=1024):
            pass
    assert_clean(caught.value)


async def test_oversized_message_closes_the_socket(
    session: aiohttp.ClientSession,
    serve: Callable[..., Awaitable[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message over the cap closes the socket (1009) and a new one opens."""
    monkeypatch.setattr(NotificationListener, "max_message_bytes", 1024)
    server: FakeServer = await serve()
    events = Events()
    listener = NotificationListener(
        make_client(session, server.url), **events.callbacks()
    )
    listener.start()
    try:
        await wait_for(lambda: server.open_sockets == 1 and events.opens == 1)
        big = json.loads(PLAYING)
        big["NotificationContainer"]["padding"] = "x" * 4096
        await server.sockets[0].send_str(json.dumps(big))
        await wait_for(lambda: server.handshakes == 2 and server.open_sockets == 1)
        assert server.close_codes == [aiohttp.WSCloseCode.MESSAGE_TOO_BIG]
        await server.flush(server.sockets[1])
        assert (events.opens, events.reports) == (2, [])
    finally:
        await listener.stop()


async def test_closed_session_is_a_connection_error(
    serve: Callable[..., Awaitable[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """A listener on a closed session keeps retrying quietly instead of crashing."""
    server: FakeServer = await serve()
    closed = aiohttp.ClientSession()
    await closed.close()
    events = Events()
    listener = NotificationListener(
        make_client(closed, server.url),
        **events.callbacks(),
    )
    caplog.set_level(logging.DEBUG)
    listener.start()
    try:
        await wait_for(lambda: caplog.text.count("Notifications unavailable") >= 2)
    finally:
        await listener.stop()
    assert events.states == [False]
    assert "Unexpected error" not in caplog.text
    assert server.seen == []
