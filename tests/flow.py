"""Steps of the link flow that many tests walk through."""

from __future__ import annotations

from urllib.parse import parse_qs

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.plex_link.const import DOMAIN

from .standin import PlexTvStandIn, StandInAccount


async def choose(
    hass: HomeAssistant, result: ConfigFlowResult, method: str = "link_code"
) -> ConfigFlowResult:
    """Pick one way of linking from the menu."""
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["link_code", "browser"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": method}
    )


async def start_flow(
    hass: HomeAssistant, method: str = "link_code"
) -> ConfigFlowResult:
    """Add Plex Link and choose how to link."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await choose(hass, result, method)


async def start_link(hass: HomeAssistant) -> ConfigFlowResult:
    """Add Plex Link, choose the link code, and return the progress step showing it."""
    result = await start_flow(hass)
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "link"
    return result


def shown_code(result: ConfigFlowResult) -> str:
    """Return the code the dialog shows, or the one the sign-in page was opened for."""
    if result["type"] is FlowResultType.EXTERNAL_STEP:
        return parse_qs(result["url"].partition("#?")[2])["code"][0]
    return result["description_placeholders"]["code"]


async def enter_code(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    result: ConfigFlowResult,
    account: StandInAccount | None = None,
) -> ConfigFlowResult:
    """Approve the shown code (or sign-in request) at the stand-in and let the flow finish."""
    plex_tv.approve(shown_code(result), account)
    return await finish_waiting(hass, result)


async def submit_and_link(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, result: ConfigFlowResult
) -> None:
    """Select Submit on a form that offers a new code, enter it, and see the entry created."""
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    result = await enter_code(hass, plex_tv, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def finish_waiting(
    hass: HomeAssistant, result: ConfigFlowResult
) -> ConfigFlowResult:
    """Let the background task end, check the flow said so, and move on."""
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.config_entries.flow.async_get(result["flow_id"])["step_id"] == "finish"
    return await hass.config_entries.flow.async_configure(result["flow_id"])
