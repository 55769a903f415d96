"""A local stand-in for one Plex Media Server, served over real HTTP on loopback.

It answers like a Plex Media Server as described in shared/plex-media-server.md:
`/identity`, `/status/sessions` (shaped like Home Assistant core's plex test
fixture session_base.xml, in Plex's JSON form), `/status/sessions/terminate` and
the notification websocket `/:/websockets/notifications`; its players
(`/clients`), the commands it passes on to them (`/player/playback/*`) and
artwork (`/library/metadata/<id>/thumb/<ts>`, `/photo/:/transcode`). Tests
(and the demo page at `/demo`) start, pause, resume and stop sessions; every change is sent to
the open websockets. Like a real server with a Plex Pass owner, it posts
multipart webhook events to the URLs of the plex.tv accounts that can reach it,
but only to loopback addresses.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from dataclasses import dataclass, field
import functools
import hashlib
import html
import io
import ipaddress
import itertools
import json
import re
import secrets
import time
from typing import Any, Literal
from urllib.parse import urlsplit
import zlib

import aiohttp
from aiohttp import web
from PIL import Image, ImageDraw

from . import (
    LOOPBACK,
    FaultInjectingStandIn,
    PlexTvStandIn,
    StandInAccount,
    StandInServer,
    _close,
    _param,
)

ENDPOINTS = (
    "identity",
    "sessions",
    "terminate",
    "websocket",
    "demo",
    "demo_action",
    "clients",
    "player_command",
    "image",
    "photo_transcode",
)

# A 16x24 JPEG poster (312 bytes), made once with Pillow; sent as the `thumb` part.
THUMB_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+"
    "MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09P"
    "T09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAYABADASIAAhEBAxEB/8QAFwAAAwEAAAAAAAAA"
    "AAAAAAAAAAIDBf/EABYQAQEBAAAAAAAAAAAAAAAAAAABAv/EABUBAQEAAAAAAAAAAAAAAAAAAAQF/8QAGBEA"
    "AgMAAAAAAAAAAAAAAAAAAAECAwT/2gAMAwEAAhEDEQA/ANG7Jdo3ZLtAzwK10CV2S7AIzoTckf/Z"
)

# Events a real server sends with a poster (shared/plex-media-server.md).
THUMB_EVENTS = frozenset(
    {"media.play", "media.rate", "library.new", "library.on.deck", "playback.started"}
)

MediaType = Literal["movie", "episode", "track"]
State = Literal["playing", "paused", "buffering", "stopped"]

# What each media type looks like: library, titles, media streams.
_LIBRARIES: dict[str, dict[str, Any]] = {
    "movie": {
        "section_id": 1,
        "section_title": "Movies",
        "section_type": "movie",
        "title": "A Film",
        "duration": 5_400_000,
        "media": {
            "videoResolution": "1080",
            "videoCodec": "h264",
            "audioCodec": "aac",
            "bitrate": 8000,
        },
    },
    "episode": {
        "section_id": 2,
        "section_title": "TV Shows",
        "section_type": "show",
        "title": "Pilot",
        "grandparent_title": "A Show",
        "parent_title": "Season 1",
        "duration": 2_700_000,
        "media": {
            "videoResolution": "720",
            "videoCodec": "hevc",
            "audioCodec": "eac3",
            "bitrate": 4000,
        },
    },
    "track": {
        "section_id": 3,
        "section_title": "Music",
        "section_type": "artist",
        "title": "A Song",
        "grandparent_title": "An Artist",
        "parent_title": "An Album",
        "duration": 240_000,
        "media": {"audioCodec": "flac", "bitrate": 1000},
    },
}

_PLAYERS: dict[str, dict[str, Any]] = {
    "Living room TV": {"product": "Plex for Android (TV)", "platform": "Android"},
    "Phone": {"product": "Plex for iOS", "platform": "iOS"},
}

_rating_keys = itertools.count(1001)

# -- Players, their commands and artwork ----------------------------------------

PLAYBACK_CAPABILITIES = "timeline,playback,navigation,playqueues"
# What a player's play queue holds, per media type: skipNext/skipPrevious move along it.
_QUEUES: dict[str, tuple[str, ...]] = {
    "movie": ("A Film", "Another Film", "A Third Film"),
    "episode": ("Pilot", "The Second Episode", "The Third Episode"),
    "track": ("A Song", "Another Song", "A Third Song"),
}
# Full-size artwork: a 2:3 poster (thumb) and a 16:9 background (art).
_IMAGE_SIZES = {"thumb": (600, 900), "art": (1280, 720)}
_IMAGE_PATH = re.compile(r"/library/metadata/([0-9]{1,12})/(thumb|art)/([0-9]{1,12})")
MAX_TRANSCODE_SIDE = 2048
_PLAYBACK_COMMANDS = frozenset(
    {
        "play",
        "pause",
        "stop",
        "seekTo",
        "stepForward",
        "stepBack",
        "skipNext",
        "skipPrevious",
        "setParameters",
    }
)
# How far stepForward and stepBack move, in milliseconds.
_STEPS = {"stepForward": 30_000, "stepBack": -15_000}


@dataclass(kw_only=True)
class StandInPlayer:
    """One player the server knows: `/clients` lists it, its sessions name it.

    capabilities is what `protocolCapabilities` says; a player without
    `playback` refuses playback commands (HTTP 400 from the server). A silent
    player never answers a command (until the stand-in stops). Unlisted players
    play but are missing from `/clients`, as a phone outside the LAN is.
    """

    name: str
    machine_identifier: str
    product: str = "Plex for Android (TV)"
    platform: str = "Android"
    platform_version: str = "14"
    device: str = "SHIELD Android TV"
    model: str = "mdarcy"
    version: str = "10.24.0.2139"
    capabilities: str = PLAYBACK_CAPABILITIES
    listed: bool = True
    silent: bool = False
    volume: int = 100

    @property
    def controllable(self) -> bool:
        """Tell whether the player takes playback commands."""
        return "playback" in self.capabilities.split(",")

    def to_json(self) -> dict[str, Any]:
        """Return the player as `/clients`' `Server` entries do (addresses on loopback)."""
        return {
            "name": self.name,
            # Data only, never connected to: a loopback-style address.
            "host": "127.0.0.11",
            "address": "127.0.0.11",
            "port": 32500,
            "machineIdentifier": self.machine_identifier,
            "version": self.version,
            "protocol": "plex",
            "product": self.product,
            "platform": self.platform,
            "platformVersion": self.platform_version,
            "device": self.device,
            "model": self.model,
            "deviceClass": "stb",
            "protocolVersion": "1",
            "protocolCapabilities": self.capabilities,
        }


