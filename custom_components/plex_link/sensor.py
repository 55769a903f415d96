"""Sensors of Plex Link: how many servers the account reaches, each server's best address."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import PlexLinkConfigEntry, PlexLinkData
from .entity import PlexLinkEntity, PlexLinkServerEntity, async_add_server_entities
from .plextv import Server

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PlexLinkAccountSensorDescription(SensorEntityDescription):
    """Describes a sensor of the account."""

    value_fn: Callable[[PlexLinkData], int]


@dataclass(frozen=True, kw_only=True)
class PlexLinkServerSensorDescription(SensorEntityDescription):
    """Describes a sensor of a server."""

    value_fn: Callable[[Server], str | None]


ACCOUNT_DESCRIPTIONS = (
    PlexLinkAccountSensorDescription(
        key="servers",
        translation_key="servers",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.servers),
    ),
)
SERVER_DESCRIPTIONS = (
    PlexLinkServerSensorDescription(
        key="best_connection",
        translation_key="best_connection",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda server: (
            server.best_connection.uri if server.best_connection else None
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlexLinkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's sensors and those of every server."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        PlexLinkAccountSensor(coordinator, description)
        for description in ACCOUNT_DESCRIPTIONS
    )
    async_add_server_entities(
        entry,
        async_add_entities,
        lambda machine_identifier: (
            PlexLinkServerSensor(coordinator, description, machine_identifier)
            for description in SERVER_DESCRIPTIONS
        ),
    )


class PlexLinkAccountSensor(PlexLinkEntity, SensorEntity):
    """A sensor of the account."""

    entity_description: PlexLinkAccountSensorDescription

    @property
    def native_value(self) -> int:
        """Return the sensor's value from the last refresh."""
        return self.entity_description.value_fn(self.coordinator.data)


class PlexLinkServerSensor(PlexLinkServerEntity, SensorEntity):
    """A sensor of a server."""

    entity_description: PlexLinkServerSensorDescription

    @property
    def native_value(self) -> str | None:
        """Return the sensor's value from the last refresh."""
        return self.entity_description.value_fn(self.server)
