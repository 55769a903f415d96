"""Who is watching what: the live activity of the account's own Plex Media Servers.

Each owned server plex.tv lists with an access token gets one coordinator. It
reads `/status/sessions` with that server's token (never the account's), when
the server's notification websocket says playback changed (debounced to one
read a second) and, as a safety net, every five minutes while the websocket is
up. While it is down, the poll runs every 30 seconds: it is then the only news
besides a Plex Pass webhook, and 30 seconds is what a poll-based tool offers,
for 120 small local requests an hour that stop once the listener reconnects.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from homeassistant.core import HassJob, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.dispatcher import (
    async_dispatcher_connect,
    async_dispatcher_send,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import DOMAIN, LOGGER
from .coordinator import PlexLinkConfigEntry
from .plexserver import (
    NotificationListener,
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


class PlexLinkActivityCoordinator(DataUpdateCoordinator[list[PlaySession]]):
    """Follows what one owned Plex Media Server is playing.

    A server that refuses its token (401/403) is logged once at info level;
    it is then neither polled nor listened to, its sensors are unavailable,
    and it is asked again each time plex.tv lists it (every five minutes).
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
            on_change=self.async_request_refresh_soon,
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
        if runtime.webhook.receiving:
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