@dataclass(kw_only=True)
class PlayerCommand:
    """One command the server received for a player, and what it answered (None: not yet)."""

    target: str
    command: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int | None = None


@dataclass(kw_only=True)
class StandInItem:
    """One film, episode or track in the server's library."""

    type: MediaType = "movie"
    title: str = ""
    rating_key: str = field(default_factory=lambda: str(next(_rating_keys)))
    grandparent_title: str | None = None
    parent_title: str | None = None
    index: int | None = None
    parent_index: int | None = None
    year: int = 2008
    duration: int = 0
    added_at: int = 1_700_000_000
    updated_at: int = 1_700_000_500

    def __post_init__(self) -> None:
        """Fill what was left out from the media type's defaults."""
        library = _LIBRARIES[self.type]
        self.title = self.title or library["title"]
        self.duration = self.duration or library["duration"]
        if self.type != "movie":
            self.grandparent_title = (
                self.grandparent_title or library["grandparent_title"]
            )
            self.parent_title = self.parent_title or library["parent_title"]
            self.index = self.index or 1
            self.parent_index = self.parent_index or 1


@dataclass(kw_only=True)
class StandInSession:
    """One playback on the server, as `/status/sessions` lists it."""

    id: str
    session_key: str
    item: StandInItem
    user_id: int
    user_title: str
    user_thumb: str
    player_title: str
    player_identifier: str
    player_product: str | None = None
    player_platform: str | None = None
    transcode: bool = False
    transcode_session: bool = True
    location: Literal["lan", "wan"] = "lan"
    bandwidth: int = 8000
    state: State = "playing"
    offset: int = 0
    playing_since: float = field(default_factory=time.monotonic)

    @property
    def view_offset(self) -> int:
        """Return where playback is now, in milliseconds."""
        if self.state != "playing":
            return self.offset
        elapsed = round((time.monotonic() - self.playing_since) * 1000)
        return min(self.offset + elapsed, self.item.duration)

    def set_state(self, state: State) -> None:
        """Move to a new state, keeping the position."""
        self.offset = self.view_offset
        self.playing_since = time.monotonic()
        self.state = state


@dataclass(kw_only=True)
class WebSocketConnection:
    """One notification websocket the stand-in accepted."""

    client_identifier: str
    token_source: Literal["header", "query", "both"]
    query: dict[str, str]
    opened_at: float
    closed_at: float | None = None
    close_code: int | None = None  # the client's close frame; None: the TCP just ended
    pong: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def open(self) -> bool:
        """Tell whether the socket is still open."""
        return self.closed_at is None


@dataclass(frozen=True, kw_only=True)
class WebhookDelivery:
    """One webhook post the stand-in made."""

    url: str
    event: str
    account: str
    payload: dict[str, Any]
    status: int


def item_metadata(item: StandInItem) -> dict[str, Any]:
    """Return an item's `Metadata` the way webhook payloads carry it."""
    library = _LIBRARIES[item.type]
    metadata: dict[str, Any] = {
        "librarySectionType": library["section_type"],
        "ratingKey": item.rating_key,
        "key": f"/library/metadata/{item.rating_key}",
        "guid": f"plex://{item.type}/{item.rating_key:0>24}",
        "librarySectionID": library["section_id"],
        "librarySectionTitle": library["section_title"],
        "type": item.type,
        "title": item.title,
        "year": item.year,
        "thumb": f"/library/metadata/{item.rating_key}/thumb/{item.updated_at}",
        "addedAt": item.added_at,
        "updatedAt": item.updated_at,
    }
    if item.type != "movie":
        metadata |= {
            "grandparentTitle": item.grandparent_title,
            "parentTitle": item.parent_title,
            "index": item.index,
            "parentIndex": item.parent_index,
        }
    return metadata


