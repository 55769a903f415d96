"""Tests of setting up, unloading and removing a Plex Link entry."""

from __future__ import annotations

import logging
import re

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.plex_link.const import CONF_CLIENT_IDENTIFIER, DOMAIN

from .standin import STALL, Fault, PlexTvStandIn


async def test_setup_and_unload(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, init_integration: MockConfigEntry
) -> None:
    """A valid token loads the entry with its account; unloading works."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator.data.account.uuid == plex_tv.demo_account.uuid
    assert entry.runtime_data.coordinator.data.account.title == "Demo Person"

    await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_rejected_token_starts_reauth(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    mock_config_entry: MockConfigEntry,
    token: str,
) -> None:
    """A token plex.tv rejects (401) starts reauth and keeps the entry."""
    plex_tv.revoke(token)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == mock_config_entry.entry_id
    assert mock_config_entry.data["token"] == token


async def test_invalid_token_422_starts_reauth(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, mock_config_entry: MockConfigEntry
) -> None:
    """plex.tv's 422 "Invalid token" is treated like 401."""
    plex_tv.inject("user", Fault(status=422, body='{"error": "Invalid token"}'))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500),
        Fault(status=503),
        Fault(status=429, headers={"Retry-After": "60"}),
        Fault(status=200, body="<html></html>", content_type="text/html"),
        Fault(status=404),
        Fault(delay=STALL),
    ],
    ids=["500", "503", "429", "html", "404", "timeout"],
)
async def test_plex_tv_trouble_retries_setup(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    mock_config_entry: MockConfigEntry,
    fault: Fault,
) -> None:
    """Trouble at plex.tv does not mean a bad token: setup is retried, no reauth."""
    plex_tv.inject("user", fault)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []

    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_unreachable_plex_tv_retries_setup(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, mock_config_entry: MockConfigEntry
) -> None:
    """plex.tv not answering at all retries setup too."""
    await plex_tv.stop()
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_removal_signs_the_token_out(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
) -> None:
    """Removing the entry revokes its token at plex.tv."""
    await hass.config_entries.async_remove(init_integration.entry_id)

    assert plex_tv.count("signout") == 1
    assert token not in plex_tv.tokens
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_removal_survives_plex_tv_failure(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed sign-out is logged, without the token, and removal still happens."""
    caplog.set_level(logging.DEBUG)
    plex_tv.inject("signout", Fault(status=503))
    await hass.config_entries.async_remove(init_integration.entry_id)

    assert hass.config_entries.async_entries(DOMAIN) == []
    assert "Could not sign Demo Person out of plex.tv" in caplog.text
    assert token not in caplog.text


async def test_removal_with_revoked_token_is_quiet(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token plex.tv already revoked needs no sign-out and no warning."""
    plex_tv.revoke(token)
    await hass.config_entries.async_remove(init_integration.entry_id)

    assert hass.config_entries.async_entries(DOMAIN) == []
    assert "Could not sign" not in caplog.text


async def test_migration_keeps_only_what_is_read(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    token: str,
    client_identifier: str,
    entity_registry: er.EntityRegistry,
) -> None:
    """An entry of 1.1 loses the account's ids and name and its retired sensors, once."""
    account = plex_tv.demo_account
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=account.title,
        unique_id=account.uuid,
        version=1,
        minor_version=1,
        data={
            CONF_TOKEN: token,
            CONF_CLIENT_IDENTIFIER: client_identifier,
            "account_id": account.id,
            "account_uuid": account.uuid,
            "username": account.username,
        },
    )
    entry.add_to_hass(hass)
    retired = [
        entity_registry.async_get_or_create(
            Platform.SENSOR, DOMAIN, f"{account.uuid}_{key}", config_entry=entry
        ).entity_id
        for key in ("username", "plan")
    ]
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 2)
    assert entry.data == {
        CONF_TOKEN: token,
        CONF_CLIENT_IDENTIFIER: client_identifier,
        CONF_WEBHOOK_ID: entry.data[CONF_WEBHOOK_ID],
    }
    assert re.fullmatch("[0-9a-f]{64}", entry.data[CONF_WEBHOOK_ID])
    assert all(entity_registry.async_get(entity_id) is None for entity_id in retired)
    assert entity_registry.async_get_entity_id(
        Platform.SENSOR, DOMAIN, f"{account.uuid}_servers"
    )

    unmigrated = entity_registry.async_get_or_create(
        Platform.SENSOR, DOMAIN, f"{account.uuid}_plan", config_entry=entry
    ).entity_id
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entity_registry.async_get(unmigrated) is not None


async def test_entry_of_a_newer_release_is_refused(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """An entry written by a newer major version is not touched."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_config_entry, version=2)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.MIGRATION_ERROR
