"""Keeps the linked account and its servers fresh from plex.tv."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import DOMAIN, LOGGER
from .plextv import (
    Account,
    PlexTvAuthenticationError,
    PlexTvClient,
    PlexTvError,
    Server,
)

if TYPE_CHECKING:
    from .activity import PlexLinkActivityCoordinator
    from .libraries import PlexLinkLibraryCoordinator
    from .players import PlexLinkKnownPlayers
    from .webhooks import PlexLinkWebhook

UPDATE_INTERVAL = timedelta(minutes=5)
PING_INTERVAL = timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class PlexLinkData:
    """The account and the servers it can reach, as of the last refresh."""

    account: Account
    servers: dict[str, Server]

    @property
    def device_identifiers(self) -> set[tuple[str, str]]:
        """Return the identifiers of the account's device and its servers' devices."""
        return {(DOMAIN, self.account.uuid)} | {
            server_device_identifier(self.account.uuid, machine_identifier)
            for machine_identifier in self.servers
        }


@dataclass(kw_only=True, slots=True)
class PlexLinkRuntimeData:
    """What a loaded Plex Link entry holds at run time.

    The account's device is created once at setup; server devices hang off it.
    The webhook receives what the account's servers post; players are the
    Plex players the owned servers have named. activity holds the
    coordinator of each owned server whose sessions Plex Link follows, by
    machine identifier (filled by activity.PlexLinkActivityTracker).
    libraries holds the coordinator of each server, owned or shared, whose
    libraries Plex Link reads, by machine identifier (filled by
    libraries.PlexLinkLibraryTracker).
    """

    coordinator: PlexLinkCoordinator
    account_device_id: str
    webhook: PlexLinkWebhook
    players: PlexLinkKnownPlayers
    activity: dict[str, PlexLinkActivityCoordinator] = field(default_factory=dict)
    libraries: dict[str, PlexLinkLibraryCoordinator] = field(default_factory=dict)


type PlexLinkConfigEntry = ConfigEntry[PlexLinkRuntimeData]


def server_device_identifier(
    account_uuid: str, machine_identifier: str
) -> tuple[str, str]:
    """Return the device identifier of a server as one account sees it."""
    return (DOMAIN, f"{account_uuid}_{machine_identifier}")


class PlexLinkCoordinator(DataUpdateCoordinator[PlexLinkData]):
    """Reads the account and its servers every five minutes: 24 plex.tv requests an hour.

    With events on, the webhook adds about one an hour of its own (webhooks.py).
    """

    config_entry: PlexLinkConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: PlexLinkConfigEntry, client: PlexTvClient
    ) -> None:
        """Poll plex.tv with the entry's token."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=UPDATE_INTERVAL,
        )
        self.client = client

    @property
    def token(self) -> str:
        """Return the entry's token."""
        token: str = self.config_entry.data[CONF_TOKEN]
        return token

    async def _async_update_data(self) -> PlexLinkData:
        """Read the account and its servers; 401 starts reauth."""
        try:
            account = await self.client.get_account(self.token)
            servers = await self.client.get_servers(self.token)
        except PlexTvAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="token_rejected"
            ) from err
        except PlexTvError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="plex_tv_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        data = PlexLinkData(
            account=account,
            servers={server.machine_identifier: server for server in servers},
        )
        self._async_remove_stale_devices(data)
        return data

    def _async_remove_stale_devices(self, data: PlexLinkData) -> None:
        """Remove the devices of servers the account no longer reaches, and their players'.

        A player's device hangs off its server's device and goes with it.
        """
        registry = dr.async_get(self.hass)
        current = data.device_identifiers
        devices = dr.async_entries_for_config_entry(
            registry, self.config_entry.entry_id
        )
        servers = {
            device.id
            for device in devices
            if device.identifiers & current
            and (DOMAIN, data.account.uuid) not in device.identifiers
        }
        for device in devices:
            if not device.identifiers & current and device.via_device_id not in servers:
                registry.async_remove_device(device.id)

    async def async_ping(self, _now: datetime | None = None) -> None:
        """Use the token once a day, as Plex clients do to keep it from expiring."""
        try:
            await self.client.ping(self.token)
        except PlexTvError as err:
            LOGGER.debug(
                "Daily ping of plex.tv for %s failed: %s", self.config_entry.title, err
            )
