"""Tests of the diagnostics download."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from .standin import PlexTvStandIn


async def test_diagnostics(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics hold no token, access token, address or e-mail."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    text = repr(diagnostics)
    for secret in (
        *plex_tv.issued_tokens,
        plex_tv.demo_account.servers[0].access_token,
    ):
        assert secret not in text
        assert secret[:8] not in text
    assert "plex.direct" not in text
    assert "example.invalid" not in text
    assert diagnostics == snapshot