def session_metadata(session: StandInSession) -> dict[str, Any]:
    """Return one entry of `/status/sessions`' `Metadata`, as Plex's JSON has it.

    The shape follows Home Assistant core's plex fixture session_base.xml:
    attributes become keys, User/Player/Session/TranscodeSession objects and
    Media a list; TranscodeSession only while transcoding (and not even then
    for a session started without transcode_session). Each stream of the part
    carries its decision, as Tautulli reads them.
    """
    item = session.item
    library = _LIBRARIES[item.type]
    player = _PLAYERS.get(session.player_title, _PLAYERS["Living room TV"])
    local = session.location == "lan"
    media = dict(library["media"])
    decision = "transcode" if session.transcode else "directplay"
    streams = [
        {
            "id": int(item.rating_key) + 30_000 + stream_type,
            "streamType": stream_type,
            "codec": media[codec],
            "selected": True,
            "decision": decision,
        }
        for stream_type, codec in ((1, "videoCodec"), (2, "audioCodec"))
        if codec in media
    ]
    media |= {
        "id": int(item.rating_key) + 10_000,
        "duration": item.duration,
        "container": "mkv" if item.type != "track" else "flac",
        "Part": [
            {
                "id": int(item.rating_key) + 20_000,
                "duration": item.duration,
                "decision": decision,
                "Stream": streams,
            }
        ],
    }
    metadata = (
        item_metadata(item)
        | _artwork(item)
        | {
            "duration": item.duration,
            "viewOffset": session.view_offset,
            "sessionKey": session.session_key,
            "User": {
                "id": str(session.user_id),
                "title": session.user_title,
                "thumb": session.user_thumb,
            },
            "Player": {
                "title": session.player_title,
                "product": session.player_product or player["product"],
                "platform": session.player_platform or player["platform"],
                "state": session.state,
                "local": local,
                # Data only, never connected to: loopback-style addresses.
                "address": "127.0.0.11" if local else "127.0.0.12",
                "remotePublicAddress": LOOPBACK,
                "machineIdentifier": session.player_identifier,
            },
            "Session": {
                "id": session.id,
                "bandwidth": session.bandwidth,
                "location": session.location,
            },
            "Media": [media],
        }
    )
    if session.transcode and session.transcode_session:
        metadata["TranscodeSession"] = {
            "key": f"/transcode/sessions/{session.id}",
            "throttled": False,
            "complete": False,
            "progress": 12.5,
            "speed": 1.8,
            "duration": item.duration,
            "context": "streaming",
            "videoDecision": "transcode" if item.type != "track" else None,
            "audioDecision": "transcode",
            "protocol": "dash",
            "container": "mp4",
            "transcodeHwRequested": True,
        }
    return metadata


