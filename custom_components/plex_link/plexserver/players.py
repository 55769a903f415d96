"""Typed models of the players a Plex Media Server knows (`GET /clients`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .exceptions import PlexServerResponseError
from .fields import container, text

PLAYBACK = "playback"


@dataclass(frozen=True, kw_only=True)
class PlexPlayer:
    """One player connected to the server, from `GET /clients`.

    The player's host and address are left out: personal data that nothing
    here needs, since commands go through the server.
    """

    machine_identifier: str
    name: str | None = None
    product: str | None = None
    platform: str | None = None
    platform_version: str | None = None
    device: str | None = None
    model: str | None = None
    version: str | None = None
    protocol_capabilities: frozenset[str] = frozenset()

    @property
    def controllable(self) -> bool:
        """Tell whether the player takes playback commands (pause, seek, volume, ...)."""
        return PLAYBACK in self.protocol_capabilities

    @classmethod
    def from_json(cls, data: Any) -> PlexPlayer:
        """Build a player from one `Server` entry, refusing one without a machine identifier."""
        if not isinstance(data, dict):
            raise PlexServerResponseError(
                "The server sent a player of an unexpected shape"
            )
        machine_identifier = text(data.get("machineIdentifier"))
        if machine_identifier is None:
            raise PlexServerResponseError(
                "The server sent a player without a machine identifier"
            )
        return cls(
            machine_identifier=machine_identifier,
            name=text(data.get("name")) or text(data.get("title")),
            product=text(data.get("product")),
            platform=text(data.get("platform")),
            platform_version=text(data.get("platformVersion")),
            device=text(data.get("device")),
            model=text(data.get("model")),
            version=text(data.get("version")),
            protocol_capabilities=_capabilities(data.get("protocolCapabilities")),
        )


def players_from_json(data: Any) -> list[PlexPlayer]:
    """Return the players of `/clients`, skipping malformed entries and repeated identifiers.

    One odd entry must not hide the others; a container of the wrong shape is refused.
    """
    entries = container(data).get("Server")
    if entries is None:
        return []
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise PlexServerResponseError("The server sent players of an unexpected shape")
    players: dict[str, PlexPlayer] = {}
    for entry in entries:
        try:
            player = PlexPlayer.from_json(entry)
        except PlexServerResponseError:
            continue
        players.setdefault(player.machine_identifier, player)
    return list(players.values())


def _capabilities(value: Any) -> frozenset[str]:
    """Return the capabilities of a comma-separated list, in lower case."""
    names = text(value)
    if names is None:
        return frozenset()
    return frozenset(
        name for part in names.split(",") if (name := part.strip().lower())
    )
