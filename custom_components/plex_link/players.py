"""The Plex players of the account's own servers: who they are, and since when Plex Link knows them.

A player is known once a server's sessions or its list of connected players
(`/clients`) name it. Known players are stored, so their media players come
back after a restart, idle until they play again, and a player nobody has seen
for STALE_AFTER is forgotten with its device.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
import hashlib
import re
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .activity import POLL_INTERVAL, PlexLinkActivityCoordinator
from .const import DOMAIN, LOGGER
from .coordinator import PlexLinkConfigEntry
from .plexserver import (
    PlaySession,
    PlexPlayer,
    PlexServerAuthenticationError,
    PlexServerError,
    PlexServerResponseError,
)

STALE_AFTER = timedelta(days=30)
SEEN_RESOLUTION = timedelta(hours=1)
STORE_VERSION = 1
SAVE_DELAY = 10.0
UNKNOWN_PLAYER_COOLDOWN = 10.0
_SAFE_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def player_key(player_id: str) -> str:
    """Return a player's identifier as unique ids carry it; odd ones become a digest."""
    if _SAFE_KEY.fullmatch(player_id):
        return player_id
    return "sha256-" + hashlib.sha256(player_id.encode()).hexdigest()[:32]


def player_device_identifier(
    account_uuid: str, server: str, player_id: str
) -> tuple[str, str]:
    """Return the device identifier of a player as one account's server sees it."""
    return (DOMAIN, f"{account_uuid}_{server}_{player_key(player_id)}")


@dataclass(frozen=True, kw_only=True)
class KnownPlayer:
    """A player one server has named: what its device shows, and when it was last seen."""

    server: str
    player_id: str
    name: str | None = None
    product: str | None = None
    platform: str | None = None
    version: str | None = None
    last_seen: datetime

    @property
    def key(self) -> tuple[str, str]:
        """Return the player's key: its server and its machine identifier."""
        return (self.server, self.player_id)

    def seen(
        self, now: datetime, player: PlexPlayer | None, session: PlaySession | None
    ) -> KnownPlayer:
        """Return the player as seen now, with what the server says of it."""
        return replace(
            self,
            name=(player.name if player else None)
            or (session.player if session else None)
            or self.name,
            product=(player.product if player else None)
            or (session.product if session else None)
            or self.product,
            platform=(player.platform if player else None)
            or (session.platform if session else None)
            or self.platform,
            version=(player.version if player else None) or self.version,
            last_seen=now,
        )


class PlexLinkKnownPlayers:
    """The players an entry knows, kept in Home Assistant's storage."""

    def __init__(self, hass: HomeAssistant, entry: PlexLinkConfigEntry) -> None:
        """Keep the entry's players in a store of their own."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.{entry.entry_id}.players"
        )
        self.players: dict[tuple[str, str], KnownPlayer] = {}

    async def async_load(self) -> None:
        """Read the stored players; a damaged record is skipped."""
        stored = await self._store.async_load() or {}
        for record in stored.get("players", []):
            try:
                player = KnownPlayer(
                    **{
                        **record,
                        "last_seen": dt_util.parse_datetime(record["last_seen"]),
                    }
                )
            except (TypeError, KeyError, ValueError):
                continue
            if player.last_seen is not None:
                self.players[player.key] = player

    async def async_remove(self) -> None:
        """Delete the store, when the entry is removed."""
        await self._store.async_remove()

    def of_server(self, server: str) -> list[KnownPlayer]:
        """Return the players a server has named."""
        return [player for player in self.players.values() if player.server == server]

    @callback
    def async_seen(
        self,
        server: str,
        player_id: str,
        player: PlexPlayer | None = None,
        session: PlaySession | None = None,
    ) -> KnownPlayer:
        """Note that a server names a player now; store it when something changed."""
        now = dt_util.utcnow()
        known = self.players.get((server, player_id)) or KnownPlayer(
            server=server, player_id=player_id, last_seen=now
        )
        updated = known.seen(now, player, session)
        if (
            updated == replace(known, last_seen=now)
            and now - known.last_seen < SEEN_RESOLUTION
            and (server, player_id) in self.players
        ):
            return known
        self.players[updated.key] = updated
        self._async_save()
        return updated

    @callback
    def async_forget(self, server: str, player_id: str) -> None:
        """Forget a player (removed by hand, or not seen for too long)."""
        if self.players.pop((server, player_id), None) is not None:
            self._async_save()

    @callback
    def async_stale(self) -> list[KnownPlayer]:
        """Return the players not seen for STALE_AFTER."""
        cutoff = dt_util.utcnow() - STALE_AFTER
        return [player for player in self.players.values() if player.last_seen < cutoff]

    @callback
    def _async_save(self) -> None:
        """Write the players a little later, in one write for a burst of changes."""
        self._store.async_delay_save(self._data, SAVE_DELAY)

    def _data(self) -> dict[str, Any]:
        """Return what the store keeps."""
        return {
            "players": [
                asdict(player) | {"last_seen": player.last_seen.isoformat()}
                for player in self.players.values()
            ]
        }


class PlexLinkPlayersCoordinator(DataUpdateCoordinator[dict[str, PlexPlayer]]):
    """Reads the players connected to one owned server (`/clients`), every five minutes.

    It reads through the server's activity coordinator's client, and again
    (at most every UNKNOWN_PLAYER_COOLDOWN seconds) when a session names a player
    it has not listed. A server that refuses the list (401, 403, 404) is logged
    once; its players then come from its sessions alone, without controls.
    """

    config_entry: PlexLinkConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PlexLinkConfigEntry,
        activity: PlexLinkActivityCoordinator,
    ) -> None:
        """List the players of the activity coordinator's server."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {activity.server_name} players",
            update_interval=POLL_INTERVAL,
            request_refresh_debouncer=Debouncer(
                hass, LOGGER, cooldown=UNKNOWN_PLAYER_COOLDOWN, immediate=True
            ),
        )
        self.activity = activity
        self.refused = False

    async def _async_update_data(self) -> dict[str, PlexPlayer]:
        """Read the list; a refusal is a state of its own, not an outage."""
        try:
            players = await self.activity.client.get_players()
        except PlexServerError as err:
            if not _is_refusal(err):
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="players_unavailable",
                    translation_placeholders={
                        "server": self.activity.server_name,
                        "error": str(err),
                    },
                ) from None
            if not self.refused:
                self.refused = True
                LOGGER.info(
                    "%s does not list its players (%s); they come from its sessions",
                    self.activity.server_name,
                    err,
                )
            return {}
        self.refused = False
        return {player.machine_identifier: player for player in players}


def _is_refusal(err: PlexServerError) -> bool:
    """Tell whether the server refused to list its players, rather than failed."""
    return isinstance(err, PlexServerAuthenticationError) or (
        isinstance(err, PlexServerResponseError) and err.status == 404
    )
