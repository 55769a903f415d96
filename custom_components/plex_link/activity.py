"""Who is watching what: the live activity of the account's own Plex Media Servers.

Each owned server plex.tv lists with an access token gets one coordinator. It
reads `/status/sessions` with that server's token (never the account's) when
the websocket opens, when a `playing` notification tells of a real change (a
session it does not know, a stop, another state or media, a seek), debounced
to one read a second, and, as a safety net, every five minutes while the
websocket is up. Players send `playing` with every timeline report, up to once
a second, mostly with nothing changed: those move the session's position from
the notification itself, with no read, as core Plex's websocket library
decides. While the websocket is down, the poll runs every 30 seconds: it is
then the only news besides a Plex Pass webhook, and 30 seconds is what a
poll-based tool offers, for 120 small local requests an hour that stop once
the listener reconnects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .client import create_server_client
from .const import DOMAIN, LOGGER
from .coordinator import PlexLinkConfigEntry
from .plexserver import (
    LibraryChange,
    NotificationListener,
    PlayingNotification,
    PlaySession,
    PlexServerAuthenticationError,
    PlexServerClient,
    PlexServerError,
    WebhookEvent,
)
from .plexserver.webhook import PLAYBACK_EVENTS
from .plextv import Server
from .tracker import PlexLinkServerTracker

POLL_INTERVAL = timedelta(minutes=5)
FALLBACK_POLL_INTERVAL = timedelta(seconds=30)
REFRESH_COOLDOWN = 1.0
SEEK_TOLERANCE = timedelta(seconds=5)


def activity_signal(entry: PlexLinkConfigEntry) -> str:
    """Return the signal that hands a server's coordinator to the sensors once it answered."""
    return f"{DOMAIN}_{entry.entry_id}_activity"


def library_signal(entry: PlexLinkConfigEntry, machine_identifier: str) -> str:
    """Return the signal that tells of a server's word that its libraries changed."""
    return f"{DOMAIN}_{entry.entry_id}_{machine_identifier}_library"


def retired_signal(entry: PlexLinkConfigEntry, machine_identifier: str) -> str:
    """Return the signal that tells a server's activity sensors to go away."""
    return f"{DOMAIN}_{entry.entry_id}_{machine_identifier}_activity_retired"


def followed(entry: PlexLinkConfigEntry) -> list[PlexLinkActivityCoordinator]:
    """Return the coordinators of the servers whose activity Plex Link sees now."""
    return [
        coordinator
        for coordinator in entry.runtime_data.activity.values()
        if coordinator.answering
    ]


@dataclass(frozen=True, kw_only=True)
class _Heard:
    """What Plex Link last heard of a session: from a notification, or from a read."""

    state: str | None
    rating_key: str | None
    key: str | None
    view_offset_ms: int | None
    at: datetime

    @classmethod
    def of_session(cls, session: PlaySession) -> _Heard:
        """Return what a read said of a session."""
        return cls(
            state=session.state,
            rating_key=session.rating_key,
            key=session.key,
            view_offset_ms=session.view_offset_ms,
            at=session.position_at,
        )

    def after(self, report: PlayingNotification, at: datetime) -> _Heard:
        """Return what is known after a report at a moment: its fields, else these."""
        moved = report.view_offset_ms is not None
        return _Heard(
            state=report.state or self.state,
            rating_key=report.rating_key or self.rating_key,
            key=report.key or self.key,
            view_offset_ms=report.view_offset_ms if moved else self.view_offset_ms,
            at=at if moved else self.at,
        )

    def changed(self, report: PlayingNotification) -> bool:
        """Tell whether a report tells of another state or media than this."""
        return (
            (report.state is not None and report.state != self.state)
            or _differ(report.rating_key, self.rating_key)
            or _differ(report.key, self.key)
        )

    def sought(self, report: PlayingNotification, at: datetime) -> bool:
        """Tell whether a report's position is off by more than SEEK_TOLERANCE from this one's course."""
        if report.view_offset_ms is None or self.view_offset_ms is None:
            return False
        expected = timedelta(milliseconds=self.view_offset_ms)
        if self.state == "playing":
            expected += max(at - self.at, timedelta(0))
        return (
            abs(timedelta(milliseconds=report.view_offset_ms) - expected)
            > SEEK_TOLERANCE
        )


_NOTHING_HEARD = _Heard(
    state=None,
    rating_key=None,
    key=None,
    view_offset_ms=None,
    at=dt_util.utc_from_timestamp(0),
)


