"""Plex Link: link a Plex account to Home Assistant with a plex.tv/link code."""

from __future__ import annotations

from homeassistant.const import CONF_TOKEN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from .access import (
    async_get_account,
    async_get_headers,
    async_get_servers,
    async_get_token,
)
from .client import async_create_client, async_sign_out
from .const import CONF_CLIENT_IDENTIFIER, DOMAIN
from .coordinator import (
    PING_INTERVAL,
    PlexLinkConfigEntry,
    PlexLinkCoordinator,
    PlexLinkRuntimeData,
)
from .services import async_setup_services

__all__ = [
    "async_get_account",
    "async_get_headers",
    "async_get_servers",
    "async_get_token",
]

PLATFORMS = [Platform.BINARY_SENSOR, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once, whatever the number of linked accounts."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> bool:
    """Check the stored token with plex.tv, then set up the account's entities."""
    client = await async_create_client(hass, entry.data[CONF_CLIENT_IDENTIFIER])
    coordinator = PlexLinkCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = PlexLinkRuntimeData(coordinator=coordinator)
    entry.async_on_unload(
        async_track_time_interval(
            hass, coordinator.async_ping, PING_INTERVAL, name=f"{DOMAIN} ping"
        )
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> bool:
    """Unload the account's entities."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> None:
    """Sign the entry's token out at plex.tv; a failure does not block removal."""
    client = await async_create_client(hass, entry.data[CONF_CLIENT_IDENTIFIER])
    await async_sign_out(client, entry.data[CONF_TOKEN], entry.title)
