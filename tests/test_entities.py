"""Tests of the account and server devices and their entities."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.plex_link.const import DOMAIN

from .standin import Fault, PlexTvStandIn, StandInServer


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Poll plex.tv now, as the five-minute timer does, and let it finish.

    The timer itself is not advanced: moving the clock would also fire the
    timeouts of requests in flight to the stand-in.
    """
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


@pytest.mark.parametrize("platform", [Platform.BINARY_SENSOR, Platform.SENSOR])
async def test_entities(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    """The account's and the server's entities, as a person sees them."""
    with patch("custom_components.plex_link.PLATFORMS", [platform]):
        mock_config_entry.add_to_hass(hass)
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_devices(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """A service device for the account; each server's device hangs off it."""
    devices = dr.async_entries_for_config_entry(
        device_registry, init_integration.entry_id
    )
    account = device_registry.async_get_device_by_identifier(
        (DOMAIN, plex_tv.demo_account.uuid), init_integration.entry_id
    )
    assert account is not None
    assert account.entry_type is dr.DeviceEntryType.SERVICE
    servers = [device for device in devices if device.id != account.id]
    assert [server.via_device_id for server in servers] == [account.id]
    assert sorted(devices, key=lambda device: device.name or "") == snapshot


async def test_outage_and_recovery(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """plex.tv failing makes the entities unavailable, logged once; they come back."""
    assert hass.states.get("binary_sensor.demo_person_plex_pass").state == STATE_ON

    plex_tv.inject("user", Fault(status=503), times=None)
    await _refresh(hass, init_integration)
    await _refresh(hass, init_integration)
    assert (
        hass.states.get("binary_sensor.demo_person_plex_pass").state
        == STATE_UNAVAILABLE
    )
    assert (
        hass.states.get("binary_sensor.media_shelf_online").state == STATE_UNAVAILABLE
    )
    assert caplog.text.count("Error fetching plex_link Demo Person data") == 1

    plex_tv.clear_faults()
    await _refresh(hass, init_integration)
    assert hass.states.get("binary_sensor.demo_person_plex_pass").state == STATE_ON
    assert hass.states.get("binary_sensor.media_shelf_online").state == STATE_ON
    assert caplog.text.count("Fetching plex_link Demo Person data recovered") == 1


async def test_revoked_token_starts_reauth_and_keeps_entities(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    token: str,
) -> None:
    """A 401 while running starts reauth; entities and devices stay."""
    entities = er.async_entries_for_config_entry(
        entity_registry, init_integration.entry_id
    )
    plex_tv.revoke(token)
    await _refresh(hass, init_integration)

    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert (
        er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
        == entities
    )
    assert init_integration.data["token"] == token


async def test_servers_come_and_go(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A new server gets a device on the next refresh; a vanished one loses it."""
    attic = StandInServer(name="Attic", owned=False, online=False)
    plex_tv.demo_account.servers.append(attic)
    await _refresh(hass, init_integration)

    assert hass.states.get("sensor.demo_person_plex_media_servers").state == "2"
    assert hass.states.get("binary_sensor.attic_online").state == STATE_OFF
    names = {
        d.name
        for d in dr.async_entries_for_config_entry(
            device_registry, init_integration.entry_id
        )
    }
    assert names == {"Demo Person", "Media Shelf", "Attic"}

    plex_tv.demo_account.servers.remove(attic)
    await _refresh(hass, init_integration)
    names = {
        d.name
        for d in dr.async_entries_for_config_entry(
            device_registry, init_integration.entry_id
        )
    }
    assert names == {"Demo Person", "Media Shelf"}
    assert hass.states.get("binary_sensor.attic_online") is None
    assert hass.states.get("sensor.demo_person_plex_media_servers").state == "1"

    plex_tv.demo_account.servers.append(attic)
    await _refresh(hass, init_integration)
    assert hass.states.get("binary_sensor.attic_online").state == STATE_OFF


async def test_polling_cost_and_daily_ping(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
) -> None:
    """An hour of Home Assistant's scheduler costs 25 plex.tv requests with events on; a ping a day, failures ignored."""
    await hass.async_block_till_done(wait_background_tasks=True)
    before = len(plex_tv.requests)
    for _ in range(60):
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert len(plex_tv.requests) - before == 25
    assert plex_tv.count("get_webhooks") == 1 + 1
    assert plex_tv.count("ping") == 0

    plex_tv.inject("ping", Fault(status=500))
    freezer.tick(timedelta(days=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert plex_tv.count("ping") == 1
    assert hass.states.get("binary_sensor.demo_person_plex_pass").state == STATE_ON


async def test_no_token_in_any_state(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, init_integration: MockConfigEntry
) -> None:
    """No state or attribute in Home Assistant holds a token or server access token."""
    secrets = [
        *plex_tv.issued_tokens,
        *(s.access_token for s in plex_tv.demo_account.servers),
    ]
    states = repr(
        [(state.state, state.attributes) for state in hass.states.async_all()]
    )
    servers = len(plex_tv.demo_account.servers)
    assert len(hass.states.async_all()) == 2 + 5 * servers
    for secret in secrets:
        assert secret not in states
        assert secret[:8] not in states