def _differ(reported: str | None, known: str | None) -> bool:
    """Tell whether two values differ where both are known."""
    return reported is not None and known is not None and reported != known


class PlexLinkActivityCoordinator(DataUpdateCoordinator[list[PlaySession]]):
    """Follows what one owned Plex Media Server is playing.

    data is the server's sessions as of the last read, with the positions that
    `playing` notifications moved since; listeners are told of both. A server
    that refuses its token (401/403) is logged once at info level; it is then
    neither polled nor listened to, its sensors are unavailable, and it is
    asked again each time plex.tv lists it (every five minutes).
    """

    config_entry: PlexLinkConfigEntry
    request_timeout: float = 10.0
    connect_timeout: float = 5.0

    def __init__(
        self, hass: HomeAssistant, entry: PlexLinkConfigEntry, server: Server
    ) -> None:
        """Prepare to follow server with its own access token."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {server.name} activity",
            update_interval=FALLBACK_POLL_INTERVAL,
            request_refresh_debouncer=Debouncer(
                hass, LOGGER, cooldown=REFRESH_COOLDOWN, immediate=True
            ),
        )
        self.machine_identifier = server.machine_identifier
        self.server_name = server.name
        self.refused = False
        self._stopped = False
        self._was_connected = False
        self._read_asked = False
        self._access_token = server.access_token
        self._heard: dict[str, _Heard] = {}
        self.client = self._create_client(server)
        self._listener = self._create_listener()

    def _create_client(self, server: Server) -> PlexServerClient:
        """Return a client for the server on Home Assistant's shared session."""
        return create_server_client(
            self.hass,
            self.config_entry.runtime_data.coordinator.client,
            server,
            request_timeout=self.request_timeout,
            connect_timeout=self.connect_timeout,
        )

    def _create_listener(self) -> NotificationListener:
        """Return a listener for the server's notifications through the client."""
        return NotificationListener(
            self.client,
            on_playing=self.async_handle_playing,
            on_open=self._async_opened,
            on_connection=self._async_connection_changed,
            on_library=self._async_library_changed,
        )

    @property
    def answering(self) -> bool:
        """Tell whether the last read succeeded and the server shares its activity."""
        return self.last_update_success and not self.refused and self.data is not None

    @property
    def listening(self) -> bool:
        """Return whether the notification websocket is open."""
        return self._listener.connected

    async def async_start(self) -> None:
        """Read the sessions, then follow the notifications unless the server refused."""
        await self.async_refresh()

    async def async_stop(self) -> None:
        """Close the websocket and stop polling, for good."""
        self._stopped = True
        await self._listener.stop()
        await self.async_shutdown()

    async def async_update_server(self, server: Server) -> None:
        """Take plex.tv's latest view of the server: its connections and access token.

        A new token gets a new client and listener (the old socket is closed
        first); a server that refused is asked again.
        """
        self.server_name = server.name
        if server.access_token != self._access_token:
            await self._listener.stop()
            self._access_token = server.access_token
            self.client = self._create_client(server)
            self._listener = self._create_listener()
            self._was_connected = False
            await self.async_refresh()
            return
        self.client.update_connections(
            [connection.uri for connection in server.connections]
        )
        if self.refused:
            await self.async_refresh()

    @callback
    def async_request_refresh_soon(self) -> None:
        """Read the sessions again, at most once a second; nothing once refused or stopped."""
        if not self.refused and not self._stopped:
            self._read_asked = True
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{self.name} refresh"
            )

    @callback
    def async_handle_playing(self, reports: list[PlayingNotification]) -> None:
        """Follow a `playing` notification: read on a real change, else move positions.

        A real change is a session not heard of, a stop, another state or media
        (buffering is passing and ignored), or a seek; a notification whose
        reports cannot be read, or one after a failed read, asks for a read
        too. Otherwise each session moves to the position its report gives,
        true now, and the listeners are told, with no read and without
        rescheduling the safety poll. Each report is compared with the last
        one heard of its session, so a change asks for one read however long
        that read takes.
        """
        if self.refused or self._stopped:
            return
        if not reports or self.data is None or not self.last_update_success:
            self.async_request_refresh_soon()
            return
        now = dt_util.utcnow()
        known = {session.session_key: session for session in self.data}
        moved: dict[str, int] = {}
        read = False
        for report in reports:
            key = report.session_key
            if report.state == "buffering":
                continue
            if report.state == "stopped":
                self._heard.pop(key, None)
                read = True
                continue
            session = known.get(key)
            heard = self._heard.get(key) or (
                _Heard.of_session(session) if session else None
            )
            if heard is None:
                heard = _NOTHING_HEARD
                read = True
            elif heard.changed(report) or heard.sought(report, now):
                read = True
            elif (
                session is not None
                and report.view_offset_ms is not None
                and report.view_offset_ms != session.view_offset_ms
            ):
                moved[key] = report.view_offset_ms
            self._heard[key] = heard.after(report, now)
        if read:
            self.async_request_refresh_soon()
        if moved:
            self.data = [
                session.moved(moved[session.session_key], now)
                if session.session_key in moved
                else session
                for session in self.data
            ]
            self.async_update_listeners()

    @callback
    def _async_library_changed(self, change: LibraryChange) -> None:
        """Pass the server's word that libraries changed on to whoever follows them."""
        async_dispatcher_send(
            self.hass,
            library_signal(self.config_entry, self.machine_identifier),
            change,
        )

    @callback
    def _async_opened(self) -> None:
        """Read everything again when the socket opens: nobody listened meanwhile."""
        self._heard.clear()
        self.async_request_refresh_soon()

    @callback
    def _async_connection_changed(self, connected: bool) -> None:
        """Poll slowly while the websocket is up; after a loss, read now and poll faster."""
        self.update_interval = POLL_INTERVAL if connected else FALLBACK_POLL_INTERVAL
        if self._was_connected and not connected:
            self.async_request_refresh_soon()
        self._was_connected = connected

    async def _async_update_data(self) -> list[PlaySession]:
        """Read the sessions; a refusal is a state of its own, not an outage."""
        self._read_asked = False
        try:
            sessions = await self.client.get_sessions()
        except PlexServerAuthenticationError as err:
            if not self.refused:
                self.refused = True
                self.update_interval = None
                LOGGER.info(
                    "%s does not let Plex Link see its activity (%s); its activity "
                    "sensors stay off until it does",
                    self.server_name,
                    err,
                )
            return []
        except PlexServerError as err:
            # Without the chained aiohttp error: that names the server's address,
            # and the coordinator logs the traceback at debug level.
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="activity_unavailable",
                translation_placeholders={
                    "server": self.server_name,
                    "error": str(err),
                },
            ) from None
        if self.refused:
            self.refused = False
            self.update_interval = (
                POLL_INTERVAL if self._listener.connected else FALLBACK_POLL_INTERVAL
            )
            LOGGER.info("%s lets Plex Link see its activity again", self.server_name)
        read = {session.session_key for session in sessions}
        self._heard = {key: heard for key, heard in self._heard.items() if key in read}
        return sessions

    @callback
    def _async_refresh_finished(self) -> None:
        """Listen to the server's notifications while it shares its activity.

        A read asked for while this one ran is asked for again: Home Assistant
        drops it, as if the read running answered it, but that one may have
        begun before the change.
        """
        if self._stopped:
            return
        if self._read_asked and self.last_update_success:
            self.async_request_refresh_soon()
        if self.refused:
            if self._listener.running:
                self.config_entry.async_create_background_task(
                    self.hass, self._listener.stop(), f"{self.name} listener stop"
                )
        elif not self._listener.running:
            self._listener.start()


