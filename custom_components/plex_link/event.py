"""Event entities of Plex Link: what each server posts to the account's webhook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import PlexLinkConfigEntry
from .entity import PlexLinkServerEntity
from .media import media_attributes
from .plexserver import WebhookEvent
from .webhooks import event_signal

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PlexLinkEventDescription(EventEntityDescription):
    """Describes an event entity by the Plex events it reports, and their types."""

    plex_events: Mapping[str, str]


DESCRIPTIONS = tuple(
    PlexLinkEventDescription(
        key=key,
        translation_key=key,
        event_types=list(plex_events.values()),
        plex_events=plex_events,
    )
    for key, plex_events in (
        (
            "playback",
            {
                "media.play": "play",
                "media.pause": "pause",
                "media.resume": "resume",
                "media.stop": "stop",
                "media.scrobble": "scrobble",
                "media.rate": "rate",
                "playback.started": "started",
            },
        ),
        ("library", {"library.new": "new", "library.on.deck": "on_deck"}),
        (
            "server",
            {
                "admin.database.backup": "database_backup",
                "admin.database.corrupted": "database_corrupted",
                "device.new": "new_device",
            },
        ),
    )
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlexLinkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Give every server event entities while the entry receives events, at each refresh.

    They appear when events are on and the account has Plex Pass, and go (with
    their registry entries) when either stops being true.
    """
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    registry = er.async_get(hass)
    added: set[str] = set()

    @callback
    def async_follow() -> None:
        if not runtime.webhook.receiving:
            added.clear()
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
                if entity.domain == Platform.EVENT:
                    registry.async_remove(entity.entity_id)
            return
        current = set(coordinator.data.servers)
        added.intersection_update(current)
        new = sorted(current - added)
        added.update(new)
        async_add_entities(
            PlexLinkServerEvent(coordinator, description, machine_identifier)
            for machine_identifier in new
            for description in DESCRIPTIONS
        )

    async_follow()
    entry.async_on_unload(coordinator.async_add_listener(async_follow))


def event_attributes(event: WebhookEvent) -> dict[str, Any]:
    """Return what an automation needs of an event; no address, no token."""
    attributes = {
        "player": event.player_title,
        "player_local": event.player_local,
        "user": event.account_title,
        "media_type": event.media_type,
        **media_attributes(event),
        "library": event.library_section_title,
    }
    return {key: value for key, value in attributes.items() if value is not None}


class PlexLinkServerEvent(PlexLinkServerEntity, EventEntity):
    """Fires when the server posts one of the entity's Plex events.

    Its data come from the server's posts, not from plex.tv: it stays
    available while the entry's handler is registered and the server is
    known, even while plex.tv cannot be reached.
    """

    entity_description: PlexLinkEventDescription

    @property
    def available(self) -> bool:
        """Tell whether the server's posts reach this entity."""
        return (
            self.coordinator.config_entry.runtime_data.webhook.listening
            and self.machine_identifier in self.coordinator.data.servers
        )

    async def async_added_to_hass(self) -> None:
        """Listen for the entry's Plex events."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                event_signal(self.coordinator.config_entry),
                self._async_handle_event,
            )
        )

    @callback
    def _async_handle_event(self, event: WebhookEvent) -> None:
        """Fire for this server's events of this entity's kind."""
        if event.server_uuid != self.machine_identifier:
            return
        if (event_type := self.entity_description.plex_events.get(event.event)) is None:
            return
        self._trigger_event(event_type, event_attributes(event))
        self.async_write_ha_state()