def webhook_payload(
    event: str,
    *,
    metadata: dict[str, Any] | None,
    server: StandInServer,
    account: dict[str, Any],
    user: bool,
    owner: bool,
    player: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a webhook `payload` shaped like Plex's published sample.

    account is the Account object (the person who acted: id, thumb, title);
    user tells whether that is the receiving account, owner whether the
    receiving account owns the server.
    """
    payload: dict[str, Any] = {
        "event": event,
        "user": user,
        "owner": owner,
        "Account": account,
        "Server": {"title": server.name, "uuid": server.machine_identifier},
    }
    if player is not None:
        payload["Player"] = player
    if metadata is not None:
        payload["Metadata"] = metadata
    return payload


def is_loopback_url(url: str) -> bool:
    """Tell whether a URL names a literal 127.0.0.0/8 address (names never count)."""
    try:
        host = urlsplit(url).hostname
        return host is not None and ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


class PlexMediaServerStandIn(FaultInjectingStandIn):
    """One Plex Media Server, bound to a server and the accounts of a plex.tv stand-in."""

    ENDPOINTS = ENDPOINTS

    def __init__(
        self,
        plex_tv: PlexTvStandIn,
        server: StandInServer | None = None,
        *,
        owner: StandInAccount | None = None,
        refuse_activity: bool = False,
        auto_webhooks: bool = False,
    ) -> None:
        """Play server (default: the demo account's first) for plex_tv's accounts.

        owner is the account that owns the server (default: the first account
        listing it, when the server is owned). With refuse_activity, the token of
        a server the account does not own gets 403 from the sessions and the
        websocket. With auto_webhooks, starting, pausing, resuming and stopping a
        session also posts media.play/pause/resume/stop, as a real server does.
        """
        super().__init__()
        self.plex_tv = plex_tv
        self.server = server or plex_tv.demo_account.servers[0]
        self.owner = owner or next(
            (
                account
                for account in plex_tv.accounts
                if self.server.owned and any(s is self.server for s in account.servers)
            ),
            None,
        )
        self.refuse_activity = refuse_activity
        self.auto_webhooks = auto_webhooks
        self.refuse_websockets = False
        self.webhook_timeout = 5.0
        self.sessions: dict[str, StandInSession] = {}
        self.terminated: dict[str, str] = {}
        self.websockets: list[WebSocketConnection] = []
        self.deliveries: list[WebhookDelivery] = []
        self.notifications: list[dict[str, Any]] = []
        self.timeline_task: asyncio.Task[None] | None = None
        self.timeline_reports = 0
        self._silent: list[web.Request] = []
        self._sockets: dict[
            int, tuple[WebSocketConnection, web.WebSocketResponse, web.Request]
        ] = {}
        self._peak: Counter[str] = Counter()
        self._session_keys = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.last_message = ""
        # Players: /clients, commands passed on to them, artwork.
        self.players: dict[str, StandInPlayer] = {}
        self.commands: list[PlayerCommand] = []
        self._command_release = asyncio.Event()
        self._queue_positions: dict[str, int] = {}
        self.add_player("Living room TV")
        self.add_player(
            "Phone",
            capabilities="timeline",
            platform_version="18.1",
            device="iPhone",
            model="iPhone15,2",
            version="2024.30.0",
        )

    # -- Who can reach the server ---------------------------------------------

    def accounts(self) -> list[StandInAccount]:
        """Return the plex.tv accounts whose resources list this server."""
        return [
            account
            for account in self.plex_tv.accounts
            if any(s is self.server for s in account.servers)
        ]

    # -- Sessions ---------------------------------------------------------------

    async def start_session(
        self,
        *,
        user: str = "Demo Person",
        player: str = "Living room TV",
        title: str = "",
        media_type: MediaType = "movie",
        transcode: bool = False,
        location: Literal["lan", "wan"] = "lan",
        bandwidth: int | None = None,
        duration: int = 0,
        transcode_session: bool = True,
    ) -> str:
        """Start playing something; return the session id (`Session.id`).

        duration (ms) replaces the media type's; without transcode_session a
        transcoded session says so only in its streams' decisions, as some
        servers' sessions do.
        """
        account = next((a for a in self.plex_tv.accounts if a.title == user), None)
        known = self.player_named(player)
        session = StandInSession(
            id=secrets.token_hex(12),
            session_key=str(next(self._session_keys)),
            item=StandInItem(type=media_type, title=title, duration=duration),
            user_id=account.id
            if account
            else 50_000 + zlib.crc32(user.encode()) % 10_000,
            user_title=user,
            user_thumb=f"https://plex.tv/users/{account.uuid if account else 'guest'}/avatar",
            player_title=player,
            player_identifier=known.machine_identifier,
            player_product=known.product,
            player_platform=known.platform,
            transcode=transcode,
            transcode_session=transcode_session,
            location=location,
            bandwidth=bandwidth
            if bandwidth is not None
            else _LIBRARIES[media_type]["media"]["bitrate"],
        )
        self.sessions[session.id] = session
        await self._changed(session, "media.play")
        return session.id

    async def pause(self, session_id: str) -> None:
        """Pause a session."""
        session = self.sessions[session_id]
        session.set_state("paused")
        await self._changed(session, "media.pause")

    async def resume(self, session_id: str) -> None:
        """Resume a paused session."""
        session = self.sessions[session_id]
        session.set_state("playing")
        await self._changed(session, "media.resume")

    async def stop_session(self, session_id: str) -> None:
        """End a session, as the player stopping does (stop() stops the server)."""
        session = self.sessions.pop(session_id)
        session.set_state("stopped")
        await self._changed(session, "media.stop")

    async def _changed(self, session: StandInSession, event: str) -> None:
        """Tell the websockets (and, with auto_webhooks, the webhooks) about a change."""
        await self.send_notification("playing", [_playing_entry(session)])
        if self.auto_webhooks:
            await self.post_event(event, session=session)

    async def seek(self, session_id: str, offset: int) -> None:
        """Jump to offset (ms) in a session, as a player does; its next timeline tells."""
        session = self.sessions[session_id]
        session.offset = max(0, min(offset, session.item.duration))
        session.playing_since = time.monotonic()
        await self.send_notification("playing", [_playing_entry(session)])

    def start_timelines(self, every: float, *, limit: int | None = None) -> None:
        """Send a `playing` notification per session every `every` seconds, as players report.

        Each carries the session's position, state and media as they are, so
        with nothing changing it tells nothing new; players send them while
        they play (every 10 s for some, every second for chatty ones). limit
        ends the reports after that many rounds; stop_timelines() ends them
        at once.
        """
        self.stop_timelines()
        self.timeline_task = asyncio.get_running_loop().create_task(
            self._report_timelines(every, limit)
        )

    def stop_timelines(self) -> None:
        """Stop the timeline reports."""
        if self.timeline_task is not None:
            self.timeline_task.cancel()
            self.timeline_task = None

    async def _report_timelines(self, every: float, limit: int | None) -> None:
        """Report every session's timeline on a steady beat, counting the rounds."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for tick in itertools.count(1):
            await asyncio.sleep(max(0.0, start + tick * every - loop.time()))
            for session in list(self.sessions.values()):
                await self.send_notification("playing", [_playing_entry(session)])
            self.timeline_reports += 1
            if limit is not None and tick >= limit:
                return

    # -- Websockets -------------------------------------------------------------

    async def send_notification(
        self, kind: str, items: list[dict[str, Any]] | None = None
    ) -> int:
        """Send one NotificationContainer of a type to every open socket; return how many got it.

        playing carries PlaySessionStateNotification; activity, timeline, status
        and progress carry ActivityNotification, TimelineEntry,
        StatusNotification and ProgressNotification (items, or one example).
        """
        key = {
            "playing": "PlaySessionStateNotification",
            "activity": "ActivityNotification",
            "timeline": "TimelineEntry",
            "status": "StatusNotification",
            "progress": "ProgressNotification",
        }.get(kind, "Notification")
        if items is None:
            items = [_example_notification(kind)]
        message = {
            "NotificationContainer": {"type": kind, "size": len(items), key: items}
        }
        self.notifications.append(message)
        text = json.dumps(message)
        sent = 0
        for _, socket, _ in list(self._sockets.values()):
            try:
                await socket.send_str(text)
            except ConnectionError:
                continue
            sent += 1
        return sent

    @property
    def open_websockets(self) -> int:
        """Return how many notification websockets are open now."""
        return len(self._sockets)

    def peak_websockets(self, client_identifier: str | None = None) -> int:
        """Return the most sockets ever open at once (for one client, or of any client)."""
        if client_identifier is not None:
            return self._peak[client_identifier]
        return max(self._peak.values(), default=0)

    async def drop_websockets(self, *, graceful: bool = False) -> int:
        """Close every open socket mid-stream; return how many were open.

        By default the TCP connection is cut with no close frame, as a network
        drop or a server restart does; graceful sends a close frame (1001) first.
        """
        dropped = list(self._sockets.values())
        self._sockets.clear()
        for connection, socket, request in dropped:
            connection.closed_at = time.monotonic()
            if graceful:
                await socket.close(code=aiohttp.WSCloseCode.GOING_AWAY)
            else:
                _close(request)
        for request in self._silent:
            _close(request)
        self._silent.clear()
        return len(dropped)

    async def flush_websockets(self) -> None:
        """Return once the client of every open socket has read all that was sent before.

        The client answers a ping only after it read the messages sent before
        it (aiohttp answers pings as it reads, in order). A client that reads
        nothing for FLUSH_DEADLINE seconds is a TimeoutError.
        """
        async with asyncio.timeout(FLUSH_DEADLINE):
            for connection, socket, _ in list(self._sockets.values()):
                connection.pong.clear()
                await socket.ping()
                await connection.pong.wait()

    def go_silent(self) -> int:
        """Fall silent on every open socket, as a hung server or a dead route does.

        The TCP connections stay open, but the server reads nothing from them
        any more (so it answers no ping) and sends nothing on them; the sockets
        no longer count as open. New sockets work as before. Return how many
        fell silent; drop_websockets() and stop() cut them.
        """
        silent = list(self._sockets.values())
        self._sockets.clear()
        for connection, _, request in silent:
            connection.closed_at = time.monotonic()
            if request.transport is not None:
                request.transport.pause_reading()
            self._silent.append(request)
        return len(silent)

    # -- Webhooks ---------------------------------------------------------------

    async def post_event(
        self,
        event: str,
        *,
        session: str | StandInSession | None = None,
        metadata: dict[str, Any] | None = None,
        thumb: bytes | None = None,
    ) -> list[int]:
        """Post an event to every webhook URL of the accounts that can reach the server.

        Like a real server: multipart/form-data with a JSON `payload` part and,
        for the events that have one, a JPEG `thumb` part. The metadata is the
        session's item, else the metadata given, else a new film. Return the
        HTTP status of each post in order (0 when the connection failed). Raise
        ValueError, before posting anything, if any URL is not on loopback.
        """
        if isinstance(session, str):
            session = self.sessions[session]
        targets = [
            (account, url) for account in self.accounts() for url in account.webhooks
        ]
        foreign = [url for _, url in targets if not is_loopback_url(url)]
        if foreign:
            raise ValueError(f"Refusing to post to non-loopback URLs: {foreign}")
        if session is not None:
            metadata = item_metadata(session.item)
            actor = next(
                (a for a in self.plex_tv.accounts if a.id == session.user_id), None
            )
            account_json = {
                "id": session.user_id,
                "thumb": session.user_thumb,
                "title": session.user_title,
            }
            player: dict[str, Any] | None = {
                "local": session.location == "lan",
                "publicAddress": LOOPBACK,
                "title": session.player_title,
                "uuid": session.player_identifier,
            }
        else:
            metadata = metadata or item_metadata(StandInItem())
            actor = self.owner
            account_json = _account_json(self.owner)
            player = None
        statuses: list[int] = []
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)
        ) as client:
            for account, url in targets:
                payload = webhook_payload(
                    event,
                    metadata=metadata,
                    server=self.server,
                    account=account_json,
                    user=actor is account,
                    owner=account is self.owner,
                    player=player,
                )
                form = aiohttp.FormData()
                form.add_field(
                    "payload", json.dumps(payload), content_type="application/json"
                )
                if event in THUMB_EVENTS:
                    form.add_field(
                        "thumb",
                        thumb or THUMB_JPEG,
                        filename="thumb.jpg",
                        content_type="image/jpeg",
                    )
                try:
                    async with client.post(url, data=form) as response:
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                statuses.append(status)
                self.deliveries.append(
                    WebhookDelivery(
                        url=url,
                        event=event,
                        account=account.username,
                        payload=payload,
                        status=status,
                    )
                )
        return statuses

    # -- Players, their commands and artwork -----------------------------------

    def add_player(
        self,
        name: str,
        *,
        capabilities: str = PLAYBACK_CAPABILITIES,
        listed: bool = True,
        machine_identifier: str | None = None,
        **details: str,
    ) -> StandInPlayer:
        """Add a player (product, platform, device, model, version in details).

        Its machine identifier is stable: derived from the server and the name.
        """
        known = _PLAYERS.get(name, {})
        player = StandInPlayer(
            name=name,
            machine_identifier=machine_identifier
            or hashlib.sha256(
                f"{self.server.machine_identifier}/{name}".encode()
            ).hexdigest()[:24],
            capabilities=capabilities,
            listed=listed,
            **{key: value for key, value in known.items() if key not in details},
            **details,
        )
        self.players[player.machine_identifier] = player
        return player

    def player_named(self, name: str) -> StandInPlayer:
        """Return the player called name; a new name is an unlisted player without controls."""
        for player in self.players.values():
            if player.name == name:
                return player
        return self.add_player(name, capabilities="timeline", listed=False)

    def player_session(self, machine_identifier: str) -> StandInSession | None:
        """Return what a player plays now (its latest session), if anything."""
        return next(
            (
                session
                for session in reversed(self.sessions.values())
                if session.player_identifier == machine_identifier
            ),
            None,
        )

    @property
    def image_requests(self) -> int:
        """Return how many artwork requests (full size or resized) the server received."""
        return self.count("image") + self.count("photo_transcode")

    async def _clients(self, request: web.Request) -> web.Response:
        """GET /clients: the players connected to the server."""
        refusal = self._activity_refusal(request)
        if refusal is not None:
            return refusal
        listed = [player.to_json() for player in self.players.values() if player.listed]
        container: dict[str, Any] = {"size": len(listed)}
        if listed:
            container["Server"] = listed
        return _answer(request, container)

    async def _player_command(self, request: web.Request) -> web.Response:
        """GET /player/{group}/{command}: pass a command on to the target player."""
        command = PlayerCommand(
            target=request.headers.get("X-Plex-Target-Client-Identifier", ""),
            command=f"{request.match_info['group']}/{request.match_info['command']}",
            query=dict(request.query),
            headers=dict(request.headers),
        )
        self.commands.append(command)
        response = await self._pass_on(request, command)
        command.status = response.status
        return response

    async def _pass_on(
        self, request: web.Request, command: PlayerCommand
    ) -> web.Response:
        """Answer a command as the player would: apply it to its session, or refuse it."""
        if _param(request, "X-Plex-Token") != self.server.access_token:
            return _plain(401, "Unauthorized")
        player = self.players.get(command.target)
        if player is None:
            return _plain(404, "Not Found")
        if player.silent:
            await self._command_release.wait()
            return _plain(408, "Request Timeout")
        group, name = command.command.split("/")
        if group not in player.capabilities.split(","):
            return _plain(400, "Bad Request")
        if group == "playback" and not await self._playback(
            player, name, request.query
        ):
            return _plain(400, "Bad Request")
        return web.Response(
            text='<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Response code="200" status="OK"/>',
            content_type="text/xml",
        )

    async def _playback(self, player: StandInPlayer, name: str, query: Any) -> bool:
        """Apply a playback command to the player's session; False for one it does not know.

        Each command that reaches a session ends in a `playing` notification.
        """
        offset = _whole(query.get("offset"))
        if name not in _PLAYBACK_COMMANDS or (name == "seekTo" and offset is None):
            return False
        volume = _whole(query.get("volume"))
        if name == "setParameters" and volume is not None:
            player.volume = min(volume, 100)
        session = self.player_session(player.machine_identifier)
        if session is None:
            return True
        if name == "play" and session.state != "playing":
            await self.resume(session.id)
        elif name == "pause" and session.state == "playing":
            await self.pause(session.id)
        elif name == "stop":
            await self.stop_session(session.id)
        elif name in {"skipNext", "skipPrevious"}:
            await self._skip(session, 1 if name == "skipNext" else -1)
        elif name == "seekTo" and offset is not None:
            await self.seek(session.id, offset)
        elif name in _STEPS:
            await self.seek(session.id, session.view_offset + _STEPS[name])
        else:
            await self.send_notification("playing", [_playing_entry(session)])
        return True

    async def _skip(self, session: StandInSession, step: int) -> None:
        """Move a session along its player's queue and start the item there."""
        titles = _QUEUES[session.item.type]
        position = max(0, self._queue_positions.get(session.id, 0) + step)
        self._queue_positions[session.id] = position
        session.item = StandInItem(
            type=session.item.type,
            title=titles[position % len(titles)],
            index=position + 1 if session.item.type != "movie" else None,
        )
        session.offset = 0
        session.playing_since = time.monotonic()
        await self._changed(session, "media.play")

    async def _image(self, request: web.Request) -> web.Response:
        """GET /library/metadata/{id}/{thumb|art}/{stamp}: the artwork at full size."""
        if _param(request, "X-Plex-Token") != self.server.access_token:
            return _plain(401, "Unauthorized")
        width, height = _IMAGE_SIZES[request.match_info["kind"]]
        return web.Response(
            body=artwork_jpeg(width, height, int(request.match_info["id"])),
            content_type="image/jpeg",
        )

    async def _photo_transcode(self, request: web.Request) -> web.Response:
        """GET /photo/:/transcode: one of the server's images, scaled to cover width x height."""
        if _param(request, "X-Plex-Token") != self.server.access_token:
            return _plain(401, "Unauthorized")
        width = _whole(request.query.get("width"))
        height = _whole(request.query.get("height"))
        if not width or not height or max(width, height) > 4096:
            return _plain(400, "Bad Request")
        source = _IMAGE_PATH.fullmatch(request.query.get("url", ""))
        if source is None:
            return _plain(404, "Not Found")
        source_width, source_height = _IMAGE_SIZES[source.group(2)]
        scale = max(width / source_width, height / source_height)
        scale = min(scale, MAX_TRANSCODE_SIDE / max(source_width, source_height))
        return web.Response(
            body=artwork_jpeg(
                max(1, round(source_width * scale)),
                max(1, round(source_height * scale)),
                int(source.group(1)),
            ),
            content_type="image/jpeg",
        )

    # -- Serving ----------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Return the aiohttp application that plays the server."""
        app = web.Application(middlewares=[self._record_and_inject])
        app.router.add_get("/identity", self._identity, name="identity")
        app.router.add_get("/status/sessions", self._sessions, name="sessions")
        app.router.add_get(
            "/status/sessions/terminate", self._terminate, name="terminate"
        )
        app.router.add_get(
            "/:/websockets/notifications", self._websocket, name="websocket"
        )
        app.router.add_get("/clients", self._clients, name="clients")
        app.router.add_get(
            "/player/{group}/{command}", self._player_command, name="player_command"
        )
        app.router.add_get(
            r"/library/metadata/{id:[0-9]+}/{kind:thumb|art}/{stamp:[0-9]+}",
            self._image,
            name="image",
        )
        app.router.add_get(
            "/photo/:/transcode", self._photo_transcode, name="photo_transcode"
        )
        app.router.add_get("/demo", self._demo_page, name="demo")
        app.router.add_post("/demo/{action}", self._demo_action, name="demo_action")
        return app

    async def start(self, host: str = LOOPBACK, port: int = 0) -> str:
        """Serve on a loopback host:port (0 picks a free port); return the base URL.

        The bound server's uri becomes this URL, so plex.tv's resources offer it
        as the local connection.
        """
        if not ipaddress.IPv4Address(host).is_loopback:
            raise ValueError("The stand-in serves on 127.0.0.0/8 only")
        self._command_release.clear()
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        self.server.uri = self.base_url
        return self.base_url

    async def stop(self) -> None:
        """Stop serving, close every connection and take the URI off the resources."""
        self._command_release.set()
        self.stop_timelines()
        await self.drop_websockets()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.server.uri = None

    # -- Handlers ---------------------------------------------------------------

    async def _identity(self, request: web.Request) -> web.Response:
        """GET /identity: who the server is; needs no token."""
        return _answer(
            request,
            {
                "size": 0,
                "claimed": True,
                "machineIdentifier": self.server.machine_identifier,
                "version": self.server.version,
            },
        )

    def _activity_refusal(self, request: web.Request) -> web.Response | None:
        """Return 401 for a wrong token, 403 for a refused shared server, or None."""
        if _param(request, "X-Plex-Token") != self.server.access_token:
            return _plain(401, "Unauthorized")
        if self.refuse_activity and not self.server.owned:
            return _plain(403, "Forbidden")
        return None

    async def _sessions(self, request: web.Request) -> web.Response:
        """GET /status/sessions: what is playing now."""
        refusal = self._activity_refusal(request)
        if refusal is not None:
            return refusal
        metadata = [session_metadata(session) for session in self.sessions.values()]
        container: dict[str, Any] = {"size": len(metadata)}
        if metadata:
            container["Metadata"] = metadata
        return _answer(request, container)

    async def _terminate(self, request: web.Request) -> web.Response:
        """GET /status/sessions/terminate: end a session (owner's server only)."""
        if (
            _param(request, "X-Plex-Token") != self.server.access_token
            or not self.server.owned
        ):
            return _plain(401, "Unauthorized")
        session_id = request.query.get("sessionId", "")
        session = self.sessions.get(session_id)
        if session is None:
            return _plain(404, "Not Found")
        self.terminated[session_id] = request.query.get("reason", "")
        await self.stop_session(session_id)
        return web.Response(status=200)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        """GET /:/websockets/notifications: stream notifications to a client."""
        in_header = request.headers.get("X-Plex-Token")
        in_query = request.query.get("X-Plex-Token")
        refusal = self._activity_refusal(request)
        if refusal is not None:
            return refusal
        if self.refuse_websockets:
            return _plain(503, "Service Unavailable")
        socket = web.WebSocketResponse(autoping=False)
        await socket.prepare(request)
        client = _param(request, "X-Plex-Client-Identifier")
        connection = WebSocketConnection(
            client_identifier=client,
            token_source="both"
            if in_header and in_query
            else ("header" if in_header else "query"),
            query=dict(request.query),
            opened_at=time.monotonic(),
        )
        self.websockets.append(connection)
        self._sockets[id(socket)] = (connection, socket, request)
        open_for_client = sum(
            1
            for other, _, _ in self._sockets.values()
            if other.client_identifier == client
        )
        self._peak[client] = max(self._peak[client], open_for_client)
        try:
            # The server ignores what clients send, but answers pings and notes
            # pongs (see flush_websockets()) and a close frame.
            while (message := await socket.receive()).type not in _SOCKET_ENDS:
                if message.type is aiohttp.WSMsgType.PING:
                    await socket.pong(message.data)
                elif message.type is aiohttp.WSMsgType.PONG:
                    connection.pong.set()
            if message.type is aiohttp.WSMsgType.CLOSE:
                connection.close_code = message.data
        finally:
            if self._sockets.pop(id(socket), None) is not None:
                connection.closed_at = time.monotonic()
        return socket

    async def _demo_page(self, request: web.Request) -> web.Response:
        """GET /demo: buttons that drive the stand-in for a person trying the integration."""
        rows = "".join(
            f"<li>{html.escape(session.user_title)} on "
            f"{html.escape(session.player_title)}: {html.escape(session.item.title)} "
            f"({session.state}{', transcoding' if session.transcode else ''}, "
            f"{session.location})</li>"
            for session in self.sessions.values()
        )
        buttons = "".join(
            f'<form method="post" action="/demo/{action}">'
            f'<button id="{action}" type="submit">{label}</button></form>'
            for action, label in _DEMO_ACTIONS.items()
        )
        hooks = sum(len(account.webhooks) for account in self.accounts())
        return web.Response(
            content_type="text/html",
            text=(
                "<!doctype html><html><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.server.name)} - Plex Media Server stand-in</title>"
                "<style>body{font-family:sans-serif;background:#1f1f1f;color:#eee;"
                "max-width:32rem;margin:3rem auto;padding:0 1rem}form{display:inline}"
                "button{background:#e5a00d;border:0;padding:.6rem 1rem;margin:.2rem}"
                "</style></head><body>"
                f"<h1>{html.escape(self.server.name)}</h1>"
                f'<p id="message">{html.escape(self.last_message)}</p>{buttons}'
                f'<h2>Now playing</h2><ul id="sessions">{rows or "<li>Nothing</li>"}</ul>'
                f"<p>Webhooks registered at plex.tv for this server: {hooks}; "
                f"posts made: {len(self.deliveries)}.</p></body></html>"
            ),
        )

    async def _demo_action(self, request: web.Request) -> web.Response:
        """POST /demo/{action}: do what a button says, then show the page again."""
        action = request.match_info["action"]
        latest = next(reversed(self.sessions), None)
        if action == "play":
            await self.start_session()
            self.last_message = "Started a film."
        elif action == "transcode":
            await self.start_session(
                user="Sam",
                player="Phone",
                title="A Film From Outside",
                transcode=True,
                location="wan",
                bandwidth=3000,
            )
            self.last_message = "Started a transcoded film from outside."
        elif action in ("pause", "resume", "stop") and latest is not None:
            await {
                "pause": self.pause,
                "resume": self.resume,
                "stop": self.stop_session,
            }[action](latest)
            self.last_message = f"{action.capitalize()}: {self.server.name}."
        elif action == "library_new":
            statuses = await self.post_event("library.new")
            self.last_message = f"Posted library.new: {statuses or 'no webhooks'}."
        elif action in _DEMO_ACTIONS:
            self.last_message = "Nothing is playing."
        else:
            return _plain(404, "Not Found")
        raise web.HTTPSeeOther("/demo")


