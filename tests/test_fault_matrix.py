"""Every plex.tv call against every way plex.tv can misbehave, through Home Assistant.

For each (call, fault) pair the expected outcome is written down below; every
pair also checks that nothing was logged as an unhandled error, that no token
reached the log, and that what was stored is unchanged.
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.plex_link.const import DOMAIN

from .conftest import assert_clean_log
from .flow import enter_code, finish_waiting, start_flow, submit_and_link
from .standin import STALL, Fault, PlexTvStandIn

HTML = "<html><body>Sign in to the hotel Wi-Fi</body></html>"
FIFTY_MB = b"{" + b" " * (50 * 1024 * 1024) + b"}"
FAULTS = {
    "500": Fault(status=500),
    "502": Fault(status=502),
    "503": Fault(status=503),
    "504": Fault(status=504),
    "429": Fault(status=429),
    "429-retry-after": Fault(status=429, headers={"Retry-After": "1"}),
    "429-absurd-retry-after": Fault(status=429, headers={"Retry-After": "86400"}),
    "429-retry-after-in-the-past": Fault(
        status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    ),
    "html": Fault(status=200, body=HTML, content_type="text/html"),
    "truncated-json": Fault(status=200, body='{"id": 1, "code": "AB'),
    "wrong-shape": Fault(status=200, body="[1, 2]"),
    "string-ids": Fault(status=200, body='{"id": "7", "uuid": 7, "code": "ABCD"}'),
    "null-code": Fault(status=200, body='{"id": 7, "code": null}'),
    "missing-expiresAt": Fault(status=201, body='{"id": 7, "code": "ABCD"}'),
    "expiresAt-in-the-past": Fault(
        status=201,
        body='{"id": 7, "code": "ABCD", "createdAt": "2026-01-01T00:15:00Z",'
        ' "expiresAt": "2026-01-01T00:00:00Z"}',
    ),
    "negative-expiresIn": Fault(
        status=201, body='{"id": 7, "code": "ABCD", "expiresIn": -5}'
    ),
    "empty-body": Fault(status=200, body=""),
    "stall-beyond-timeout": Fault(delay=STALL),
    "reset-mid-body": Fault(
        status=200, body='{"id": 7, "code": "ABCD"}', truncate=True
    ),
    "redirect-to-another-host": Fault(
        status=302, headers={"Location": "http://127.0.0.2:9/api/v2/user"}
    ),
    "50-mb-body": Fault(status=200, body=FIFTY_MB),
}
UNAVAILABLE = "plex_tv_unavailable"
RATE_LIMITED = "rate_limited"
NONSENSE = "invalid_response"
NO_CONNECTION = "cannot_connect"
EXPIRED = "code_expired"

# What the person reads when a request fails, whichever request it was.
ERROR_SHOWN = {
    "500": UNAVAILABLE,
    "502": UNAVAILABLE,
    "503": UNAVAILABLE,
    "504": UNAVAILABLE,
    "429": RATE_LIMITED,
    "429-retry-after": RATE_LIMITED,
    "429-absurd-retry-after": RATE_LIMITED,
    "429-retry-after-in-the-past": RATE_LIMITED,
    "html": NONSENSE,
    "truncated-json": NONSENSE,
    "wrong-shape": NONSENSE,
    "string-ids": NONSENSE,
    "null-code": NONSENSE,
    "missing-expiresAt": NONSENSE,
    "expiresAt-in-the-past": NONSENSE,
    "negative-expiresIn": NONSENSE,
    "empty-body": NONSENSE,
    "redirect-to-another-host": NONSENSE,
    "50-mb-body": NONSENSE,
    "stall-beyond-timeout": NO_CONNECTION,
    "reset-mid-body": NO_CONNECTION,
}
# Asking for a code: the code's form says why; Submit then links. A code born
# expired goes to "try again"; one without expiresAt lives plex.tv's usual 15 minutes.
CREATE_PIN = ERROR_SHOWN | {
    "missing-expiresAt": "shown:15",
    "expiresAt-in-the-past": f"new_code:{EXPIRED}",
    "negative-expiresIn": f"new_code:{EXPIRED}",
}
# Polling the code: passing trouble is retried and the link completes; an answer
# that will not change (a redirect) ends the wait with an error to retry from.
POLL_PIN = dict.fromkeys(FAULTS, "links") | {
    "redirect-to-another-host": f"new_code:{NONSENSE}",
}
# Reading the account once the code was entered: the finish step says why and
# Submit retries with the same token.
GET_ACCOUNT = ERROR_SHOWN
# The daily ping and the sign-out at removal only need a 2xx answer, whatever
# its body; anything else fails them (quietly for the ping, with a warning for
# the sign-out) and changes nothing else.
ANSWERED_2XX = {
    "html",
    "truncated-json",
    "wrong-shape",
    "string-ids",
    "null-code",
    "missing-expiresAt",
    "expiresAt-in-the-past",
    "negative-expiresIn",
    "empty-body",
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_create_pin(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """Asking for a code while plex.tv misbehaves."""
    caplog.set_level(logging.DEBUG)
    plex_tv.inject("create_pin", FAULTS[fault])
    step, _, key = CREATE_PIN[fault].rpartition(":")
    result = await start_flow(hass)
    if step == "shown":
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        assert result["description_placeholders"]["minutes"] == key
        hass.config_entries.flow.async_abort(result["flow_id"])
        assert_clean_log(caplog, plex_tv)
        return
    if step == "new_code":
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        result = await finish_waiting(hass, result)
    assert (result["step_id"], result["errors"]) == (step or "link_code", {"base": key})

    plex_tv.clear_faults()
    await submit_and_link(hass, plex_tv, result)
    assert_clean_log(caplog, plex_tv)


@pytest.mark.parametrize("fault", FAULTS)
async def test_poll_pin(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """Polling the code while plex.tv misbehaves, twice in a row."""
    caplog.set_level(logging.DEBUG)
    plex_tv.inject("get_pin", FAULTS[fault], times=2)
    result = await enter_code(hass, plex_tv, await start_flow(hass))
    if POLL_PIN[fault] == "links":
        assert result["type"] is FlowResultType.CREATE_ENTRY
    else:
        key = POLL_PIN[fault].removeprefix("new_code:")
        assert (result["step_id"], result["errors"]) == ("new_code", {"base": key})
        plex_tv.clear_faults()
        await submit_and_link(hass, plex_tv, result)
    assert_clean_log(caplog, plex_tv)


@pytest.mark.parametrize("fault", FAULTS)
async def test_get_account_in_flow(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """Reading the account after the code was entered while plex.tv misbehaves."""
    caplog.set_level(logging.DEBUG)
    plex_tv.inject("user", FAULTS[fault], times=2)
    result = await enter_code(hass, plex_tv, await start_flow(hass))
    assert (result["step_id"], result["errors"]) == (
        "finish",
        {"base": GET_ACCOUNT[fault]},
    )
    assert hass.config_entries.async_entries(DOMAIN) == []

    plex_tv.clear_faults()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert_clean_log(caplog, plex_tv)


@pytest.mark.parametrize("endpoint", ["user", "resources"])
@pytest.mark.parametrize("fault", FAULTS)
async def test_refresh(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
    fault: str,
) -> None:
    """A refresh failing makes the entities unavailable; they come back; nothing is lost."""
    caplog.set_level(logging.DEBUG)
    stored = dict(init_integration.data)
    coordinator = init_integration.runtime_data.coordinator
    plex_tv.inject(endpoint, FAULTS[fault], times=2)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    for entity_id in (
        "binary_sensor.demo_person_plex_pass",
        "binary_sensor.media_shelf_online",
    ):
        assert hass.states.get(entity_id).state == "unavailable"
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []

    plex_tv.clear_faults()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.media_shelf_online").state == "on"
    assert dict(init_integration.data) == stored
    assert init_integration.state is ConfigEntryState.LOADED
    assert_clean_log(caplog, plex_tv)


@pytest.mark.parametrize("fault", FAULTS)
async def test_ping(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """A failed daily ping changes nothing and is only noted at debug level."""
    caplog.set_level(logging.DEBUG)
    plex_tv.inject("ping", FAULTS[fault], times=2)
    await init_integration.runtime_data.coordinator.async_ping()
    failed = "Daily ping of plex.tv for Demo Person failed" in caplog.text
    assert failed is (fault not in ANSWERED_2XX)
    assert hass.states.get("binary_sensor.demo_person_plex_pass").state == "on"
    assert_clean_log(caplog, plex_tv)


@pytest.mark.parametrize("fault", FAULTS)
async def test_sign_out(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """A failed sign-out at removal is logged, without the token; the entry goes anyway."""
    caplog.set_level(logging.DEBUG)
    plex_tv.inject("signout", FAULTS[fault], times=2)
    await hass.config_entries.async_remove(init_integration.entry_id)
    assert hass.config_entries.async_entries(DOMAIN) == []
    warned = "Could not sign Demo Person out of plex.tv" in caplog.text
    assert warned is (fault not in ANSWERED_2XX)
    assert_clean_log(caplog, plex_tv)
