"""Base entities of Plex Link: the account and the servers it can reach."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.helpers.device_registry import DeviceInfo
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