FLUSH_DEADLINE = 30.0
_SOCKET_ENDS = frozenset(
    {
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSING,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.ERROR,
    }
)
_DEMO_ACTIONS = {
    "play": "Play a film",
    "pause": "Pause",
    "resume": "Resume",
    "stop": "Stop",
    "transcode": "Transcode a film from outside",
    "library_new": "Add to library",
}


def _account_json(account: StandInAccount | None) -> dict[str, Any]:
    """Return a webhook payload's Account object for an account."""
    if account is None:
        return {"id": 0, "thumb": "", "title": ""}
    return {
        "id": account.id,
        "thumb": f"https://plex.tv/users/{account.uuid}/avatar",
        "title": account.title,
    }


def _example_notification(kind: str) -> dict[str, Any]:
    """Return one notification of a kind other than playing, as a server sends it."""
    if kind == "activity":
        return {
            "event": "updated",
            "uuid": "b5e1d5c8-0000-4000-8000-000000000001",
            "Activity": {
                "uuid": "b5e1d5c8-0000-4000-8000-000000000001",
                "type": "library.update.section",
                "cancellable": False,
                "userID": 1,
                "title": "Scanning Movies",
                "subtitle": "",
                "progress": 50,
            },
        }
    if kind == "timeline":
        return {
            "identifier": "com.plexapp.plugins.library",
            "sectionID": "1",
            "itemID": "1001",
            "type": 1,
            "title": "A Film",
            "state": 5,
            "updatedAt": 1_700_000_500,
        }
    return {"title": kind, "description": ""}


