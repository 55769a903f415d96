"""Lifecycle and hostile callers: concurrency, many accounts, restarts, reloads, the REST API."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
import time

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from homeassistant.util.json import JsonObjectType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.plex_link.const import DOMAIN
from custom_components.plex_link.plextv import PlexTvClient

from .conftest import linked_entry
from .flow import start_flow
from .standin import Fault, PlexTvStandIn


async def test_two_flows_for_one_account(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """Two dialogs linking the same account at once: one entry, holding the live token."""
    first, second = await asyncio.gather(start_flow(hass), start_flow(hass))
    for flow in (first, second):
        plex_tv.approve(flow["description_placeholders"]["code"])
    await hass.async_block_till_done(wait_background_tasks=True)
    results = await asyncio.gather(
        *(
            hass.config_entries.flow.async_configure(f["flow_id"])
            for f in (first, second)
        )
    )
    first_result, second_result = results
    assert second_result["type"] is FlowResultType.CREATE_ENTRY
    assert first_result["type"] is FlowResultType.FORM
    assert first_result["step_id"] == "new_code"
    assert first_result["errors"] == {"base": "token_rejected"}
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    assert entry is second_result["result"]
    assert plex_tv.tokens[entry.data[CONF_TOKEN]] is plex_tv.demo_account


async def test_fifty_accounts_load_together(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    client_identifier: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """50 entries set up at once, as at startup: all load, two requests each, a slow one blocks none.

    Then each checks its webhook at plex.tv in the background, after setup.
    """
    entries = []
    for number in range(50):
        account = plex_tv.add_account(
            username=f"user{number}",
            title=f"User {number}",
            email=f"u{number}@example.invalid",
        )
        entry = linked_entry(plex_tv, account, client_identifier)
        entry.add_to_hass(hass)
        entries.append(entry)
    # The first account's answer is held back; the others must not wait for it.
    monkeypatch.setattr(PlexTvClient, "request_timeout", 30.0)
    held = asyncio.Event()
    plex_tv.inject("user", Fault(then_answer=True, hold=held))

    startup = asyncio.create_task(async_setup_component(hass, DOMAIN, {}))
    deadline = time.monotonic() + 10
    while [entry.state for entry in entries].count(ConfigEntryState.LOADED) < 49:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    states = [entry.state for entry in entries]
    assert states.count(ConfigEntryState.LOADED) == 49
    assert states.count(ConfigEntryState.SETUP_IN_PROGRESS) == 1
    held.set()

    assert await startup
    await hass.async_block_till_done()
    assert all(entry.state is ConfigEntryState.LOADED for entry in entries)
    assert plex_tv.count("user") == 50
    assert plex_tv.count("resources") == 50
    await hass.async_block_till_done(wait_background_tasks=True)
    assert plex_tv.count("get_webhooks") == plex_tv.count("set_webhooks") == 50
    assert len(plex_tv.requests) == 200


async def test_reload_while_refreshing(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reload while a refresh waits on plex.tv leaves one loaded entry and no stray work."""
    monkeypatch.setattr(PlexTvClient, "request_timeout", 30.0)
    held = asyncio.Event()
    plex_tv.inject("resources", Fault(hold=held, then_answer=True))
    before = plex_tv.count("resources")
    refresh = asyncio.create_task(
        init_integration.runtime_data.coordinator.async_refresh()
    )
    async with asyncio.timeout(10):
        while plex_tv.count("resources") == before:
            await asyncio.sleep(0.01)
    assert not refresh.done()

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    held.set()
    await refresh
    await hass.async_block_till_done(wait_background_tasks=True)
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get("binary_sensor.demo_person_plex_pass").state == "on"
    assert len(hass.config_entries.async_loaded_entries(DOMAIN)) == 1


async def test_get_token_over_the_rest_api(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
    token: str,
) -> None:
    """The REST API hands the token to an administrator, and refuses everyone else."""
    assert await async_setup_component(hass, "api", {})
    url = "/api/services/plex_link/get_token?return_response"

    read_only = await hass_client(hass_read_only_access_token)
    refused = await read_only.post(url, json={})
    assert refused.status == HTTPStatus.UNAUTHORIZED
    assert token[:8] not in await refused.text()

    admin = await hass_client()
    allowed = await admin.post(url, json={})
    assert allowed.status == HTTPStatus.OK
    body: JsonObjectType = await allowed.json()
    assert body["service_response"]["token"] == token  # type: ignore[index]
