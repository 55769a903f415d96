"""Plex Link: link a Plex account to Home Assistant with a plex.tv/link code."""

from __future__ import annotations

from homeassistant.components.webhook import async_generate_id
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from .access import (
    async_get_account,
    async_get_headers,
    async_get_servers,
    async_get_sessions,
    async_get_token,
)
from .activity import PlexLinkActivityTracker
from .auth_view import PlexLinkSignedInView
from .client import async_create_client, async_sign_out
from .const import CONF_CLIENT_IDENTIFIER, DOMAIN, LOGGER, MANUFACTURER
from .coordinator import (
    PING_INTERVAL,
    PlexLinkConfigEntry,
    PlexLinkCoordinator,
    PlexLinkRuntimeData,
)
from .libraries import PlexLinkLibraryTracker
from .library_images import PlexLinkImageView
from .players import PlexLinkKnownPlayers, player_device_identifier
from .services import async_setup_services
from .webhooks import PlexLinkWebhook, async_remove_webhook

__all__ = [
    "async_get_account",
    "async_get_headers",
    "async_get_servers",
    "async_get_sessions",
    "async_get_token",
]

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.MEDIA_PLAYER,
    Platform.SENSOR,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
RETIRED_DATA = ("account_id", "account_uuid", "username")
RETIRED_SENSORS = ("username", "plan")


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, the sign-in page and the image view once, whatever the number of accounts."""
    async_setup_services(hass)
    hass.http.register_view(PlexLinkSignedInView)
    hass.http.register_view(PlexLinkImageView)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> bool:
    """Bring an entry of an earlier release to the current shape.

    1.2 keeps only the token, the client identifier and a new webhook id (the
    account's ids and name come from plex.tv at each refresh), and drops the
    username and plan sensors of 1.1, whose values never changed.
    """
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        entity_registry = er.async_get(hass)
        for key in RETIRED_SENSORS:
            if entity_id := entity_registry.async_get_entity_id(
                Platform.SENSOR, DOMAIN, f"{entry.unique_id}_{key}"
            ):
                entity_registry.async_remove(entity_id)
        data = {k: v for k, v in entry.data.items() if k not in RETIRED_DATA}
        data[CONF_WEBHOOK_ID] = async_generate_id()
        hass.config_entries.async_update_entry(entry, data=data, minor_version=2)
        LOGGER.debug("Migrated %s to version 1.2", entry.title)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> bool:
    """Check the stored token with plex.tv, set up the entities, follow the servers' activity."""
    client = await async_create_client(hass, entry.data[CONF_CLIENT_IDENTIFIER])
    coordinator = PlexLinkCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    account = coordinator.data.account
    account_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, account.uuid)},
        name=account.title,
        manufacturer=MANUFACTURER,
        model="Plex account",
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    webhook = PlexLinkWebhook(hass, entry, coordinator)
    players = PlexLinkKnownPlayers(hass, entry)
    await players.async_load()
    entry.runtime_data = PlexLinkRuntimeData(
        coordinator=coordinator,
        account_device_id=account_device.id,
        webhook=webhook,
        players=players,
    )
    webhook.async_start()
    entry.async_on_unload(
        async_track_time_interval(
            hass, coordinator.async_ping, PING_INTERVAL, name=f"{DOMAIN} ping"
        )
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    PlexLinkActivityTracker(hass, entry).async_start()
    PlexLinkLibraryTracker(hass, entry).async_start()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> bool:
    """Unload the account's entities."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> None:
    """Take Home Assistant out of the account's webhooks and sign the token out.

    The Home Assistant Cloud webhook, the webhook's repair and its failure
    record go too. Failures are logged and do not block removal.
    """
    client = await async_create_client(hass, entry.data[CONF_CLIENT_IDENTIFIER])
    await async_remove_webhook(hass, client, entry)
    await async_sign_out(client, entry.data[CONF_TOKEN], entry.title)
    await PlexLinkKnownPlayers(hass, entry).async_remove()


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: PlexLinkConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let a person remove a player's device; the account and its servers stay.

    The player comes back, with a new device, when a server names it again.
    """
    data = entry.runtime_data.coordinator.data
    if device.identifiers & data.device_identifiers:
        return False
    for known in list(entry.runtime_data.players.players.values()):
        if (
            player_device_identifier(data.account.uuid, *known.key)
            in device.identifiers
        ):
            entry.runtime_data.players.async_forget(*known.key)
    return True