def _answer(request: web.Request, container: dict[str, Any]) -> web.Response:
    """Answer with a MediaContainer: JSON when asked for, else XML attributes."""
    if "json" in request.headers.get("Accept", ""):
        return web.json_response({"MediaContainer": container})
    attributes = " ".join(
        f'{key}="{html.escape(str(int(value) if isinstance(value, bool) else value))}"'
        for key, value in container.items()
        if not isinstance(value, list | dict)
    )
    return web.Response(
        text=f"<MediaContainer {attributes}/>", content_type="application/xml"
    )


def _plain(status: int, reason: str) -> web.Response:
    """Answer like Plex Media Server does on errors: a small HTML page."""
    return web.Response(
        status=status,
        text=f"<html><head><title>{reason}</title></head>"
        f"<body><h1>{status} {reason}</h1></body></html>",
        content_type="text/html",
    )


def _playing_entry(session: StandInSession) -> dict[str, Any]:
    """Return the PlaySessionStateNotification of a session as it is now."""
    return {
        "sessionKey": session.session_key,
        "clientIdentifier": session.player_identifier,
        "guid": "",
        "ratingKey": session.item.rating_key,
        "url": "",
        "key": f"/library/metadata/{session.item.rating_key}",
        "viewOffset": session.view_offset,
        "state": session.state,
    }


