"""Plex Link: link a Plex account to Home Assistant with a plex.tv/link code."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady

from .api import async_create_client
from .const import CONF_CLIENT_IDENTIFIER, DOMAIN, LOGGER
from .plextv import Account, PlexTvAuthenticationError, PlexTvClient, PlexTvError


@dataclass(kw_only=True, slots=True)
class PlexLinkData:
    """What a loaded Plex Link entry holds at run time."""

    client: PlexTvClient
    account: Account


type PlexLinkConfigEntry = ConfigEntry[PlexLinkData]


async def async_setup_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> bool:
    """Check the stored token with plex.tv and keep the account it belongs to."""
    client = await async_create_client(hass, entry.data[CONF_CLIENT_IDENTIFIER])
    try:
        account = await client.get_account(entry.data[CONF_TOKEN])
    except PlexTvAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="token_rejected"
        ) from err
    except PlexTvError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="plex_tv_unreachable",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = PlexLinkData(client=client, account=account)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> bool:
    """Unload an entry; it holds no platforms or listeners yet."""
    return True


async def async_remove_entry(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> None:
    """Sign the entry's token out at plex.tv; a failure does not block removal."""
    client = await async_create_client(hass, entry.data[CONF_CLIENT_IDENTIFIER])
    try:
        await client.sign_out(entry.data[CONF_TOKEN])
    except PlexTvAuthenticationError:
        LOGGER.debug("The token of %s was already revoked at plex.tv", entry.title)
    except PlexTvError as err:
        LOGGER.warning(
            "Could not sign %s out of plex.tv; revoke Home Assistant under "
            "Authorized Devices in your Plex account instead: %s",
            entry.title,
            err,
        )
