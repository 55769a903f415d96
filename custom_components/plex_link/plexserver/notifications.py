"""Follows a Plex Media Server's notifications over one websocket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import json
import logging
import time
from typing import Any

import aiohttp

from .client import PlexServerClient
from .exceptions import PlexServerError
from .fields import lower, number, objects, text

LOGGER = logging.getLogger(__package__)
NOTIFICATIONS_PATH = "/:/websockets/notifications"


@dataclass(frozen=True, kw_only=True)
class PlayingNotification:
    """A player's report on one session, from a `playing` notification.

    Players send one with each timeline report while they play (every
    second for some), not only when something changes.
    """

    session_key: str
    client_identifier: str | None = None
    rating_key: str | None = None
    key: str | None = None
    view_offset_ms: int | None = None
    state: str | None = None


class NotificationListener:
    """Keeps one websocket to the server and hands on what it says of its sessions.

    on_playing gets the reports of each `playing` notification (an empty list
    when none could be read). on_open is called each time the socket opens,
    the first time and after every loss: sessions may have changed while
    nobody listened, so everything is worth reading again. on_connection is
    called when the socket opens or is lost (also when the first attempt
    fails). A socket that answers no ping for half the heartbeat counts as
    lost, so a server that goes silent without closing is noticed. After a
    failure the listener waits, doubling the wait up to max_backoff; a
    connection that stayed up for stable_after seconds starts the doubling
    again from initial_backoff.
    """

    initial_backoff: float = 1.0
    max_backoff: float = 300.0
    stable_after: float = 60.0
    heartbeat: float = 30.0
    max_message_bytes: int = 1024 * 1024

    def __init__(
        self,
        client: PlexServerClient,
        *,
        on_playing: Callable[[list[PlayingNotification]], None],
        on_open: Callable[[], None],
        on_connection: Callable[[bool], None] | None = None,
    ) -> None:
        """Listen through the client's connections; call back on the event loop."""
        self._client = client
        self._on_playing = on_playing
        self._on_open = on_open
        self._on_connection = on_connection
        self._connected: bool | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Return whether the websocket is open."""
        return bool(self._connected)

    @property
    def running(self) -> bool:
        """Return whether the listener was started and not stopped."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start listening in a background task; does nothing if already running."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="plex_link notification listener"
            )

    async def stop(self) -> None:
        """Stop listening: close the socket, and reconnect no more.

        Reports nothing through on_connection: the caller asked for it.
        """
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        self._connected = False

    async def _run(self) -> None:
        """Connect, listen, and after each loss wait longer before the next try."""
        failures = 0
        while True:
            opened_at: float | None = None
            try:
                async with self._client.websocket(
                    NOTIFICATIONS_PATH,
                    max_msg_size=self.max_message_bytes,
                    heartbeat=self.heartbeat,
                ) as socket:
                    opened_at = time.monotonic()
                    self._report(connected=True)
                    self._call(self._on_open)
                    await self._listen(socket)
            except PlexServerError as err:
                LOGGER.debug("Notifications unavailable: %s", err)
            except (TimeoutError, aiohttp.ClientError) as err:
                LOGGER.debug("Notifications broke off (%s)", type(err).__name__)
            except Exception:
                LOGGER.exception("Unexpected error while following notifications")
            self._report(connected=False)
            if (
                opened_at is not None
                and time.monotonic() - opened_at >= self.stable_after
            ):
                failures = 0
            await self._wait(self._backoff(failures))
            failures += 1

    async def _listen(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        """Read messages until the socket closes, handing on the `playing` ones."""
        async for message in socket:
            if message.type is aiohttp.WSMsgType.ERROR:
                LOGGER.debug(
                    "Notification socket failed (%s)", type(message.data).__name__
                )
                return
            if message.type is aiohttp.WSMsgType.TEXT and (
                (reports := playing_notifications(message.data)) is not None
            ):
                self._call(self._on_playing, reports)

    def _backoff(self, failures: int) -> float:
        """Return the wait after failures in a row: doubled each time, capped."""
        return min(self.initial_backoff * 2.0 ** min(failures, 32), self.max_backoff)

    async def _wait(self, delay: float) -> None:
        """Wait before the next attempt."""
        await asyncio.sleep(delay)

    def _report(self, *, connected: bool) -> None:
        """Tell on_connection about a change of the connection state."""
        if connected != self._connected:
            self._connected = connected
            if self._on_connection is not None:
                self._call(self._on_connection, connected)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        """Run a callback; its failure is logged and never stops the listener."""
        try:
            callback(*args)
        except Exception:
            LOGGER.exception("Error in a notification callback")


def playing_notifications(message: str) -> list[PlayingNotification] | None:
    """Return the reports of a `playing` notification; None for any other message.

    Garbage is not a `playing` notification; a report without a session key is
    left out.
    """
    try:
        payload = json.loads(message)
    except (ValueError, RecursionError):
        return None
    found = payload.get("NotificationContainer") if isinstance(payload, dict) else None
    if not isinstance(found, dict) or found.get("type") != "playing":
        return None
    return [
        PlayingNotification(
            session_key=session_key,
            client_identifier=text(entry.get("clientIdentifier")),
            rating_key=text(entry.get("ratingKey")),
            key=text(entry.get("key")),
            view_offset_ms=number(entry.get("viewOffset")),
            state=lower(entry.get("state")),
        )
        for entry in objects(found.get("PlaySessionStateNotification"))
        if (session_key := text(entry.get("sessionKey"))) is not None
    ]
