"""Sensors of Plex Link: the account's servers, each one's best address, what owned ones play, and their libraries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import math
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfDataRate
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .activity import PlexLinkActivityCoordinator, activity_signal, retired_signal
from .const import DOMAIN
from .coordinator import PlexLinkConfigEntry, PlexLinkData
from .entity import (
    PlexLinkEntity,
    PlexLinkServerEntity,
    PlexLinkServerFeedEntity,
    async_add_server_entities,
)
from .libraries import (
    PlexLinkLibraryCoordinator,
    PlexLinkLibraryEntity,
    RecentItem,
    async_add_library_entities,
    libraries_retired_signal,
)
from .library_images import RESIGN_AFTER, async_image_url
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


@dataclass(frozen=True, kw_only=True)
class PlexLinkLibrarySensorDescription(SensorEntityDescription):
    """Describes a sensor of a server's libraries."""


LIBRARY_DESCRIPTIONS = (
    PlexLinkLibrarySensorDescription(
        key="library",
        translation_key="library",
        state_class=SensorStateClass.MEASUREMENT,
    ),
)
RECENTLY_ADDED_DESCRIPTIONS = (
    PlexLinkLibrarySensorDescription(
        key="recently_added",
        translation_key="recently_added",
        device_class=SensorDeviceClass.TIMESTAMP,
    ),
)
ATTR_DATA = "data"
ATTR_LIBRARY_COUNTS = ("episodes", "albums", "tracks")
CARD_DEFAULTS: dict[str, Any] = {
    "title_default": "$title",
    "line1_default": "$episode",
    "line2_default": "$release",
    "line3_default": "$number - $rating - $runtime",
    "line4_default": "$genres",
    "icon": "mdi:eye-off",
}
DEEP_LINK = (
    "https://app.plex.tv/desktop#!/server/{machine_identifier}"
    "/details?key=%2Flibrary%2Fmetadata%2F{rating_key}"
)
_CONTROL = dict.fromkeys(
    [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]
)


def _clean(value: str | None) -> str:
    """Return text as the server gave it, without control characters; empty for none."""
    return value.translate(_CONTROL) if value else ""


def _iso(moment: datetime | None) -> str:
    """Return a moment as ISO 8601 in UTC with a Z, as the card parses it; empty for none."""
    if moment is None:
        return ""
    return moment.astimezone(dt_util.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def card_item(
    hass: HomeAssistant, coordinator: PlexLinkLibraryCoordinator, recent: RecentItem
) -> dict[str, Any]:
    """Return one item of recently added in the upcoming-media-card's format.

    An episode is titled by its show, with its own title as episode and
    SxxEyy as number. airdate is when the item was added (the card shows and
    sorts by it, and skips items without one); aired is when it first aired
    or came out.
    """
    item = recent.item
    episode = item.media_type == "episode"
    aired = item.originally_available_at
    if episode and aired is not None:
        release = aired.isoformat()
    else:
        release = str(item.year) if item.year else ""
    number = ""
    if episode and item.season is not None and item.episode is not None:
        number = f"S{item.season:02d}E{item.episode:02d}"
    return {
        "title": _clean(item.show if episode else item.title),
        "episode": _clean(item.title) if episode else "",
        "number": number,
        "release": release,
        "airdate": _iso(item.added_at),
        "aired": aired.isoformat() if aired is not None else "",
        "runtime": math.floor(item.duration_ms / 60000) if item.duration_ms else "",
        "studio": _clean(item.studio),
        "rating": f"\N{BLACK STAR} {item.rating:.1f}" if item.rating else "",
        "genres": ", ".join(_clean(genre) for genre in item.genres),
        "summary": _clean(item.summary),
        "poster": async_image_url(hass, coordinator, item, "poster") or "",
        "fanart": async_image_url(hass, coordinator, item, "fanart") or "",
        "flag": False,
        "deep_link": DEEP_LINK.format(
            machine_identifier=coordinator.machine_identifier,
            rating_key=item.rating_key,
        ),
    }


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
    async_add_library_entities(
        hass,
        entry,
        async_add_entities,
        server=lambda libraries: (
            PlexLinkRecentlyAddedSensor(libraries, description)
            for description in RECENTLY_ADDED_DESCRIPTIONS
        ),
        library=lambda libraries, key: (
            PlexLinkLibrarySensor(libraries, description, key)
            for description in LIBRARY_DESCRIPTIONS
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


class PlexLinkActivitySensor(
    PlexLinkServerFeedEntity[PlexLinkActivityCoordinator], SensorEntity
):
    """A sensor of what an owned server is playing, on the server's device.

    The list of sessions changes with every read; the recorder leaves it out.
    It goes with the server's activity (the server left, or is no longer owned).
    """

    entity_description: PlexLinkActivitySensorDescription
    _unrecorded_attributes = frozenset({ATTR_SESSIONS})

    def __init__(
        self,
        coordinator: PlexLinkActivityCoordinator,
        description: PlexLinkActivitySensorDescription,
    ) -> None:
        """Attach the sensor to the server's device."""
        super().__init__(
            coordinator,
            description,
            retired_signal=retired_signal(
                coordinator.config_entry, coordinator.machine_identifier
            ),
        )

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


class PlexLinkLibrarySensor(PlexLinkLibraryEntity, SensorEntity):
    """The number of items of one library: films, shows, artists or photos.

    A library of shows tells its episodes too, one of artists its albums and
    tracks, as attributes.
    """

    @property
    def native_value(self) -> int | None:
        """Return the library's main count."""
        library = self.library
        return library.count if library is not None else None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the library's other counts, where it has any."""
        if (library := self.library) is None:
            return None
        return {
            name: library.counts[name]
            for name in ATTR_LIBRARY_COUNTS
            if name in library.counts
        } or None


class PlexLinkRecentlyAddedSensor(
    PlexLinkServerFeedEntity[PlexLinkLibraryCoordinator], SensorEntity
):
    """When the newest film or episode of a server was added, with the newest in the card's format.

    A timestamp, so that an automation triggers on each new item. The data
    attribute holds the upcoming-media-card's list, posters as signed URLs
    that are signed anew every RESIGN_AFTER; the recorder leaves it out.
    """

    entity_description: PlexLinkLibrarySensorDescription
    _unrecorded_attributes = frozenset({ATTR_DATA})

    def __init__(
        self,
        coordinator: PlexLinkLibraryCoordinator,
        description: PlexLinkLibrarySensorDescription,
    ) -> None:
        """Attach the sensor to the server's device."""
        super().__init__(
            coordinator,
            description,
            retired_signal=libraries_retired_signal(
                coordinator.config_entry, coordinator.machine_identifier
            ),
        )

    async def async_added_to_hass(self) -> None:
        """Sign the posters anew before they expire."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_track_time_interval(
                self.hass,
                self._async_resign,
                RESIGN_AFTER,
                name=f"{DOMAIN} recently added signatures",
            )
        )

    @callback
    def _async_resign(self, _now: datetime) -> None:
        """Write the state again, with URLs signed anew where they are old."""
        if self.available:
            self.async_write_ha_state()

    @property
    def native_value(self) -> datetime | None:
        """Return when the newest film or episode was added."""
        for recent in self.coordinator.data.recently_added:
            if recent.item.added_at is not None:
                return recent.item.added_at
        return None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the newest films and episodes in the upcoming-media-card's format."""
        return {
            ATTR_DATA: [
                CARD_DEFAULTS,
                *(
                    card_item(self.hass, self.coordinator, recent)
                    for recent in self.coordinator.data.recently_added
                ),
            ]
        }
