"""The token never shows: not in logs at DEBUG, not in what the UI receives."""

from __future__ import annotations

from http import HTTPStatus
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.plex_link.const import DOMAIN

from .standin import Fault, PlexTvStandIn

FLOWS = "/api/config/config_entries/flow"


def assert_no_token(plex_tv: PlexTvStandIn, *texts: str) -> None:
    """No token the stand-in ever issued, nor its first 8 characters, is in texts."""
    assert plex_tv.issued_tokens
    for token in plex_tv.issued_tokens:
        for text in texts:
            assert token not in text
            assert token[:8] not in text


async def _link_through_the_api(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, client: Any, responses: list[str]
) -> dict[str, Any]:
    """Link the demo account as the frontend does, keeping every response body."""
    response = await client.post(FLOWS, json={"handler": DOMAIN})
    assert response.status == HTTPStatus.OK
    flow = await response.json()
    assert flow["type"] == "menu"
    response = await client.post(
        f"{FLOWS}/{flow['flow_id']}", json={"next_step_id": "link_code"}
    )
    responses.append(await response.text())
    flow = await response.json()
    assert flow["type"] == "progress"

    plex_tv.approve(flow["description_placeholders"]["code"])
    await hass.async_block_till_done(wait_background_tasks=True)
    response = await client.get(f"{FLOWS}/{flow['flow_id']}")
    responses.append(await response.text())
    result: dict[str, Any] = await response.json()
    return result


async def test_token_stays_out_of_logs_and_api(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Link, fail, reload, reauth and remove at DEBUG: the token shows nowhere."""
    caplog.set_level(logging.DEBUG)
    assert await async_setup_component(hass, "config", {})
    assert await async_setup_component(hass, DOMAIN, {})
    client = await hass_client()
    responses: list[str] = []

    result = await _link_through_the_api(hass, plex_tv, client, responses)
    assert result["type"] == "create_entry"
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED

    plex_tv.inject("user", Fault(status=503))
    await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY

    plex_tv.revoke(entry.data[CONF_TOKEN])
    await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flow = hass.config_entries.flow.async_progress_by_handler(DOMAIN)[0]
    response = await client.post(
        f"{FLOWS}/{flow['flow_id']}", json={"next_step_id": "link_code"}
    )
    responses.append(await response.text())
    code = (await response.json())["description_placeholders"]["code"]
    plex_tv.approve(code)
    await hass.async_block_till_done(wait_background_tasks=True)
    response = await client.get(f"{FLOWS}/{flow['flow_id']}")
    responses.append(await response.text())
    assert (await response.json())["reason"] == "relinked"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED

    response = await client.get("/api/config/config_entries/entry")
    responses.append(await response.text())
    plex_tv.inject("signout", Fault(drop=True), times=2)
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert len(plex_tv.issued_tokens) == 2
    assert "Could not sign Demo Person out of plex.tv" in caplog.text
    assert any(
        record.levelno == logging.DEBUG
        and record.name.startswith("custom_components.plex_link")
        for record in caplog.records
    ), "the token must stay out of the log at DEBUG, so DEBUG must be on"
    assert_no_token(plex_tv, caplog.text, *responses)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=401),
        Fault(status=500),
        Fault(drop=True),
        Fault(status=200, body="{"),
    ],
)
async def test_token_stays_out_of_errors(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
) -> None:
    """Errors while the token is in use do not carry it in their messages."""
    caplog.set_level(logging.DEBUG)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "user"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "link_code"}
    )
    plex_tv.inject("user", fault, times=2)
    plex_tv.approve(result["description_placeholders"]["code"])
    await hass.async_block_till_done(wait_background_tasks=True)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] == "form"
    assert_no_token(plex_tv, caplog.text, repr(result))
