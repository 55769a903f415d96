"""Tests of the diagnostics download."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from .conftest import wait_for
from .standin import PlexTvStandIn
from .standin.server import PlexMediaServerStandIn


async def test_diagnostics(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics hold no token, access token, address, name or e-mail; activity as counts."""
    await plex_server.start_session(
        user="Demo Person", player="Living room TV", transcode=True
    )
    activity = init_integration.runtime_data.activity[
        plex_tv.demo_account.servers[0].machine_identifier
    ]
    await wait_for(lambda: len(activity.data or []) == 1)
    await hass.async_block_till_done(wait_background_tasks=True)
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    text = repr(diagnostics)
    for secret in (
        *plex_tv.issued_tokens,
        init_integration.data["webhook_id"],
        plex_tv.demo_account.servers[0].access_token,
    ):
        assert secret not in text
        assert secret[:8] not in text
    account = plex_tv.demo_account
    server = account.servers[0]
    for personal in (
        account.username,
        account.title,
        account.email,
        server.name,
        plex_tv.base_url,
        "127.0.0.1",
        "Living room TV",
    ):
        assert personal not in text
    assert diagnostics["account"]["uuid"] == account.uuid
    assert diagnostics["servers"][0]["machine_identifier"] == server.machine_identifier
    assert diagnostics["activity"][server.machine_identifier]["transcoding"] == 1
    assert diagnostics == snapshot
