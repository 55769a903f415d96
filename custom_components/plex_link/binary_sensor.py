"""Binary sensors of Plex Link: Plex Pass, and whether each server is online."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import PlexLinkConfigEntry, PlexLinkData
from .entity import PlexLinkEntity, PlexLinkServerEntity, async_add_server_entities
from .plextv import Server

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PlexLinkAccountBinarySensorDescription(BinarySensorEntityDescription):
    """Describes a binary sensor of the account."""

    value_fn: Callable[[PlexLinkData], bool]


@dataclass(frozen=True, kw_only=True)
class PlexLinkServerBinarySensorDescription(BinarySensorEntityDescription):
    """Describes a binary sensor of a server."""

    value_fn: Callable[[Server], bool]


ACCOUNT_DESCRIPTIONS = (
    PlexLinkAccountBinarySensorDescription(
        key="plex_pass",
        translation_key="plex_pass",
        value_fn=lambda data: data.account.plex_pass,
    ),
)
SERVER_DESCRIPTIONS = (
    PlexLinkServerBinarySensorDescription(
        key="online",
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        value_fn=lambda server: server.online,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlexLinkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's binary sensors and those of every server."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        PlexLinkAccountBinarySensor(coordinator, description)
        for description in ACCOUNT_DESCRIPTIONS
    )
    async_add_server_entities(
        entry,
        async_add_entities,
        lambda machine_identifier: (
            PlexLinkServerBinarySensor(coordinator, description, machine_identifier)
            for description in SERVER_DESCRIPTIONS
        ),
    )


class PlexLinkAccountBinarySensor(PlexLinkEntity, BinarySensorEntity):
    """A binary sensor of the account."""

    entity_description: PlexLinkAccountBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Return the sensor's value from the last refresh."""
        return self.entity_description.value_fn(self.coordinator.data)


class PlexLinkServerBinarySensor(PlexLinkServerEntity, BinarySensorEntity):
    """A binary sensor of a server."""

    entity_description: PlexLinkServerBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Return the sensor's value from the last refresh."""
        return self.entity_description.value_fn(self.server)
