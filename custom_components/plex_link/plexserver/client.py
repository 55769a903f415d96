"""Async client for a Plex Media Server, over whichever of its connections answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
import json
import logging
import re
from typing import Any

import aiohttp
from yarl import URL

from .exceptions import (
    PlexServerAuthenticationError,
    PlexServerCommandError,
    PlexServerConnectionError,
    PlexServerError,
    PlexServerResponseError,
    PlexServerServerError,
)
from .library import (
    PLAY_QUEUE_TYPES,
    LibraryItem,
    LibraryPage,
    LibrarySection,
    PlayQueue,
    page_from_json,
    play_queue_from_json,
    sections_from_json,
    total_from_json,
)
from .models import PlaySession, sessions_from_json
from .players import PlexPlayer, players_from_json

LOGGER = logging.getLogger(__package__)
MAX_BODY_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_SIDE = 4096
COMMAND_TIMEOUT = 5.0
PAGE_SIZE = 50
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
_COMMAND = re.compile(r"[A-Za-z]+/[A-Za-z]+")
_MAX_PATH = 2048
_MAX_HEADER = 1024


class PlexServerClient:
    """Talks to one Plex Media Server over an aiohttp session owned by the caller.

    Requests go to the connection that answered last. When it cannot be reached
    (refused, reset, TLS failure, DNS failure, timeout) the others are tried in
    their order, best first, and the one that answers is remembered. Any HTTP
    answer, even 401 or 5xx, proves a connection reachable.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        identity_headers: dict[str, str],
        access_token: str,
        connections: Sequence[str],
        request_timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ) -> None:
        """Use the given session, token and connection URIs (best first)."""
        self._session = session
        self._headers = {
            "Accept": "application/json",
            **identity_headers,
            "X-Plex-Token": access_token,
        }
        self._request_timeout = request_timeout
        self._connect_timeout = connect_timeout
        self._connections: tuple[URL, ...] = ()
        self._current: URL | None = None
        self._command_id = 0
        self.update_connections(connections)

    @property
    def connection(self) -> str | None:
        """Return the connection requests go to first, or None without any."""
        return str(self._current) if self._current is not None else None

    @property
    def connections(self) -> tuple[str, ...]:
        """Return the usable connections, best first."""
        return tuple(str(base) for base in self._connections)

    def update_connections(self, connections: Sequence[str]) -> None:
        """Replace the connections, keeping the remembered one if it is still listed.

        URIs that are not absolute http or https ones are left out.
        """
        bases: dict[URL, None] = {}
        for uri in connections:
            if (base := _base_url(uri)) is not None:
                bases[base] = None
        self._connections = tuple(bases)
        if self._current not in bases:
            self._current = self._connections[0] if self._connections else None

    async def get_sessions(self) -> list[PlaySession]:
        """Return what the server is playing; only the owner's token sees every session.

        Each session's position is true at the moment the answer was read.
        """
        data = await self._request("status/sessions")
        return sessions_from_json(data, position_at=datetime.now(UTC))

    async def terminate_session(
        self, session_id: str, reason: str | None = None
    ) -> None:
        """End a session (by its Session.id), showing the reason to the person watching."""
        params = {"sessionId": session_id}
        if reason is not None:
            params["reason"] = reason
        await self._request("status/sessions/terminate", params=params, decode=False)

    async def get_players(self) -> list[PlexPlayer]:
        """Return the players connected to the server, with the commands each takes."""
        return players_from_json(await self._request("clients"))

    async def get_sections(self) -> list[LibrarySection]:
        """Return the libraries the token may read."""
        return sections_from_json(await self._request("library/sections"))

    async def count_items(self, section_key: str, item_type: int) -> int:
        """Return how many items of a type a library holds, from its total alone.

        A page of size 0 transfers no item, however large the library.
        """
        data = await self._request(
            f"library/sections/{_segment(section_key)}/all",
            params={"type": str(item_type), **_page(0, 0)},
        )
        return total_from_json(data)

    async def get_items(
        self,
        section_key: str,
        *,
        start: int = 0,
        size: int = PAGE_SIZE,
        item_type: int | None = None,
        sort: str | None = None,
        title: str | None = None,
    ) -> LibraryPage:
        """Return a page of a library's items, of one type, in an order, whose title contains title, if given."""
        params = _page(start, size)
        if item_type is not None:
            params["type"] = str(item_type)
        if sort is not None:
            params["sort"] = sort
        if title is not None:
            params["title"] = title
        data = await self._request(
            f"library/sections/{_segment(section_key)}/all", params=params
        )
        return page_from_json(data, offset=start)

    async def get_on_deck(self, *, size: int = PAGE_SIZE) -> LibraryPage:
        """Return what the token's account is in the middle of, or up next."""
        data = await self._request("library/onDeck", params=_page(0, size))
        return page_from_json(data)

    async def get_item(self, rating_key: str) -> LibraryItem:
        """Return one item by its rating key."""
        page = page_from_json(
            await self._request(f"library/metadata/{_segment(rating_key)}")
        )
        if not page.items:
            raise PlexServerResponseError("The server has no such item", 404)
        return page.items[0]

    async def get_children(
        self, rating_key: str, *, start: int = 0, size: int = PAGE_SIZE
    ) -> LibraryPage:
        """Return a page of what an item holds: a show's seasons, an album's tracks."""
        data = await self._request(
            f"library/metadata/{_segment(rating_key)}/children",
            params=_page(start, size),
        )
        return page_from_json(data, offset=start)

    async def create_play_queue(
        self, item: LibraryItem, machine_identifier: str
    ) -> PlayQueue:
        """Make a play queue of one playable item of this server, for a player to play."""
        queue_type = PLAY_QUEUE_TYPES.get(item.media_type or "")
        if queue_type is None:
            raise ValueError(f"Not a playable item: {item.media_type!r}")
        uri = (
            f"server://{machine_identifier}/com.plexapp.plugins.library"
            f"/library/metadata/{_segment(item.rating_key)}"
        )
        data = await self._request(
            "playQueues",
            method="POST",
            params={
                "type": queue_type,
                "uri": uri,
                "shuffle": "0",
                "repeat": "0",
                "continuous": "0",
                "own": "1",
            },
        )
        return play_queue_from_json(data)

    async def send_player_command(
        self,
        player_id: str,
        command: str,
        params: Mapping[str, str | int] | None = None,
    ) -> None:
        """Send a command such as playback/pause to a player, through the server.

        As python-plexapi's proxyThroughServer does: `GET /player/<command>`
        with the player's machine identifier in X-Plex-Target-Client-Identifier
        and a commandID that grows with each command. A refusal (HTTP 4xx or
        5xx) or no answer within COMMAND_TIMEOUT seconds is a
        PlexServerCommandError. A command sent and not answered is not sent
        again over another connection, so a player never gets it twice.
        """
        if not _COMMAND.fullmatch(command):
            raise ValueError(f"Not a player command: {command!r}")
        if not _header_safe(player_id):
            raise PlexServerCommandError("The player's identifier cannot be sent")
        self._command_id += 1
        query = {key: str(value) for key, value in (params or {}).items()}
        query["commandID"] = str(self._command_id)
        wait = min(self._request_timeout, COMMAND_TIMEOUT)
        try:
            await self._request(
                f"player/{command}",
                params=query,
                headers={"X-Plex-Target-Client-Identifier": player_id},
                client_timeout=aiohttp.ClientTimeout(
                    total=self._connect_timeout + wait,
                    sock_connect=self._connect_timeout,
                    sock_read=wait,
                ),
                resend=False,
                decode=False,
            )
        except PlexServerResponseError as err:
            if err.status is None or err.status < 400:
                raise
            raise PlexServerCommandError(
                f"The player refused the command (HTTP {err.status})", err.status
            ) from None

    async def get_image(
        self, path: str, *, width: int, height: int
    ) -> tuple[bytes, str]:
        """Return one of the server's images, resized by the server, and its content type.

        path is the server's own, such as a `thumb` or `art` path: anything
        else (an absolute URL above all) is refused before any request, so the
        token never goes to another host. The server scales the image to cover
        width x height (`/photo/:/transcode`); the answer must be a JPEG, PNG,
        WebP or GIF image of at most MAX_IMAGE_BYTES, else the error is
        PlexServerResponseError.
        """
        if not 0 < width <= MAX_IMAGE_SIDE or not 0 < height <= MAX_IMAGE_SIDE:
            raise ValueError("Image sides must be between 1 and MAX_IMAGE_SIDE")
        if not _server_path(path):
            raise PlexServerResponseError("The image is not one of the server's")
        params = {
            "url": path,
            "width": str(width),
            "height": str(height),
            "minSize": "1",
            "upscale": "1",
        }
        async with self._open(
            "photo/:/transcode", params=params, headers={"Accept": "image/*"}
        ) as response:
            content_type = response.content_type
            if content_type not in IMAGE_TYPES:
                raise PlexServerResponseError(
                    "The server did not answer with an image", response.status
                )
            body = await _read_body(response, MAX_IMAGE_BYTES)
        return body, content_type

    @asynccontextmanager
    async def websocket(
        self, path: str, *, max_msg_size: int, heartbeat: float | None = None
    ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """Open a websocket to the server, with the same fall-back as requests.

        The token goes in a handshake header. aiohttp's ws_connect would follow
        a redirect with it, so the handshake runs on a session of its own, over
        the caller's connector, that refuses any redirect.
        """
        connector = self._session.connector
        if connector is None or self._session.closed:
            raise PlexServerConnectionError("The HTTP session is closed")
        async with aiohttp.ClientSession(
            connector=connector,
            connector_owner=False,
            headers=self._session.headers,
            middlewares=(_refuse_redirect,),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self._connect_timeout
            ),
        ) as ws_session:

            async def attempt(base: URL) -> aiohttp.ClientWebSocketResponse:
                """Shake hands with one connection; an HTTP refusal becomes a typed error."""
                try:
                    async with asyncio.timeout(self._request_timeout):
                        return await ws_session.ws_connect(
                            base / path.lstrip("/"),
                            headers=self._headers,
                            max_msg_size=max_msg_size,
                            heartbeat=heartbeat,
                            timeout=aiohttp.ClientWSTimeout(
                                ws_receive=None, ws_close=self._connect_timeout
                            ),
                        )
                except aiohttp.WSServerHandshakeError as err:
                    raise _status_error(err.status) from None

            async with await self._reach(attempt) as socket:
                yield socket

    async def _request(
        self,
        path: str,
        *,
        method: str = "GET",
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        client_timeout: aiohttp.ClientTimeout | None = None,
        resend: bool = True,
        decode: bool = True,
    ) -> Any:
        """Send one request and return its JSON body (None if not decoded)."""
        async with self._open(
            path,
            method=method,
            params=params,
            headers=headers,
            client_timeout=client_timeout,
            resend=resend,
        ) as response:
            if not decode:
                return None
            body = await _read_body(response)
        return _decode(body)

    @asynccontextmanager
    async def _open(
        self,
        path: str,
        *,
        method: str = "GET",
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        client_timeout: aiohttp.ClientTimeout | None = None,
        resend: bool = True,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send one request over the first connection that answers; yield a successful answer.

        Any other status is a typed error. Without resend, a request sent but
        not answered within the timeout's sock_read is not sent again over the
        next connection: it is a PlexServerCommandError.
        """
        request_headers = {**self._headers, **(headers or {})}
        request_timeout = client_timeout or aiohttp.ClientTimeout(
            total=self._request_timeout, sock_connect=self._connect_timeout
        )

        async def attempt(base: URL) -> aiohttp.ClientResponse:
            """Send the request to one connection and wait for the answer's headers."""
            try:
                return await self._session.request(
                    method,
                    base / path,
                    headers=request_headers,
                    params=params,
                    allow_redirects=False,
                    timeout=request_timeout,
                )
            except aiohttp.SocketTimeoutError:
                if resend:
                    raise
                raise PlexServerCommandError(
                    "The player did not answer in time"
                ) from None

        response = await self._reach(attempt)
        async with response:
            if not 200 <= response.status < 300:
                raise _status_error(response.status)
            yield response

    async def _reach[T](self, attempt: Callable[[URL], Awaitable[T]]) -> T:
        """Run attempt on the remembered connection, then on the others in order.

        Connection-level failures move on to the next connection; the first one
        that answers at all is remembered and its answer (or error) returned.
        """
        candidates = [self._current] if self._current is not None else []
        candidates += [base for base in self._connections if base != self._current]
        failure: BaseException | None = None
        for number, base in enumerate(candidates, 1):
            try:
                result = await attempt(base)
            except PlexServerError:
                self._remember(base)
                raise
            except (TimeoutError, aiohttp.ClientError) as err:
                LOGGER.debug(
                    "Connection %s of %s did not answer (%s)",
                    number,
                    len(candidates),
                    type(err).__name__,
                )
                failure = err
                continue
            self._remember(base)
            return result
        if isinstance(failure, TimeoutError):
            raise PlexServerConnectionError(
                "The server did not answer in time"
            ) from failure
        if failure is None:
            raise PlexServerConnectionError("The server has no usable connection")
        raise PlexServerConnectionError(
            f"No connection of the server answered ({type(failure).__name__})"
        ) from failure

    def _remember(self, base: URL) -> None:
        """Send the next requests to a connection that answered, if it is still listed."""
        if base in self._connections:
            self._current = base


async def _refuse_redirect(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Stop a request at a redirect, before aiohttp follows it with the token."""
    response = await handler(request)
    if 300 <= response.status < 400:
        response.close()
        raise _status_error(response.status)
    return response


def _status_error(status: int) -> PlexServerError:
    """Return the typed error for an HTTP status that is not a success."""
    if status in {401, 403}:
        return PlexServerAuthenticationError(
            f"The server refused the token (HTTP {status})"
        )
    if 300 <= status < 400:
        return PlexServerResponseError("The server answered with a redirect", status)
    if status >= 500:
        return PlexServerServerError(f"The server failed with HTTP {status}", status)
    return PlexServerResponseError(f"The server answered HTTP {status}", status)


def _base_url(uri: str) -> URL | None:
    """Return the origin of an absolute http(s) URI, or None for anything else."""
    try:
        url = URL(uri)
        if url.scheme not in {"http", "https"} or not url.host:
            return None
        return url.origin()
    except (TypeError, ValueError):
        return None


async def _read_body(
    response: aiohttp.ClientResponse, limit: int = MAX_BODY_BYTES
) -> bytes:
    """Read the body, refusing one larger than limit without reading it all."""
    if (response.content_length or 0) > limit:
        raise PlexServerResponseError(
            "The server sent an oversized body", response.status
        )
    body = bytearray()
    try:
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                raise PlexServerResponseError(
                    "The server sent an oversized body", response.status
                )
    except TimeoutError as err:
        raise PlexServerConnectionError("The server did not answer in time") from err
    except aiohttp.ClientError as err:
        raise PlexServerConnectionError(
            f"The server's answer broke off ({type(err).__name__})"
        ) from err
    return bytes(body)


def _decode(body: bytes) -> Any:
    """Decode a JSON body, raising a typed error for anything else."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        raise PlexServerResponseError("The server did not answer with JSON") from err


def _header_safe(value: str) -> bool:
    """Tell whether a value can go in a header as it is: printable ASCII, no edge blanks."""
    return (
        0 < len(value) <= _MAX_HEADER
        and value.isascii()
        and value.isprintable()
        and value == value.strip()
    )


def _page(start: int, size: int) -> dict[str, str]:
    """Return the parameters that ask for size items from start."""
    return {"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(size)}


def _segment(key: str) -> str:
    """Return a key the server gave as one path segment, or raise if it is not one."""
    if not key or not key.isascii() or not key.isalnum():
        raise PlexServerResponseError("Not a key of one of the server's items")
    return key


def _server_path(path: str) -> bool:
    """Tell whether a path names something on the server itself, not another host."""
    return (
        0 < len(path) <= _MAX_PATH
        and path.startswith("/")
        and not path.startswith("//")
        and "\\" not in path
        and path.isprintable()
    )