def _artwork(item: StandInItem) -> dict[str, Any]:
    """Return a session's artwork besides `thumb`: art, and its show's or album's."""
    artwork: dict[str, Any] = {
        "art": f"/library/metadata/{item.rating_key}/art/{item.updated_at}"
    }
    if item.type != "movie":
        parent = str(int(item.rating_key) + 100_000)
        grandparent = str(int(item.rating_key) + 200_000)
        artwork |= {
            "parentRatingKey": parent,
            "grandparentRatingKey": grandparent,
            "parentThumb": f"/library/metadata/{parent}/thumb/{item.updated_at}",
            "grandparentThumb": f"/library/metadata/{grandparent}/thumb/{item.updated_at}",
            "grandparentArt": f"/library/metadata/{grandparent}/art/{item.updated_at}",
        }
    return artwork


@functools.lru_cache(maxsize=32)
def artwork_jpeg(width: int, height: int, seed: int) -> bytes:
    """Return a JPEG of width x height: a band of colour on a dark ground, the colour from seed."""
    hue = zlib.crc32(str(seed).encode())
    colour = (64 + hue % 192, 64 + (hue >> 8) % 192, 64 + (hue >> 16) % 192)
    image = Image.new("RGB", (width, height), (24, 24, 24))
    ImageDraw.Draw(image).rectangle(
        (width // 8, height // 3, width - width // 8, height - height // 3), fill=colour
    )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _whole(value: str | None) -> int | None:
    """Return a query value as a whole number from 0, or None."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    return int(value)
