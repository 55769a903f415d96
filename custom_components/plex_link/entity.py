"""Base entities of Plex Link: the account and the servers it can reach."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, MANUFACTURER
from .coordinator import (
    PlexLinkConfigEntry,
    PlexLinkCoordinator,
    server_device_identifier,
)
from .plextv import Server

if TYPE_CHECKING:
    from .activity import PlexLinkActivityCoordinator
    from .libraries import PlexLinkLibraryCoordinator


class PlexLinkEntity(CoordinatorEntity[PlexLinkCoordinator]):
    """An entity of the linked Plex account's device."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: PlexLinkCoordinator, description: EntityDescription
    ) -> None:
        """Attach the entity to the account's device."""
        super().__init__(coordinator)
        self.entity_description = description
        account_uuid = coordinator.data.account.uuid
        self._attr_unique_id = f"{account_uuid}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, account_uuid)})


class PlexLinkServerEntity(PlexLinkEntity):
    """An entity of one Plex Media Server the account can reach."""

    def __init__(
        self,
        coordinator: PlexLinkCoordinator,
        description: EntityDescription,
        machine_identifier: str,
    ) -> None:
        """Attach the entity to the server's device, which hangs off the account's."""
        super().__init__(coordinator, description)
        self.machine_identifier = machine_identifier
        account_uuid = coordinator.data.account.uuid
        server = self.server
        self._attr_unique_id = f"{account_uuid}_{machine_identifier}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={server_device_identifier(account_uuid, machine_identifier)},
            name=server.name,
            manufacturer=MANUFACTURER,
            model=server.product,
            sw_version=server.version or None,
            via_device_id=coordinator.config_entry.runtime_data.account_device_id,
        )

    @property
    def server(self) -> Server:
        """Return the server as of the last refresh."""
        return self.coordinator.data.servers[self.machine_identifier]

    @property
    def available(self) -> bool:
        """Tell whether plex.tv answered and still lists the server."""
        return (
            super().available
            and self.machine_identifier in self.coordinator.data.servers
        )


def async_add_server_entities(
    entry: PlexLinkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    create: Callable[[str], Iterable[Entity]],
) -> None:
    """Add entities for each server now, and for servers that appear later."""
    coordinator = entry.runtime_data.coordinator
    known: set[str] = set()

    def add_new_servers() -> None:
        current = set(coordinator.data.servers)
        known.intersection_update(current)
        new = current - known
        known.update(new)
        async_add_entities(
            entity
            for machine_identifier in sorted(new)
            for entity in create(machine_identifier)
        )

    add_new_servers()
    entry.async_on_unload(coordinator.async_add_listener(add_new_servers))


class PlexLinkServerFeedEntity[
    CoordinatorT: PlexLinkActivityCoordinator | PlexLinkLibraryCoordinator
](CoordinatorEntity[CoordinatorT]):
    """An entity of what one server tells its own coordinator, on the server's device.

    It is unavailable while the server refuses Plex Link, and goes out of the
    entity registry when retired_signal is sent (the server left).
    """

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: CoordinatorT,
        description: EntityDescription,
        *,
        retired_signal: str,
        key: str | None = None,
    ) -> None:
        """Attach the entity to the server's device; key tells apart one of several."""
        super().__init__(coordinator)
        self.entity_description = description
        self._retired_signal = retired_signal
        account_uuid = (
            coordinator.config_entry.runtime_data.coordinator.data.account.uuid
        )
        machine_identifier = coordinator.machine_identifier
        suffix = f"{key}_{description.key}" if key else description.key
        self._attr_unique_id = f"{account_uuid}_{machine_identifier}_{suffix}"
        self._attr_device_info = DeviceInfo(
            identifiers={server_device_identifier(account_uuid, machine_identifier)}
        )

    @property
    def available(self) -> bool:
        """Tell whether the last read succeeded and the server lets Plex Link read."""
        return super().available and not self.coordinator.refused

    async def async_added_to_hass(self) -> None:
        """Go away with the server."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(self.hass, self._retired_signal, self.async_retire)
        )

    @callback
    def async_retire(self) -> None:
        """Remove the entity from the entity registry, and so from Home Assistant."""
        registry = er.async_get(self.hass)
        if registry.async_get(self.entity_id) is not None:
            registry.async_remove(self.entity_id)
