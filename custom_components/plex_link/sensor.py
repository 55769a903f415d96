"""Sensors of Plex Link: the account's servers, each one's best address, and what owned ones play."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfDataRate
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .activity import PlexLinkActivityCoordinator, activity_signal, retired_signal
from .coordinator import PlexLinkConfigEntry, PlexLinkData, server_device_identifier
from .entity import PlexLinkEntity, PlexLinkServerEntity, async_add_server_entities
from .media import media_attributes
from .plexserver import PlaySession
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


@dataclass(frozen=True, kw_only=True)
class PlexLinkActivitySensorDescription(SensorEntityDescription):
    """Describes a sensor of what an owned server is playing."""

    value_fn: Callable[[list[PlaySession]], int]
    attributes_fn: Callable[[list[PlaySession]], dict[str, Any]] | None = None


ATTR_SESSIONS = "sessions"


def session_summary(session: PlaySession) -> dict[str, Any]:
    """Return who watches what on which player, compactly; never an address."""
    summary: dict[str, Any] = {
        "user": session.user,
        "player": session.player,
        **media_attributes(session, year=False),
        "state": session.state,
        "progress": round(session.progress * 100)
        if session.progress is not None
        else None,
        "transcoding": session.transcoding,
        "location": session.location,
    }
    return {key: value for key, value in summary.items() if value is not None}


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
ACTIVITY_DESCRIPTIONS = (
    PlexLinkActivitySensorDescription(
        key="watching",
        translation_key="watching",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=len,
        attributes_fn=lambda sessions: {
            ATTR_SESSIONS: [session_summary(session) for session in sessions]
        },
    ),
    PlexLinkActivitySensorDescription(
        key="transcoding",
        translation_key="transcoding",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda sessions: sum(session.transcoding for session in sessions),
    ),
    PlexLinkActivitySensorDescription(
        key="bandwidth",
        translation_key="bandwidth",
        device_class=SensorDeviceClass.DATA_RATE,
        native_unit_of_measurement=UnitOfDataRate.KILOBITS_PER_SECOND,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda sessions: sum(
            session.bandwidth_kbps or 0 for session in sessions
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlexLinkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's sensors, those of every server, and activity sensors as servers share it."""
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

    @callback
    def add_activity_sensors(activity: PlexLinkActivityCoordinator) -> None:
        """Add the activity sensors of a server that just let Plex Link see its sessions."""
        async_add_entities(
            PlexLinkActivitySensor(activity, description)
            for description in ACTIVITY_DESCRIPTIONS
        )

    entry.async_on_unload(
        async_dispatcher_connect(hass, activity_signal(entry), add_activity_sensors)
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


class PlexLinkActivitySensor(
    CoordinatorEntity[PlexLinkActivityCoordinator], SensorEntity
):
    """A sensor of what an owned server is playing, on the server's device.

    The list of sessions changes with every read; the recorder leaves it out.
    """

    entity_description: PlexLinkActivitySensorDescription
    _attr_has_entity_name = True
    _unrecorded_attributes = frozenset({ATTR_SESSIONS})

    def __init__(
        self,
        coordinator: PlexLinkActivityCoordinator,
        description: PlexLinkActivitySensorDescription,
    ) -> None:
        """Attach the sensor to the server's device."""
        super().__init__(coordinator)
        self.entity_description = description
        account_uuid = (
            coordinator.config_entry.runtime_data.coordinator.data.account.uuid
        )
        machine_identifier = coordinator.machine_identifier
        self._attr_unique_id = f"{account_uuid}_{machine_identifier}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={server_device_identifier(account_uuid, machine_identifier)}
        )

    async def async_added_to_hass(self) -> None:
        """Go away with the server's activity (the server left, or is no longer owned)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                retired_signal(
                    self.coordinator.config_entry, self.coordinator.machine_identifier
                ),
                self._async_retire,
            )
        )

    @callback
    def _async_retire(self) -> None:
        """Remove the sensor from the entity registry, and so from Home Assistant."""
        registry = er.async_get(self.hass)
        if registry.async_get(self.entity_id) is not None:
            registry.async_remove(self.entity_id)

    @property
    def available(self) -> bool:
        """Tell whether the last read succeeded and the server shares its activity."""
        return super().available and not self.coordinator.refused

    @property
    def native_value(self) -> int:
        """Return the sensor's value from the last read."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the sessions, for the sensor that lists them."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
