"""plex.tv keeps one token per account and client: a fresh token always lands in its account's entry."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.plex_link.const import DOMAIN

from .conftest import linked_entry
from .flow import choose, enter_code, start_flow
from .standin import Fault, PlexTvStandIn, StandInAccount

METHODS = pytest.mark.parametrize("method", ["link_code", "browser"])
SOURCES = pytest.mark.parametrize("source", ["reauth", "reconfigure"])


async def relink(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    entry: MockConfigEntry,
    source: str,
    method: str,
    account: StandInAccount,
) -> Any:
    """Reauthenticate or reconfigure entry, approving the code in account."""
    start = (
        entry.start_reauth_flow if source == "reauth" else entry.start_reconfigure_flow
    )
    result = await choose(hass, await start(hass), method)
    return await enter_code(hass, plex_tv, result, account)


async def assert_every_entry_works(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, client_identifier: str
) -> None:
    """Every stored token is the one plex.tv accepts, every entry reloads, no reauth waits."""
    await hass.async_block_till_done(wait_background_tasks=True)
    for entry in hass.config_entries.async_entries(DOMAIN):
        account = next(a for a in plex_tv.accounts if a.uuid == entry.unique_id)
        assert plex_tv.live_tokens(account, client_identifier) == [
            entry.data[CONF_TOKEN]
        ]
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@METHODS
async def test_linking_a_linked_account_updates_its_entry(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
    client_identifier: str,
    method: str,
) -> None:
    """Adding an account again moves plex.tv's new token into the existing entry."""
    result = await enter_code(hass, plex_tv, await start_flow(hass, method))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_linked"
    assert result["description_placeholders"] == {"account": "Demo Person"}
    assert token not in plex_tv.tokens
    assert init_integration.data[CONF_TOKEN] != token
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    await assert_every_entry_works(hass, plex_tv, client_identifier)


@SOURCES
@METHODS
async def test_relinking_with_another_linked_account_updates_that_entry(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
    sam: StandInAccount,
    client_identifier: str,
    source: str,
    method: str,
) -> None:
    """A code entered in another linked account renews that account's entry, not this one."""
    sam_entry = linked_entry(plex_tv, sam, client_identifier)
    sam_entry.add_to_hass(hass)
    sam_token = sam_entry.data[CONF_TOKEN]

    result = await relink(hass, plex_tv, init_integration, source, method, sam)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "other_account_updated"
    assert result["description_placeholders"] == {
        "account": "Sam",
        "name": "Demo Person",
    }
    assert init_integration.data[CONF_TOKEN] == token
    assert sam_entry.data[CONF_TOKEN] != sam_token
    assert sam_token not in plex_tv.tokens
    await assert_every_entry_works(hass, plex_tv, client_identifier)


@SOURCES
@METHODS
async def test_relinking_with_an_unlinked_account_signs_its_token_out(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
    sam: StandInAccount,
    client_identifier: str,
    source: str,
    method: str,
) -> None:
    """A code entered in an account with no entry is refused and its token signed out."""
    result = await relink(hass, plex_tv, init_integration, source, method, sam)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert result["description_placeholders"] == {
        "account": "Sam",
        "name": "Demo Person",
    }
    assert plex_tv.count("signout") == 1
    assert plex_tv.live_tokens(sam, client_identifier) == []
    assert init_integration.data[CONF_TOKEN] == token
    await assert_every_entry_works(hass, plex_tv, client_identifier)


async def test_sign_out_failure_still_refuses_the_wrong_account(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
    sam: StandInAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """plex.tv failing the sign-out leaves the entry alone and says where to revoke the token."""
    plex_tv.inject("signout", Fault(status=503))
    result = await relink(hass, plex_tv, init_integration, "reauth", "link_code", sam)

    assert result["reason"] == "wrong_account"
    assert init_integration.data[CONF_TOKEN] == token
    assert "Authorized Devices" in caplog.text
    assert all(issued not in caplog.text for issued in plex_tv.issued_tokens)


async def test_relinking_the_same_account_keeps_one_live_token(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
    client_identifier: str,
) -> None:
    """Reconfigure with the right account: the entry holds the new token, the old one is gone."""
    result = await relink(
        hass,
        plex_tv,
        init_integration,
        "reconfigure",
        "link_code",
        plex_tv.demo_account,
    )

    assert result["reason"] == "relinked"
    assert result["description_placeholders"] == {"account": "Demo Person"}
    assert token not in plex_tv.tokens
    await assert_every_entry_works(hass, plex_tv, client_identifier)
