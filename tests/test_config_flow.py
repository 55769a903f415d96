"""Tests of the link flow, against the plex.tv stand-in over loopback HTTP."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
import re
from unittest.mock import patch
from urllib.parse import parse_qs

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

import custom_components.plex_link
from custom_components.plex_link.config_flow import PlexLinkConfigFlow
from custom_components.plex_link.const import CONF_CLIENT_IDENTIFIER

from .conftest import wait_for
from .flow import (
    choose,
    enter_code,
    finish_waiting,
    shown_code,
    start_flow,
    start_link,
    submit_and_link,
)
from .standin import STALL, Fault, PlexTvStandIn, StandInAccount

pytestmark = pytest.mark.usefixtures("plex_tv")

HTML = Fault(
    status=200, body="<html>Sign in to the Wi-Fi</html>", content_type="text/html"
)
FAULTS_AND_ERRORS = [
    pytest.param(Fault(status=500), "plex_tv_unavailable", id="500"),
    pytest.param(Fault(status=503), "plex_tv_unavailable", id="503"),
    pytest.param(Fault(status=429), "rate_limited", id="429"),
    pytest.param(
        Fault(status=429, headers={"Retry-After": "30"}),
        "rate_limited",
        id="429-retry-after",
    ),
    pytest.param(Fault(status=400), "invalid_response", id="400"),
    pytest.param(HTML, "invalid_response", id="html"),
    pytest.param(
        Fault(status=201, body='{"id": 1, "code": null}'),
        "invalid_response",
        id="null-code",
    ),
    pytest.param(
        Fault(status=201, body='{"id": 1,'), "invalid_response", id="truncated-json"
    ),
    pytest.param(Fault(drop=True), "cannot_connect", id="dropped"),
    pytest.param(
        Fault(status=201, body='{"id": 1, "code": "ABCD"}', truncate=True),
        "cannot_connect",
        id="reset-mid-body",
    ),
    pytest.param(Fault(delay=STALL), "cannot_connect", id="timeout"),
    pytest.param(
        Fault(status=302, headers={"Location": "http://127.0.0.2/"}),
        "invalid_response",
        id="redirect",
    ),
]

WAITING = {
    "link_code": FlowResultType.SHOW_PROGRESS,
    "browser": FlowResultType.EXTERNAL_STEP,
}
EXPIRED = {"link_code": "code_expired", "browser": "sign_in_expired"}


@pytest.fixture(params=["link_code", "browser"])
def method(request: pytest.FixtureRequest) -> str:
    """Return each way of linking in turn."""
    return str(request.param)


MANIFEST_VERSION = json.loads(
    (Path(custom_components.plex_link.__file__).parent / "manifest.json").read_text(
        "utf-8"
    )
)["version"]


async def wait_until_polled(plex_tv: PlexTvStandIn) -> None:
    """Wait (up to 10 s) until the flow has polled plex.tv once."""
    await wait_for(lambda: plex_tv.count("get_pin"), seconds=10)


async def assert_wait_cancelled(task: asyncio.Task[str]) -> None:
    """The flow's wait ended by being cancelled, within a second.

    test_plextv's test_cancelled_linker_sends_nothing_more proves that a cancelled wait sends
    plex.tv nothing more.
    """
    done, _ = await asyncio.wait([task], timeout=1)
    assert task in done
    assert task.cancelled()


async def test_link_creates_entry(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, client_identifier: str
) -> None:
    """The code, the link page and the QR are shown; entering the code creates the entry."""
    result = await start_link(hass)
    placeholders = result["description_placeholders"]
    assert len(placeholders["code"]) == 4
    assert placeholders["url"] == f"{plex_tv.base_url}/link"
    assert (
        placeholders["qr_url"]
        == f"{plex_tv.base_url}/api/v2/pins/qr/{placeholders['code']}"
    )
    assert placeholders["minutes"] == "15"

    result = await enter_code(hass, plex_tv, result)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Demo Person"
    entry = result["result"]
    assert entry.unique_id == plex_tv.demo_account.uuid
    token = entry.data[CONF_TOKEN]
    assert plex_tv.tokens[token] is plex_tv.demo_account
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    assert entry.data == {
        CONF_TOKEN: token,
        CONF_CLIENT_IDENTIFIER: client_identifier,
        CONF_WEBHOOK_ID: webhook_id,
    }
    assert re.fullmatch("[0-9a-f]{64}", webhook_id)
    assert plex_tv.token_clients[token] == client_identifier
    assert (entry.version, entry.minor_version) == (1, 2)
    assert plex_tv.count("create_pin") == 1


async def test_requests_name_home_assistant(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """Every request carries the identity headers; the client id stays the same."""
    hass.config.location_name = "Holiday Home"
    entry = (await enter_code(hass, plex_tv, await start_link(hass)))["result"]
    await hass.config_entries.async_remove(entry.entry_id)
    await enter_code(hass, plex_tv, await start_link(hass))

    client_ids = {r.headers["X-Plex-Client-Identifier"] for r in plex_tv.requests}
    assert client_ids == {entry.data[CONF_CLIENT_IDENTIFIER]}
    for request in plex_tv.requests:
        assert request.headers["Accept"] == "application/json"
        assert request.headers["X-Plex-Product"] == "Plex Link for Home Assistant"
        assert request.headers["X-Plex-Device-Name"] == "Holiday Home"
        assert request.headers["X-Plex-Platform"] == "Home Assistant"
        assert request.headers["X-Plex-Version"] == MANIFEST_VERSION
    pin_requests = [
        r for r in plex_tv.requests if r.endpoint in ("create_pin", "get_pin")
    ]
    assert all("X-Plex-Token" not in r.headers for r in pin_requests)


@pytest.mark.parametrize(("fault", "error"), FAULTS_AND_ERRORS)
async def test_code_request_errors_recover(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, fault: Fault, error: str, method: str
) -> None:
    """plex.tv failing to hand out a code (or sign-in request) shows an error; Submit tries again."""
    plex_tv.inject("create_pin", fault)
    result = await start_flow(hass, method)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == method
    assert result["errors"] == {"base": error}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is WAITING[method]
    result = await enter_code(hass, plex_tv, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500),
        Fault(status=502),
        Fault(status=429),
        Fault(status=429, headers={"Retry-After": "0"}),
        HTML,
        Fault(drop=True),
        Fault(status=200, body='{"id": 1,', truncate=True),
    ],
    ids=["500", "502", "429", "429-retry-after", "html", "dropped", "reset"],
)
async def test_polling_survives_passing_faults(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, fault: Fault
) -> None:
    """Failures that may pass are retried while the code is shown."""
    plex_tv.inject("get_pin", fault, times=3)
    result = await start_link(hass)
    result = await enter_code(hass, plex_tv, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert plex_tv.count("get_pin") >= 4


async def test_polling_stops_on_lasting_error_and_recovers(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """An answer that will not pass (400) ends the wait; a new code then works."""
    plex_tv.inject("get_pin", Fault(status=400), times=None)
    result = await start_link(hass)
    result = await finish_waiting(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "new_code"
    assert result["errors"] == {"base": "invalid_response"}

    plex_tv.clear_faults()
    await submit_and_link(hass, plex_tv, result)


async def test_expired_code_offers_a_new_one(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, method: str
) -> None:
    """An expired code (or sign-in request) says so and starts a new one in one click."""
    result = await start_flow(hass, method)
    first_code = shown_code(result)
    plex_tv.expire(first_code)

    result = await finish_waiting(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "new_code"
    assert result["errors"] == {"base": EXPIRED[method]}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is WAITING[method]
    assert shown_code(result) != first_code
    result = await enter_code(hass, plex_tv, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_code_lifetime_runs_out(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """The code's own lifetime ends the wait even when plex.tv keeps answering."""
    plex_tv.pin_lifetime = 1.4
    result = await start_link(hass)
    assert result["description_placeholders"]["minutes"] == "1"
    result = await finish_waiting(hass, result)
    assert result["errors"] == {"base": "code_expired"}


