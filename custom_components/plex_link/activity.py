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

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from homeassistant.core import HassJob, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.dispatcher import (
    async_dispatcher_connect,
    async_dispatcher_send,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .coordinator import PlexLinkConfigEntry
from .plexserver import (
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
from .webhooks import event_signal

POLL_INTERVAL = timedelta(minutes=5)
FALLBACK_POLL_INTERVAL = timedelta(seconds=30)
REFRESH_COOLDOWN = 1.0
SEEK_TOLERANCE = timedelta(seconds=5)


def activity_signal(entry: PlexLinkConfigEntry) -> str:
    """Return the signal that hands a server's coordinator to the sensors once it answered."""
    return f"{DOMAIN}_{entry.entry_id}_activity"


def retired_signal(entry: PlexLinkConfigEntry, machine_identifier: str) -> str:
    """Return the signal that tells a server's activity sensors to go away."""
    return f"{DOMAIN}_{entry.entry_id}_{machine_identifier}_activity_retired"


def followed(entry: PlexLinkConfigEntry) -> list[PlexLinkActivityCoordinator]:
    """Return the coordinators of the servers whose activity Plex Link sees now."""
    return [
        coordinator
        for coordinator in entry.runtime_data.activity.values()
        if coordinator.last_update_success
        and not coordinator.refused
        and coordinator.data is not None
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
        self._access_token = server.access_token
        self._heard: dict[str, _Heard] = {}
        self.client = self._create_client(server)
        self._listener = self._create_listener()

    def _create_client(self, server: Server) -> PlexServerClient:
        """Return a client for the server on Home Assistant's shared session."""
        return PlexServerClient(
            async_get_clientsession(self.hass),
            identity_headers=self.config_entry.runtime_data.coordinator.client.headers(),
            access_token=server.access_token or "",
            connections=[connection.uri for connection in server.connections],
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
        )

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
        """Listen to the server's notifications while it shares its activity."""
        if self._stopped:
            return
        if self.refused:
            if self._listener.running:
                self.config_entry.async_create_background_task(
                    self.hass, self._listener.stop(), f"{self.name} listener stop"
                )
        elif not self._listener.running:
            self._listener.start()


class PlexLinkActivityTracker:
    """Keeps one activity coordinator per owned server of an entry, as plex.tv lists them."""

    def __init__(self, hass: HomeAssistant, entry: PlexLinkConfigEntry) -> None:
        """Track the entry's servers; the coordinators live in its runtime data."""
        self._hass = hass
        self._entry = entry
        self._coordinators = entry.runtime_data.activity
        self._announced: set[str] = set()
        self._sync_task: asyncio.Task[None] | None = None
        self._sync_again = False
        self._stopped = False

    @callback
    def async_start(self) -> None:
        """Follow the servers now and after each plex.tv refresh; stop on unload and at shutdown."""
        entry = self._entry
        runtime = entry.runtime_data
        entry.async_on_unload(runtime.coordinator.async_add_listener(self._async_sync))
        entry.async_on_unload(
            async_dispatcher_connect(
                self._hass, event_signal(entry), self._async_handle_event
            )
        )
        entry.async_on_unload(
            self._hass.async_add_shutdown_job(
                HassJob(self.async_stop, f"{DOMAIN} activity stop")
            )
        )
        entry.async_on_unload(self.async_stop)
        self._async_sync()

    async def async_stop(self) -> None:
        """Stop every coordinator: no socket stays open, no poll runs."""
        self._stopped = True
        if (task := self._sync_task) is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        await asyncio.gather(
            *(coordinator.async_stop() for coordinator in self._coordinators.values())
        )

    @callback
    def _async_sync(self) -> None:
        """Match the coordinators to plex.tv's latest list, in one background task."""
        if (
            self._stopped
            or not self._entry.runtime_data.coordinator.last_update_success
        ):
            return
        if self._sync_task is not None and not self._sync_task.done():
            self._sync_again = True
            return
        self._sync_task = self._entry.async_create_background_task(
            self._hass, self._async_sync_now(), f"{DOMAIN} activity"
        )

    async def _async_sync_now(self) -> None:
        """Add, update and remove coordinators until they match plex.tv's latest list."""
        self._sync_again = True
        while self._sync_again and not self._stopped:
            self._sync_again = False
            servers = {
                machine_identifier: server
                for machine_identifier, server in (
                    self._entry.runtime_data.coordinator.data.servers.items()
                )
                if server.owned and server.access_token
            }
            for machine_identifier in set(self._coordinators) - set(servers):
                await self._coordinators.pop(machine_identifier).async_stop()
                if machine_identifier in self._announced:
                    self._announced.discard(machine_identifier)
                    async_dispatcher_send(
                        self._hass, retired_signal(self._entry, machine_identifier)
                    )
            await asyncio.gather(
                *(self._async_follow(server) for server in servers.values())
            )

    async def _async_follow(self, server: Server) -> None:
        """Start following a new server, or bring a followed one up to date."""
        if (coordinator := self._coordinators.get(server.machine_identifier)) is None:
            coordinator = PlexLinkActivityCoordinator(self._hass, self._entry, server)
            self._coordinators[server.machine_identifier] = coordinator
            coordinator.async_add_listener(lambda: self._async_announce(coordinator))
            await coordinator.async_start()
        else:
            await coordinator.async_update_server(server)
        self._async_announce(coordinator)

    @callback
    def _async_announce(self, coordinator: PlexLinkActivityCoordinator) -> None:
        """Hand a coordinator to the sensors the first time its server shares activity."""
        machine_identifier = coordinator.machine_identifier
        if (
            machine_identifier not in self._announced
            and coordinator.last_update_success
            and not coordinator.refused
            and self._coordinators.get(machine_identifier) is coordinator
        ):
            self._announced.add(machine_identifier)
            async_dispatcher_send(self._hass, activity_signal(self._entry), coordinator)

    @callback
    def _async_handle_event(self, event: WebhookEvent) -> None:
        """Read a server's sessions again when it posts a playback event.

        Only while its websocket is closed: an open one has told of the same
        change already, and a second read would only delay the next one.
        """
        if (
            event.event in PLAYBACK_EVENTS
            and (coordinator := self._coordinators.get(event.server_uuid))
            and not coordinator.listening
        ):
            coordinator.async_request_refresh_soon()
