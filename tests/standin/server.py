"""A local stand-in for one Plex Media Server, served over real HTTP on loopback.

It answers like a Plex Media Server as described in shared/plex-media-server.md:
`/identity`, `/status/sessions` (shaped like Home Assistant core's plex test
fixture session_base.xml, in Plex's JSON form), `/status/sessions/terminate` and
the notification websocket `/:/websockets/notifications`; its players
(`/clients`), the commands it passes on to them (`/player/playback/*`) and
artwork (`/library/metadata/<id>/thumb/<ts>`, `/photo/:/transcode`); its
libraries (tests/standin/library.py: `/library/sections`, paged items with
`totalSize`, recently added, on deck, hubs, metadata and children) and play
queues (`/playQueues`, played with `/player/playback/playMedia`). Tests
(and the demo page at `/demo`) start, pause, resume and stop sessions and add
films; every change is sent to the open websockets. Like a real server with a Plex Pass owner, it posts
multipart webhook events to the URLs of the plex.tv accounts that can reach it,
but only to loopback addresses.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
import functools
import hashlib
import heapq
import html
import io
import ipaddress
import itertools
import json
import re
import secrets
import time
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
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
from .library import (
    LIBRARY_IDENTIFIER,
    SECTION_LEVELS,
    TYPE_NAMES,
    TYPE_NUMBERS,
    LibraryEntry,
    SectionType,
    StandInSection,
    default_library,
    entry_json,
    parse_sort,
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
    # Libraries and play queues.
    "sections",
    "section_items",
    "section_recently_added",
    "recently_added",
    "hub_recently_added",
    "on_deck",
    "continue_watching",
    "metadata",
    "children",
    "play_queues",
    "play_queue",
)
LIBRARY_ENDPOINTS = frozenset(ENDPOINTS[ENDPOINTS.index("sections") :])

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
        "playMedia",
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


@dataclass(kw_only=True)
class StandInPlayQueue:
    """A play queue made by `POST /playQueues`: the items a player plays in turn."""

    id: str
    type: str
    uri: str
    items: list[tuple[str, str]]  # (playQueueItemID, ratingKey)
    selected: str  # the playQueueItemID to start with
    query: dict[str, str]


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
        shared_sections: Collection[str] | None = None,
    ) -> None:
        """Play server (default: the demo account's first) for plex_tv's accounts.

        owner is the account that owns the server (default: the first account
        listing it, when the server is owned). With refuse_activity, the token of
        a server the account does not own gets 403 from the sessions and the
        websocket. With auto_webhooks, starting, pausing, resuming and stopping a
        session also posts media.play/pause/resume/stop, as a real server does.
        shared_sections are the keys of the sections a server the account does
        not own shares with it (None: all); the others do not exist for its token.
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
        # Libraries and play queues.
        self.library = default_library(self.server.machine_identifier, self.server.name)
        self.shared_sections = (
            frozenset(shared_sections) if shared_sections is not None else None
        )
        self.play_queues: dict[str, StandInPlayQueue] = {}
        self.items_served = 0  # library items sent in answers, all endpoints together
        self._play_queue_ids = itertools.count(1)
        self._play_queue_item_ids = itertools.count(1)

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
        item: StandInItem | None = None,
        offset: int = 0,
    ) -> str:
        """Start playing something; return the session id (`Session.id`).

        duration (ms) replaces the media type's; without transcode_session a
        transcoded session says so only in its streams' decisions, as some
        servers' sessions do. item replaces what title, media_type and
        duration describe (playMedia plays a library item); offset (ms) is
        where playback starts.
        """
        if item is not None:
            media_type = item.type
        account = next((a for a in self.plex_tv.accounts if a.title == user), None)
        known = self.player_named(player)
        session = StandInSession(
            id=secrets.token_hex(12),
            session_key=str(next(self._session_keys)),
            item=item or StandInItem(type=media_type, title=title, duration=duration),
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
            offset=offset,
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
        if name == "playMedia":
            return await self._play_media(player, query)
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

    # -- Libraries ----------------------------------------------------------------

    def add_section(
        self, title: str, section_type: SectionType, *, count: int = 0
    ) -> StandInSection:
        """Add a library section; count top-level items exist only as a count.

        `add_section("Archive", "movie", count=100_000)` says 100000 in
        `totalSize` and serves the items of any page on demand, without holding
        100,000 of them (a show section also holds as many seasons and ten
        times as many episodes; an artist section twice as many albums and 20
        times as many tracks).
        """
        return self.library.add_section(title, section_type, count=count)

    def section(self, name: str) -> StandInSection:
        """Return a section by key or title."""
        return self.library.section_named(name)

    def visible(self, section_key: str) -> bool:
        """Tell whether the server's token sees a section (a shared server may hide some)."""
        return (
            self.server.owned
            or self.shared_sections is None
            or section_key in self.shared_sections
        )

    def entries(self, section: str, item_type: str | None = None) -> list[LibraryEntry]:
        """Return the real items of a section (by key or title), of one type or all."""
        key = self.section(section).key
        return [
            entry
            for entry in self.library.entries.values()
            if entry.section == key and item_type in (None, entry.type)
        ]

    def entry(self, title: str, item_type: str | None = None) -> LibraryEntry:
        """Return the first real item with a title (of a type)."""
        return next(
            entry
            for entry in self.library.entries.values()
            if entry.title == title and item_type in (None, entry.type)
        )

    @property
    def library_reads(self) -> int:
        """Return how many requests the library and play queue endpoints received."""
        return sum(1 for r in self.requests if r.endpoint in LIBRARY_ENDPOINTS)

    def set_progress(self, rating_key: str, offset: int | None) -> None:
        """Mark an item in progress at offset (ms), on deck; None takes it off."""
        entry = self.library.entries[rating_key]
        latest = max(
            (e.last_viewed_at or 0 for e in self.library.entries.values()), default=0
        )
        entry.view_offset = offset
        # Watched now: after everything watched before, so first on deck.
        entry.last_viewed_at = (
            max(int(time.time()), latest + 1) if offset is not None else None
        )

    async def add_item(
        self,
        section: str,
        *,
        title: str,
        year: int | None = None,
        show: str = "A Show",
        season: int = 1,
        episode: int | None = None,
        artist: str = "An Artist",
        album: str = "An Album",
        track: int | None = None,
        added_at: int | None = None,
        duration: int | None = None,
        summary: str | None = None,
        studio: str | None = None,
        genres: Sequence[str] = (),
        rating: float | None = None,
        content_rating: str | None = None,
        originally_available_at: str | None = None,
        notifications: Collection[str] = ("timeline", "activity"),
        webhook: bool = True,
    ) -> LibraryEntry:
        """Add a film (or an episode, a track, a photo) to a section, as a scan does.

        In a show section, title is the episode's and show, season and episode
        place it (show and season are made when new; episode defaults to the
        next number); in a music section artist, album and track do. The
        section's contentChangedAt grows. notifications are the websocket
        messages a real server sends: `timeline` (each new item at state 0
        with metadataState created, then at state 5) and `activity` (a
        `library.update.section` scan, started then ended); webhook posts
        `library.new` with the item's Metadata to the webhooks of the accounts
        that reach the server. Return the new item.
        """
        target = self.section(section)
        now = added_at or max(int(time.time()), self.library.newest_added() + 1)
        common: dict[str, Any] = {
            "section": target.key,
            "added_at": now,
            "updated_at": now,
        }
        details: dict[str, Any] = {
            "year": year,
            "duration": duration,
            "summary": summary,
            "studio": studio,
            "genres": tuple(genres),
            "rating": rating,
            "content_rating": content_rating,
            "originally_available_at": originally_available_at,
        }
        created: list[LibraryEntry] = []
        if target.type in ("movie", "photo"):
            entry = self.library.new_entry(
                type=target.type, title=title, **common, **details
            )
        else:
            top, middle, leaf = (name for name, _ in SECTION_LEVELS[target.type])
            names = (show, f"Season {season}") if top == "show" else (artist, album)
            parent = self._find_or_make(
                target, top, names[0], None, None, common, created
            )
            parent = self._find_or_make(
                target,
                middle,
                names[1],
                parent,
                season if top == "show" else 1,
                common,
                created,
            )
            number = episode if top == "show" else track
            if number is None:
                number = 1 + max(
                    (
                        e.index or 0
                        for e in self.library.children(parent)
                        if isinstance(e, LibraryEntry)
                    ),
                    default=0,
                )
            entry = self.library.new_entry(
                type=leaf,
                title=title,
                parent=parent.rating_key,
                index=number,
                **common,
                **details,
            )
        created.append(entry)
        self.library.changed(target, now)
        await self._tell_library(target, created, notifications, state=5)
        if webhook:
            await self.post_event("library.new", metadata=self.webhook_metadata(entry))
        return entry

    def _find_or_make(
        self,
        section: StandInSection,
        item_type: str,
        title: str,
        parent: LibraryEntry | None,
        index: int | None,
        common: dict[str, Any],
        created: list[LibraryEntry],
    ) -> LibraryEntry:
        """Return the show, season, artist or album of that title, made when new."""
        for entry in self.library.entries.values():
            if (
                entry.section == section.key
                and entry.type == item_type
                and entry.title == title
                and entry.parent == (parent.rating_key if parent else None)
            ):
                return entry
        entry = self.library.new_entry(
            type=item_type,
            title=title,
            parent=parent.rating_key if parent else None,
            index=index,
            **common,
        )
        created.append(entry)
        return entry

    async def remove_item(
        self,
        rating_key: str,
        *,
        notifications: Collection[str] = ("timeline", "activity"),
    ) -> None:
        """Delete an item and what is under it, as emptying the trash does (state 9, deleted)."""
        entry = self.library.entries[rating_key]
        gone = [entry]
        for below in gone:
            gone += [
                e for e in self.library.entries.values() if e.parent == below.rating_key
            ]
        for removed in gone:
            del self.library.entries[removed.rating_key]
        section = self.library.sections[entry.section]
        self.library.changed(section, int(time.time()))
        await self._tell_library(section, gone, notifications, state=9)

    def webhook_metadata(self, entry: LibraryEntry) -> dict[str, Any]:
        """Return an item's Metadata as a `library.new` webhook post carries it."""
        metadata = entry_json(self.library, entry)
        metadata.pop("Media", None)
        section = self.library.sections[entry.section]
        return {"librarySectionType": section.type, **metadata}

    async def _tell_library(
        self,
        section: StandInSection,
        entries: list[LibraryEntry],
        notifications: Collection[str],
        *,
        state: int,
    ) -> None:
        """Send the websocket messages of a scan that created (5) or deleted (9) items."""
        unknown = set(notifications) - {"timeline", "activity"}
        if unknown:
            raise ValueError(f"Unknown notifications {unknown}")
        activity = secrets.token_hex(4) + "-0000-4000-8000-" + secrets.token_hex(6)
        if "activity" in notifications:
            await self.send_notification(
                "activity", [_scan_activity(section, activity, "started", 0)]
            )
        if "timeline" in notifications:
            metadata_state = "created" if state == 5 else "deleted"
            await self.send_notification(
                "timeline",
                [
                    _timeline_entry(entry, 0 if state == 5 else state, metadata_state)
                    for entry in entries
                ],
            )
            if state == 5:
                await self.send_notification(
                    "timeline", [_timeline_entry(entry, 5, None) for entry in entries]
                )
        if "activity" in notifications:
            await self.send_notification(
                "activity", [_scan_activity(section, activity, "ended", 100)]
            )

    def _library_refusal(self, request: web.Request) -> web.Response | None:
        """Return 401 for a wrong token, or None."""
        if _param(request, "X-Plex-Token") != self.server.access_token:
            return _plain(401, "Unauthorized")
        return None

    def _visible_sections(self) -> list[StandInSection]:
        """Return the sections the token sees, by key."""
        return [
            section
            for key, section in sorted(
                self.library.sections.items(), key=lambda pair: int(pair[0])
            )
            if self.visible(key)
        ]

    def _visible_entry(self, rating_key: str) -> LibraryEntry | None:
        """Return an item the token sees, or None."""
        entry = self.library.get(rating_key)
        return entry if entry is not None and self.visible(entry.section) else None

    def _container(
        self,
        request: web.Request,
        entries: Iterator[LibraryEntry] | Sequence[LibraryEntry],
        total: int,
        *,
        default_size: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> web.Response:
        """Answer with one page of items: `size`, and `totalSize`/`offset` when paged.

        entries are all the items in order (a lazy iterator is read only as
        far as the page goes). A malformed X-Plex-Container-Start or -Size is 400.
        """
        paging = _paging(request)
        if paging is None:
            return _plain(400, "Bad Request")
        start, size = paging
        paged = start is not None or size is not None
        start = start or 0
        if size is None:
            size = default_size if default_size is not None else max(total - start, 0)
        if isinstance(entries, Sequence):
            page = list(entries[start : start + size])
        else:
            page = list(itertools.islice(entries, start, start + size))
        container: dict[str, Any] = {"size": len(page)}
        if paged:
            container |= {"totalSize": total, "offset": start}
        container |= {"allowSync": True, "identifier": LIBRARY_IDENTIFIER}
        container |= extra or {}
        if page:
            container["Metadata"] = [entry_json(self.library, e) for e in page]
            self.items_served += len(page)
        return _answer(request, container)

    def _newest(
        self, sections: list[StandInSection], types: dict[str, str]
    ) -> tuple[Iterator[LibraryEntry], int]:
        """Return the items of sections newest first (types: the type per kind of section), and how many."""
        real: list[LibraryEntry] = []
        synthetic: list[Iterator[LibraryEntry]] = []
        total = 0
        for section in sections:
            item_type = types.get(section.type)
            if item_type is None:
                continue
            real += [
                e
                for e in self.library.entries.values()
                if e.section == section.key and e.type == item_type
            ]
            count = section.synthetic_count(item_type)
            total += count
            synthetic.append(
                self.library.synthetic_entry(section, item_type, position)
                for position in range(count - 1, -1, -1)
            )
        total += len(real)
        real.sort(key=lambda e: (e.added_at, int(e.rating_key)), reverse=True)
        merged = heapq.merge(
            *synthetic, key=lambda e: (e.added_at, int(e.rating_key)), reverse=True
        )
        return itertools.chain(real, merged), total

    def _in_progress(self) -> list[LibraryEntry]:
        """Return the items in progress the token sees, last watched first."""
        return sorted(
            (
                e
                for e in self.library.entries.values()
                if e.view_offset is not None and self.visible(e.section)
            ),
            key=lambda e: (e.last_viewed_at or 0, int(e.rating_key)),
            reverse=True,
        )

    async def _sections(self, request: web.Request) -> web.Response:
        """GET /library/sections: the libraries the token sees (`Directory`)."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        sections = [
            section.to_json(self.server.machine_identifier)
            for section in self._visible_sections()
        ]
        container: dict[str, Any] = {
            "size": len(sections),
            "allowSync": False,
            "title1": "Plex Library",
        }
        if sections:
            container["Directory"] = sections
        return _answer(request, container)

    def _section_of(self, request: web.Request) -> StandInSection | None:
        """Return the section the path names, if the token sees it."""
        key = request.match_info["key"]
        section = self.library.sections.get(key)
        return section if section is not None and self.visible(key) else None

    async def _section_items(self, request: web.Request) -> web.Response:
        """GET /library/sections/{key}/all: a section's items of a type, sorted and paged."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        section = self._section_of(request)
        if section is None:
            return _plain(404, "Not Found")
        levels = [name for name, _ in SECTION_LEVELS[section.type]]
        item_type = levels[0]
        if "type" in request.query:
            number = _whole(request.query["type"])
            if number is None:
                return _plain(400, "Bad Request")
            item_type = TYPE_NAMES.get(number, "")
        sort = parse_sort(request.query.get("sort"))
        if sort is None:
            return _plain(400, "Bad Request")
        extra = {
            "librarySectionID": int(section.key),
            "librarySectionTitle": section.title,
            "librarySectionUUID": section.uuid,
            "title1": section.title,
            "title2": "All",
            "viewGroup": item_type or "unknown",
        }
        if item_type not in levels:
            return self._container(request, [], 0, extra=extra)
        total, real = self.library.listing(section, item_type, sort)
        assert real is not None
        if (title := request.query.get("title")) is not None:
            # Plex's filter: the title contains the text, whatever the case.
            # Items that exist only as a count have no title to match.
            found = [
                entry for entry in real if title.casefold() in entry.title.casefold()
            ]
            return self._container(request, found, len(found), extra=extra)
        return self._container(
            request,
            _Paged(self.library, section, item_type, real, sort),
            total,
            extra=extra,
        )

    async def _section_recently_added(self, request: web.Request) -> web.Response:
        """GET /library/sections/{key}/recentlyAdded: newest films, episodes or albums."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        section = self._section_of(request)
        if section is None:
            return _plain(404, "Not Found")
        entries, total = self._newest([section], _RECENT_TYPES)
        return self._container(
            request,
            entries,
            total,
            default_size=50,
            extra={"librarySectionID": int(section.key), "mixedParents": True},
        )

    async def _recently_added(self, request: web.Request) -> web.Response:
        """GET /library/recentlyAdded: the newest items of every library, newest first."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        entries, total = self._newest(self._visible_sections(), _RECENT_TYPES)
        return self._container(
            request, entries, total, default_size=50, extra={"mixedParents": True}
        )

    async def _hub_recently_added(self, request: web.Request) -> web.Response:
        """GET /hubs/home/recentlyAdded?type=1|2|8|13: newest films, episodes, albums or photos."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        kinds = {1: "movie", 2: "show", 8: "artist", 13: "photo"}
        number = _whole(request.query.get("type"))
        if number not in kinds:
            return _plain(400, "Bad Request")
        kind = kinds[number]
        entries, total = self._newest(
            self._visible_sections(), {kind: _RECENT_TYPES[kind]}
        )
        return self._container(
            request,
            entries,
            total,
            default_size=50,
            extra={"hubIdentifier": "home.recentlyAdded", "title": "Recently Added"},
        )

    async def _on_deck(self, request: web.Request) -> web.Response:
        """GET /library/onDeck: films and episodes in progress, last watched first."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        entries = self._in_progress()
        return self._container(
            request, entries, len(entries), extra={"mixedParents": True}
        )

    async def _continue_watching(self, request: web.Request) -> web.Response:
        """GET /hubs/continueWatching/items: the same items as on deck, as a hub."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        entries = self._in_progress()
        return self._container(
            request,
            entries,
            len(entries),
            extra={"hubIdentifier": "home.continue", "title": "Continue Watching"},
        )

    async def _metadata(self, request: web.Request) -> web.Response:
        """GET /library/metadata/{rk}: one item."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        entry = self._visible_entry(request.match_info["rk"])
        if entry is None:
            return _plain(404, "Not Found")
        section = self.library.sections[entry.section]
        self.items_served += 1
        return _answer(
            request,
            {
                "size": 1,
                "allowSync": True,
                "identifier": LIBRARY_IDENTIFIER,
                "librarySectionID": int(section.key),
                "librarySectionTitle": section.title,
                "librarySectionUUID": section.uuid,
                "Metadata": [entry_json(self.library, entry)],
            },
        )

    async def _children(self, request: web.Request) -> web.Response:
        """GET /library/metadata/{rk}/children: a show's seasons, a season's episodes, ..."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        entry = self._visible_entry(request.match_info["rk"])
        if entry is None:
            return _plain(404, "Not Found")
        section = self.library.sections[entry.section]
        found = self.library.children(entry)
        children: Sequence[LibraryEntry]
        if isinstance(found, range):
            levels = [name for name, _ in SECTION_LEVELS[section.type]]
            below = levels[levels.index(entry.type) + 1]
            children = _Synthetic(self.library, section, below, found)
        else:
            children = found
        extra: dict[str, Any] = {
            "key": entry.rating_key,
            "librarySectionID": int(section.key),
            "librarySectionTitle": section.title,
            "librarySectionUUID": section.uuid,
            "parentTitle": entry.title,
            "title1": entry.title,
            "viewGroup": {
                "show": "season",
                "season": "episode",
                "artist": "album",
                "album": "track",
            }.get(entry.type, entry.type),
        }
        if entry.index is not None:
            extra["parentIndex"] = entry.index
        return self._container(request, children, len(children), extra=extra)

    async def _create_play_queue(self, request: web.Request) -> web.Response:
        """POST /playQueues?type=&uri=server://<mid>/com.plexapp.plugins.library/library/metadata/<rk>.

        A film, episode or track queues itself; a show, season, artist or
        album queues what plays under it. A wrong type, another server's or a
        malformed uri is 400; an item the token does not see, 404.
        """
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        query = dict(request.query)
        match = _QUEUE_URI.fullmatch(unquote(query.get("uri", "")))
        if (
            query.get("type") not in ("video", "audio", "photo")
            or match is None
            or match.group("server") != self.server.machine_identifier
        ):
            return _plain(400, "Bad Request")
        entry = self._visible_entry(match.group("rk"))
        if entry is None:
            return _plain(404, "Not Found")
        leaves = self.library.leaves(entry)[:1000]
        if not leaves:
            return _plain(400, "Bad Request")
        queue = StandInPlayQueue(
            id=str(next(self._play_queue_ids)),
            type=query["type"],
            uri=query["uri"],
            items=[
                (str(next(self._play_queue_item_ids)), e.rating_key) for e in leaves
            ],
            selected="",
            query=query,
        )
        queue.selected = queue.items[0][0]
        self.play_queues[queue.id] = queue
        return self._play_queue_answer(request, queue)

    async def _play_queue(self, request: web.Request) -> web.Response:
        """GET /playQueues/{id}: a play queue, as a player reads it."""
        if (refusal := self._library_refusal(request)) is not None:
            return refusal
        queue = self.play_queues.get(request.match_info["id"])
        if queue is None:
            return _plain(404, "Not Found")
        return self._play_queue_answer(request, queue)

    def _play_queue_answer(
        self, request: web.Request, queue: StandInPlayQueue
    ) -> web.Response:
        """Answer with a play queue's MediaContainer."""
        metadata = []
        for item_id, rating_key in queue.items:
            entry = self.library.get(rating_key)
            if entry is not None:
                metadata.append(
                    entry_json(self.library, entry) | {"playQueueItemID": int(item_id)}
                )
        selected = dict(queue.items)[queue.selected]
        return _answer(
            request,
            {
                "size": len(metadata),
                "identifier": LIBRARY_IDENTIFIER,
                "mediaTagPrefix": "/system/bundle/media/flags/",
                "playQueueID": int(queue.id),
                "playQueueSelectedItemID": int(queue.selected),
                "playQueueSelectedItemOffset": 0,
                "playQueueSelectedMetadataItemID": selected,
                "playQueueShuffled": False,
                "playQueueSourceURI": queue.uri,
                "playQueueTotalCount": len(metadata),
                "playQueueVersion": 1,
                "Metadata": metadata,
            },
        )

    async def _play_media(self, player: StandInPlayer, query: Any) -> bool:
        """Start a library item on a player, as playMedia does; False for a bad request.

        key must be an item the token sees, machineIdentifier this server,
        containerKey (when given) one of its play queues and offset (ms) a
        whole number. The player's session, if any, ends; a new one starts
        at offset.
        """
        match = re.fullmatch(r"/library/metadata/([0-9]{1,12})", query.get("key", ""))
        entry = self._visible_entry(match.group(1)) if match else None
        if (
            entry is None
            or query.get("machineIdentifier") != self.server.machine_identifier
        ):
            return False
        if "containerKey" in query:
            queue = re.fullmatch(
                r"/playQueues/([0-9]{1,12})(\?.*)?", query["containerKey"]
            )
            if queue is None or queue.group(1) not in self.play_queues:
                return False
        offset = _whole(query.get("offset", "0"))
        leaves = self.library.leaves(entry)
        if offset is None or not leaves:
            return False
        entry = leaves[0]
        if entry.type not in _LIBRARIES:
            return True  # a photo shows, with no session
        parent = self.library.parent_of(entry)
        grandparent = self.library.parent_of(parent) if parent else None
        item = StandInItem(
            type=entry.type,  # type: ignore[arg-type]
            title=entry.title,
            rating_key=entry.rating_key,
            grandparent_title=grandparent.title if grandparent else None,
            parent_title=parent.title if parent else None,
            index=entry.index,
            parent_index=parent.index if parent else None,
            year=entry.year or 2008,
            duration=entry.duration or 0,
            added_at=entry.added_at,
            updated_at=entry.updated_at,
        )
        if (playing := self.player_session(player.machine_identifier)) is not None:
            await self.stop_session(playing.id)
        await self.start_session(
            user=self.owner.title if self.owner else "Demo Person",
            player=player.name,
            item=item,
            offset=min(offset, item.duration),
        )
        return True

    def plays(self) -> list[PlayerCommand]:
        """Return the playMedia commands the server passed on, in order."""
        return [c for c in self.commands if c.command == "playback/playMedia"]

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
        app.router.add_get("/library/sections", self._sections, name="sections")
        app.router.add_get(
            "/library/sections/{key}/all", self._section_items, name="section_items"
        )
        app.router.add_get(
            "/library/sections/{key}/recentlyAdded",
            self._section_recently_added,
            name="section_recently_added",
        )
        app.router.add_get(
            "/library/recentlyAdded", self._recently_added, name="recently_added"
        )
        app.router.add_get(
            "/hubs/home/recentlyAdded",
            self._hub_recently_added,
            name="hub_recently_added",
        )
        app.router.add_get("/library/onDeck", self._on_deck, name="on_deck")
        app.router.add_get(
            "/hubs/continueWatching/items",
            self._continue_watching,
            name="continue_watching",
        )
        app.router.add_get(
            "/library/metadata/{rk:[0-9]+}", self._metadata, name="metadata"
        )
        app.router.add_get(
            "/library/metadata/{rk:[0-9]+}/children", self._children, name="children"
        )
        app.router.add_post("/playQueues", self._create_play_queue, name="play_queues")
        app.router.add_get(
            "/playQueues/{id:[0-9]+}", self._play_queue, name="play_queue"
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
        """Stop serving, close every connection and take the URI off the resources.

        New connections are refused before the open sockets are cut, so that a
        client reconnecting at once cannot hold a socket that keeps the
        runner's clean-up waiting.
        """
        self._command_release.set()
        self.stop_timelines()
        if self._runner is not None:
            for site in self._runner.sites:
                await site.stop()
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
        newest, _ = self._newest(self._visible_sections(), _RECENT_TYPES)
        recent = "".join(
            f"<li>{html.escape(entry.title)} ({html.escape(entry.type)})</li>"
            for entry in itertools.islice(newest, 5)
        )
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
                f'<h2>Recently added</h2><ul id="recent">{recent}</ul>'
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
        elif action == "add_film":
            number = len(self.entries("Movies", "movie")) + 1
            film = await self.add_item("Movies", title=f"A New Film {number}")
            self.last_message = f"Added {film.title} to Movies."
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
    "add_film": "Add a film",
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


# -- Libraries --------------------------------------------------------------------

# What "recently added" lists per kind of section: films, episodes, albums, photos.
_RECENT_TYPES = {
    "movie": "movie",
    "show": "episode",
    "artist": "album",
    "photo": "photo",
}
_QUEUE_URI = re.compile(
    r"server://(?P<server>[^/]+)/com\.plexapp\.plugins\.library"
    r"/library/metadata/(?P<rk>[0-9]{1,12})"
)
_PAGING = ("X-Plex-Container-Start", "X-Plex-Container-Size")


def _paging(request: web.Request) -> tuple[int | None, int | None] | None:
    """Read X-Plex-Container-Start and -Size from the query or the headers; None if malformed."""
    found: list[int | None] = []
    for name in _PAGING:
        raw = request.query.get(name, request.headers.get(name))
        value = _whole(raw.strip()) if raw is not None else None
        if raw is not None and value is None:
            return None
        found.append(value)
    return found[0], found[1]


class _Paged(Sequence[LibraryEntry]):
    """A section's items of one type in order, real and synthesized, made as they are read."""

    def __init__(
        self,
        library: Any,
        section: StandInSection,
        item_type: str,
        real: Sequence[LibraryEntry],
        sort: tuple[str, bool],
    ) -> None:
        """Hold what a page needs: the ordered real items and the sort."""
        self._library = library
        self._section = section
        self._type = item_type
        self._real = real
        self._sort = sort

    def __len__(self) -> int:
        """Return how many items there are, synthesized ones included."""
        return len(self._real) + self._section.synthetic_count(self._type)

    def __getitem__(self, index: Any) -> Any:
        """Return one item, or a page of them for a slice with step 1."""
        if isinstance(index, slice):
            start, stop, _ = index.indices(len(self))
            return self._library.page(
                self._section,
                self._type,
                self._real,
                self._sort,
                start,
                max(stop - start, 0),
            )
        position = range(len(self))[index]
        (entry,) = self[position : position + 1]
        return entry


class _Synthetic(Sequence[LibraryEntry]):
    """Synthesized items at a range of positions, made as they are read."""

    def __init__(
        self, library: Any, section: StandInSection, item_type: str, positions: range
    ) -> None:
        """Hold the section, the type and the positions."""
        self._library = library
        self._section = section
        self._type = item_type
        self._positions = positions

    def __len__(self) -> int:
        """Return how many items there are."""
        return len(self._positions)

    def __getitem__(self, index: Any) -> Any:
        """Return one item, or a list of them for a slice."""
        if isinstance(index, slice):
            return [
                self._library.synthetic_entry(self._section, self._type, position)
                for position in self._positions[index]
            ]
        return self._library.synthetic_entry(
            self._section, self._type, self._positions[index]
        )


def _timeline_entry(
    entry: LibraryEntry, state: int, metadata_state: str | None
) -> dict[str, Any]:
    """Return the TimelineEntry a server sends for a library item at a state."""
    timeline: dict[str, Any] = {
        "identifier": LIBRARY_IDENTIFIER,
        "sectionID": entry.section,
        "itemID": entry.rating_key,
        "type": TYPE_NUMBERS[entry.type],
        "title": entry.title,
        "state": state,
        "updatedAt": entry.updated_at,
    }
    if metadata_state is not None:
        timeline["metadataState"] = metadata_state
    return timeline


def _scan_activity(
    section: StandInSection, uuid: str, event: str, progress: int
) -> dict[str, Any]:
    """Return the ActivityNotification of a section scan that started or ended."""
    return {
        "event": event,
        "uuid": uuid,
        "Activity": {
            "uuid": uuid,
            "type": "library.update.section",
            "cancellable": False,
            "userID": 1,
            "title": f"Scanning {section.title}",
            "subtitle": "",
            "progress": progress,
            "Context": {"librarySectionID": section.key},
        },
    }
