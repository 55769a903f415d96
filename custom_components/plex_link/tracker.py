"""One coordinator per server of an entry, kept in step with plex.tv's list of servers."""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.dispatcher import (
    async_dispatcher_connect,
    async_dispatcher_send,
)

from .const import DOMAIN
from .coordinator import PlexLinkConfigEntry
from .plexserver import WebhookEvent
from .plextv import Server
from .webhooks import event_signal


class ServerCoordinator(Protocol):
    """What a tracker needs of the coordinator of one server."""

    machine_identifier: str

    @property
    def answering(self) -> bool:
        """Tell whether the server answered the last read and lets Plex Link read."""

    def async_add_listener(
        self, update_callback: CALLBACK_TYPE, context: Any = None
    ) -> Callable[[], None]:
        """Call update_callback after each read."""

    async def async_start(self) -> None:
        """Read the server for the first time."""

    async def async_update_server(self, server: Server) -> None:
        """Take plex.tv's latest view of the server."""

    async def async_stop(self) -> None:
        """Stop reading the server, for good."""


class PlexLinkServerTracker[CoordinatorT: ServerCoordinator](ABC):
    """Keeps one coordinator per server an entry follows, as plex.tv lists them.

    The coordinators live in a dictionary of the entry's runtime data, by
    machine identifier. A coordinator is handed to the platforms (on
    announce_signal) the first time its server answers, and its entities are
    told to go (on retired_signal) when plex.tv no longer lists the server.
    The servers' webhook posts reach handle_event.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PlexLinkConfigEntry,
        coordinators: dict[str, CoordinatorT],
        *,
        name: str,
    ) -> None:
        """Track the entry's servers into coordinators; name the background tasks with name."""
        self._hass = hass
        self._entry = entry
        self._coordinators = coordinators
        self._name = name
        self._announced: set[str] = set()
        self._sync_task: asyncio.Task[None] | None = None
        self._sync_again = False
        self._stopped = False

    @abstractmethod
    def follows(self, server: Server) -> bool:
        """Tell whether the server gets a coordinator."""

    @abstractmethod
    def create(self, server: Server) -> CoordinatorT:
        """Return a new coordinator for the server."""

    @abstractmethod
    def announce_signal(self) -> str:
        """Return the signal that hands a coordinator to the platforms."""

    @abstractmethod
    def retired_signal(self, machine_identifier: str) -> str:
        """Return the signal that tells a server's entities to go away."""

    @abstractmethod
    def handle_event(self, coordinator: CoordinatorT, event: WebhookEvent) -> None:
        """Follow a webhook post of the coordinator's server."""

    @callback
    def async_start(self) -> None:
        """Follow the servers now and after each plex.tv refresh; stop on unload and at shutdown."""
        entry = self._entry
        entry.async_on_unload(
            entry.runtime_data.coordinator.async_add_listener(self._async_sync)
        )
        entry.async_on_unload(
            async_dispatcher_connect(
                self._hass, event_signal(entry), self._async_handle_event
            )
        )
        entry.async_on_unload(
            self._hass.async_add_shutdown_job(
                HassJob(self.async_stop, f"{DOMAIN} {self._name} stop")
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
            self._hass, self._async_sync_now(), f"{DOMAIN} {self._name}"
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
                if self.follows(server)
            }
            for machine_identifier in set(self._coordinators) - set(servers):
                await self._coordinators.pop(machine_identifier).async_stop()
                if machine_identifier in self._announced:
                    self._announced.discard(machine_identifier)
                    async_dispatcher_send(
                        self._hass, self.retired_signal(machine_identifier)
                    )
            await asyncio.gather(
                *(self._async_follow(server) for server in servers.values())
            )

    async def _async_follow(self, server: Server) -> None:
        """Start following a new server, or bring a followed one up to date."""
        if (coordinator := self._coordinators.get(server.machine_identifier)) is None:
            coordinator = self.create(server)
            self._coordinators[server.machine_identifier] = coordinator
            coordinator.async_add_listener(lambda: self._async_announce(coordinator))
            await coordinator.async_start()
        else:
            await coordinator.async_update_server(server)
        self._async_announce(coordinator)

    @callback
    def _async_announce(self, coordinator: CoordinatorT) -> None:
        """Hand a coordinator to the platforms the first time its server answers."""
        machine_identifier = coordinator.machine_identifier
        if (
            machine_identifier not in self._announced
            and coordinator.answering
            and self._coordinators.get(machine_identifier) is coordinator
        ):
            self._announced.add(machine_identifier)
            async_dispatcher_send(self._hass, self.announce_signal(), coordinator)

    @callback
    def _async_handle_event(self, event: WebhookEvent) -> None:
        """Pass a webhook post on for the coordinator of the server that sent it."""
        if (coordinator := self._coordinators.get(event.server_uuid)) is not None:
            self.handle_event(coordinator, event)