async def test_new_code_request_fails_then_recovers(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """Getting a new code can fail too; the code's form shows why and tries again."""
    result = await start_link(hass)
    plex_tv.expire(result["description_placeholders"]["code"])
    result = await finish_waiting(hass, result)

    plex_tv.inject("create_pin", Fault(status=503))
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "link_code"
    assert result["errors"] == {"base": "plex_tv_unavailable"}

    await submit_and_link(hass, plex_tv, result)


@pytest.mark.parametrize(("fault", "error"), FAULTS_AND_ERRORS)
async def test_account_errors_recover(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, fault: Fault, error: str
) -> None:
    """Reading the account after the code was entered can fail; Submit retries with the same token.

    The fault is queued twice because aiohttp retries a GET once on a dropped
    keep-alive connection.
    """
    plex_tv.inject("user", fault, times=2)
    result = await enter_code(hass, plex_tv, await start_link(hass))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "finish"
    assert result["errors"] == {"base": error}

    plex_tv.clear_faults()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert plex_tv.count("create_pin") == 1


async def test_rejected_new_token_offers_new_code(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """A token plex.tv rejects right away leads to a new code, not a dead end."""
    plex_tv.inject("user", Fault(status=401))
    result = await enter_code(hass, plex_tv, await start_link(hass))
    assert result["step_id"] == "new_code"
    assert result["errors"] == {"base": "token_rejected"}

    await submit_and_link(hass, plex_tv, result)


async def test_unexpected_error_is_logged_and_shown(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug shows "unknown", logs the traceback, and Submit still recovers."""
    with patch(
        "custom_components.plex_link.plextv.PlexTvClient.create_pin",
        side_effect=RuntimeError("boom"),
    ):
        result = await start_flow(hass)
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while linking a Plex account" in caplog.text
    assert "RuntimeError: boom" in caplog.text

    await submit_and_link(hass, plex_tv, result)


async def test_closing_the_dialog_stops_polling(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, method: str
) -> None:
    """Once the person closes the dialog, the wait on plex.tv is cancelled."""
    result = await start_flow(hass, method)
    await wait_until_polled(plex_tv)
    task = hass.config_entries.flow._progress[result["flow_id"]]._link_task

    hass.config_entries.flow.async_abort(result["flow_id"])
    await assert_wait_cancelled(task)


async def test_stopping_home_assistant_stops_polling(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """Home Assistant stopping cancels the wait at once instead of waiting for expiry."""
    result = await start_link(hass)
    await wait_until_polled(plex_tv)
    task = hass.config_entries.flow._progress[
        result["flow_id"]
    ].async_get_progress_task()

    await hass.async_stop()
    await assert_wait_cancelled(task)


async def test_reopened_dialog_shows_the_same_code(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, method: str
) -> None:
    """Re-entering the waiting step keeps the code and the task: no second PIN."""
    result = await start_flow(hass, method)
    task = hass.config_entries.flow._progress[result["flow_id"]]._link_task

    again = await hass.config_entries.flow.async_configure(result["flow_id"])

    assert again["type"] is WAITING[method]
    assert shown_code(again) == shown_code(result)
    assert hass.config_entries.flow._progress[result["flow_id"]]._link_task is task
    assert plex_tv.count("create_pin") == 1
    result = await enter_code(hass, plex_tv, again)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.fixture
def reported_progress(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Return the list the flow's progress updates go to."""
    reported: list[float] = []

    def record(self: PlexLinkConfigFlow, progress: float) -> None:
        reported.append(progress)

    monkeypatch.setattr(
        PlexLinkConfigFlow, "async_update_progress", record, raising=False
    )
    return reported


async def test_progress_fills_as_the_code_ages(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, reported_progress: list[float]
) -> None:
    """The progress bar fills as the code ages, one update per change, never going back.

    A 10-second code moves the bar a step every 0.1 s; the code is entered
    after a few steps. The first report comes before the first poll, so it is
    a small share however busy the machine is (up to a second's delay).
    """
    reported = reported_progress
    plex_tv.pin_lifetime = 10
    result = await start_link(hass)
    await wait_for(lambda: len(reported) >= 3)
    result = await enter_code(hass, plex_tv, result)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert reported[0] <= 0.1
    assert all(a < b for a, b in itertools.pairwise(reported))
    assert reported[-1] <= 1.0


async def test_sign_in_sends_no_progress(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, reported_progress: list[float]
) -> None:
    """The browser sign-in step has no progress bar, so no progress is sent."""
    plex_tv.strong_pin_lifetime = 1
    result = await start_flow(hass, "browser")
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    await hass.async_block_till_done(wait_background_tasks=True)

    assert plex_tv.count("get_pin") >= 1
    assert reported_progress == []


async def test_two_accounts_get_two_entries(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, sam: StandInAccount
) -> None:
    """Two Plex accounts can be linked side by side."""
    first = await enter_code(hass, plex_tv, await start_link(hass))
    second = await enter_code(hass, plex_tv, await start_link(hass), sam)
    assert first["title"] == "Demo Person"
    assert second["title"] == "Sam"
    assert second["result"].unique_id == sam.uuid


async def test_title_falls_back_to_username(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """An account without a title is named by its username."""
    plex_tv.demo_account.title = ""
    result = await enter_code(hass, plex_tv, await start_link(hass))
    assert result["title"] == "demo"


async def _relink(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    result: ConfigFlowResult,
    account: StandInAccount | None = None,
) -> ConfigFlowResult:
    """Go from the menu of a reauth or reconfigure flow to its end."""
    if result["type"] is FlowResultType.MENU:
        result = await choose(hass, result)
    elif result["type"] is FlowResultType.FORM:
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    return await enter_code(hass, plex_tv, result, account)


@pytest.mark.parametrize("source", ["reauth", "reconfigure"])
async def test_link_again_replaces_token(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
    source: str,
) -> None:
    """Reauth and reconfigure link the same account again and store the new token."""
    entry = init_integration
    if source == "reauth":
        plex_tv.revoke(token)
        result = await entry.start_reauth_flow(hass)
        assert result["step_id"] == "reauth_confirm"
        assert result["description_placeholders"] == {"name": "Demo Person"}
    else:
        result = await entry.start_reconfigure_flow(hass)

    result = await _relink(hass, plex_tv, result)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "relinked"
    assert entry.data[CONF_TOKEN] != token
    assert plex_tv.tokens[entry.data[CONF_TOKEN]] is plex_tv.demo_account
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator.data.account.uuid == plex_tv.demo_account.uuid


async def test_reauth_code_request_error_recovers(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, init_integration: MockConfigEntry
) -> None:
    """A failing code request in reauth shows the error, and Submit tries again."""
    result = await init_integration.start_reauth_flow(hass)
    plex_tv.inject("create_pin", Fault(drop=True))
    result = await choose(hass, result)
    assert result["step_id"] == "link_code"
    assert result["errors"] == {"base": "cannot_connect"}

    result = await _relink(hass, plex_tv, result)
    assert result["reason"] == "relinked"


def sign_in_code(plex_tv: PlexTvStandIn, result: ConfigFlowResult) -> str:
    """Return the strong PIN the sign-in page was opened for."""
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert result["url"].startswith(f"{plex_tv.base_url}/auth#?")
    code = shown_code(result)
    assert plex_tv.pins[max(plex_tv.pins)].code == code
    return code


async def test_sign_in_in_browser(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Plex's sign-in page opens; approval is noticed by polling, even with an unreachable forward URL."""
    assert await async_setup_component(hass, "http", {})
    hass.config.internal_url = "http://home-assistant.invalid:8123"
    result = await start_flow(hass, "browser")
    code = sign_in_code(plex_tv, result)
    fragment = parse_qs(result["url"].partition("#?")[2])
    assert len(code) == 25
    assert fragment["context[device][product]"] == ["Plex Link for Home Assistant"]
    assert fragment["clientID"] == [
        plex_tv.requests[-1].headers["X-Plex-Client-Identifier"]
    ]
    assert fragment["forwardUrl"] == [
        "http://home-assistant.invalid:8123/api/plex_link/signed_in"
    ]
    assert plex_tv.pins[max(plex_tv.pins)].strong

    plex_tv.approve(code)
    result = await finish_waiting(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Demo Person"

    client = await hass_client_no_auth()
    page = await client.get("/api/plex_link/signed_in")
    assert page.status == 200
    assert "window.close()" in await page.text()


async def test_sign_in_without_a_known_address(
    hass: HomeAssistant, plex_tv: PlexTvStandIn
) -> None:
    """With no address for Home Assistant, the page gets no forward URL and linking still works."""
    with patch(
        "custom_components.plex_link.auth_view.get_url", side_effect=NoURLAvailableError
    ):
        result = await start_flow(hass, "browser")
    assert "forwardUrl" not in result["url"]
    plex_tv.approve(sign_in_code(plex_tv, result))
    assert (await finish_waiting(hass, result))["type"] is FlowResultType.CREATE_ENTRY