class PlexLinkActivityTracker(PlexLinkServerTracker[PlexLinkActivityCoordinator]):
    """Keeps one activity coordinator per owned server of an entry, as plex.tv lists them."""

    def __init__(self, hass: HomeAssistant, entry: PlexLinkConfigEntry) -> None:
        """Track the entry's owned servers; the coordinators live in its runtime data."""
        super().__init__(hass, entry, entry.runtime_data.activity, name="activity")

    def follows(self, server: Server) -> bool:
        """Follow the servers the account owns, with their access token."""
        return server.owned and bool(server.access_token)

    def create(self, server: Server) -> PlexLinkActivityCoordinator:
        """Return a coordinator of the server's activity."""
        return PlexLinkActivityCoordinator(self._hass, self._entry, server)

    def announce_signal(self) -> str:
        """Hand coordinators to the activity sensors and the media players."""
        return activity_signal(self._entry)

    def retired_signal(self, machine_identifier: str) -> str:
        """Tell a server's activity sensors and media players to go away."""
        return retired_signal(self._entry, machine_identifier)

    def handle_event(
        self, coordinator: PlexLinkActivityCoordinator, event: WebhookEvent
    ) -> None:
        """Read a server's sessions again when it posts a playback event.

        Only while its websocket is closed: an open one has told of the same
        change already, and a second read would only delay the next one.
        """
        if event.event in PLAYBACK_EVENTS and not coordinator.listening:
            coordinator.async_request_refresh_soon()
