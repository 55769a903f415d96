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
from .fields import child, lower, number, objects, text

LOGGER = logging.getLogger(__package__)
NOTIFICATIONS_PATH = "/:/websockets/notifications"
LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"
# Timeline states that end a change: 5 (done: created or updated) and 9 (deleted).
FINISHED_STATES = frozenset({5, 9})
FINISHED_METADATA_STATES = frozenset({"created", "deleted"})
# More sections than this in one message (or a longer key) tells no more than "some library".
MAX_SECTIONS = 100
_MAX_SECTION_KEY = 64
# The sectionID of what belongs to no library section (playlists, for one).
_NO_SECTION = (-1, "-1")


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


@dataclass(frozen=True)
class LibraryChange:
    """The server's word that the content of libraries changed: items added or deleted.

    section_ids are the keys of the sections that changed; empty when the
    message said a library changed without saying which.
    """

    section_ids: frozenset[str]


class NotificationListener:
    """Keeps one websocket to the server and hands on what it says of its sessions.

    on_playing gets the reports of each `playing` notification (an empty list
    when none could be read). on_library, when given, gets a LibraryChange for
    each `timeline` or `activity` notification that tells of finished library
    changes (not of the steps of a scan still running). on_open is called each time the socket opens,
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
        on_library: Callable[[LibraryChange], None] | None = None,
    ) -> None:
        """Listen through the client's connections; call back on the event loop."""
        self._client = client
        self._on_playing = on_playing
        self._on_library = on_library
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
        """Read messages until the socket closes, handing on the `playing` and library ones."""
        async for message in socket:
            if message.type is aiohttp.WSMsgType.ERROR:
                LOGGER.debug(
                    "Notification socket failed (%s)", type(message.data).__name__
                )
                return
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            found = _notification(message.data)
            if found is None:
                continue
            if (reports := _playing(found)) is not None:
                self._call(self._on_playing, reports)
            elif self._on_library is not None and (
                (change := _library_change(found)) is not None
            ):
                self._call(self._on_library, change)

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
    found = _notification(message)
    return _playing(found) if found is not None else None


def library_change(message: str) -> LibraryChange | None:
    """Return the library change a `timeline` or `activity` notification tells; else None.

    A timeline tells one when an entry of the library (identifier
    com.plexapp.plugins.library) reached a finished state: 5 (done) or 9
    (deleted), or metadataState created or deleted; the steps in between
    (states 0 to 4 with no such metadataState) tell nothing yet. An activity
    tells one when a `library.*` activity (a scan, a refresh) ended. The
    sections are their sectionID or Activity.Context.librarySectionID; one
    finished change without a usable section (or more than MAX_SECTIONS
    sections) makes the change "some library" (no section ids). Garbage,
    and any other message, is None.
    """
    found = _notification(message)
    return _library_change(found) if found is not None else None


def _notification(message: str) -> dict[str, Any] | None:
    """Return the NotificationContainer of a message, or None for anything else."""
    try:
        payload = json.loads(message)
    except (ValueError, RecursionError):
        return None
    found = payload.get("NotificationContainer") if isinstance(payload, dict) else None
    return found if isinstance(found, dict) else None


def _library_change(found: dict[str, Any]) -> LibraryChange | None:
    """Return the library change of a `timeline` or `activity` container, if it tells one."""
    kind = found.get("type")
    if kind == "timeline":
        sections = [
            _section_id(entry.get("sectionID"))
            for entry in objects(found.get("TimelineEntry"))
            if entry.get("identifier") == LIBRARY_IDENTIFIER
            and entry.get("sectionID") not in _NO_SECTION
            and _finished(entry)
        ]
    elif kind == "activity":
        sections = []
        for entry in objects(found.get("ActivityNotification")):
            activity = child(entry, "Activity")
            activity_type = activity.get("type")
            if (
                entry.get("event") == "ended"
                and isinstance(activity_type, str)
                and activity_type.startswith("library.")
            ):
                context = child(activity, "Context")
                sections.append(_section_id(context.get("librarySectionID")))
    else:
        return None
    if not sections:
        return None
    known = frozenset(section for section in sections if section is not None)
    if None in sections or len(known) > MAX_SECTIONS:
        return LibraryChange(frozenset())
    return LibraryChange(known)


def _finished(entry: dict[str, Any]) -> bool:
    """Tell whether a timeline entry tells of a change that is done, not a step of it."""
    return (
        number(entry.get("state")) in FINISHED_STATES
        or lower(entry.get("metadataState")) in FINISHED_METADATA_STATES
    )


def _section_id(value: Any) -> str | None:
    """Return a section key as text (a section's key is a whole number), or None."""
    key = text(value)
    if key is None:
        return None
    key = key.strip()
    if len(key) > _MAX_SECTION_KEY or not key.isascii() or not key.isdigit():
        return None
    return key


def _playing(found: dict[str, Any]) -> list[PlayingNotification] | None:
    """Return the reports of a `playing` container; None for another type."""
    if found.get("type") != "playing":
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
