"""Access to linked Plex accounts, for actions and for other integrations.

Another integration that needs the token or the servers of a linked account
calls these from the event loop::

    from custom_components.plex_link import async_get_token

    token = async_get_token(hass)  # the only linked account
    token = async_get_token(hass, entry_id)  # one of several

    for machine_identifier, session in async_get_sessions(hass):
        ...  # what the account's own servers are playing

Each raises Home Assistant's translated ServiceValidationError when no linked
account is loaded, several are and entry_id is missing, or entry_id is not a
loaded Plex Link entry.
"""

from __future__ import annotations

from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.service import async_get_config_entry

from .activity import followed
from .const import DOMAIN
from .coordinator import PlexLinkConfigEntry
from .plexserver import PlaySession
from .plextv import Account, Server


@callback
def async_get_entry(
    hass: HomeAssistant, entry_id: str | None = None
) -> PlexLinkConfigEntry:
    """Return the loaded Plex Link entry with entry_id, or the only one."""
    entry: PlexLinkConfigEntry = async_get_config_entry(hass, DOMAIN, entry_id)
    return entry


@callback
def async_get_token(hass: HomeAssistant, entry_id: str | None = None) -> str:
    """Return the token of a linked Plex account."""
    token: str = async_get_entry(hass, entry_id).data[CONF_TOKEN]
    return token


@callback
def async_get_headers(
    hass: HomeAssistant, entry_id: str | None = None
) -> dict[str, str]:
    """Return the headers for a plex.tv or Plex Media Server request as this account."""
    return entry_headers(async_get_entry(hass, entry_id))


def entry_headers(entry: PlexLinkConfigEntry) -> dict[str, str]:
    """Return the headers for a request as the entry's account."""
    return entry.runtime_data.coordinator.client.headers(entry.data[CONF_TOKEN])


@callback
def async_get_account(hass: HomeAssistant, entry_id: str | None = None) -> Account:
    """Return a linked Plex account as of the last refresh."""
    return async_get_entry(hass, entry_id).runtime_data.coordinator.data.account


@callback
def async_get_servers(hass: HomeAssistant, entry_id: str | None = None) -> list[Server]:
    """Return the Plex Media Servers a linked account can reach, connections best first."""
    data = async_get_entry(hass, entry_id).runtime_data.coordinator.data
    return list(data.servers.values())


@callback
def async_get_sessions(
    hass: HomeAssistant, entry_id: str | None = None
) -> list[tuple[str, PlaySession]]:
    """Return what a linked account's own servers are playing, as of their last read.

    Each session comes with its server's machine identifier. Servers that do
    not answer now, or do not let Plex Link see their activity, are left out.
    """
    return [
        (coordinator.machine_identifier, session)
        for coordinator in followed(async_get_entry(hass, entry_id))
        for session in coordinator.data
    ]
