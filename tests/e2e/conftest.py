"""A real Home Assistant, the plex.tv stand-in and headless Chromium for the end-to-end tests.

Run on their own, without Home Assistant's pytest plugin:
pytest tests/e2e --confcutdir=tests/e2e -p no:homeassistant (scripts/test does).

Every scenario starts from the same state (no Plex Link entry, no Plex Link flow
in progress, the stand-in's defaults) and sets up what it needs itself, so any
one of them runs alone with -k.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import json
from pathlib import Path
import re
import shutil
import socket
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

import aiohttp
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
import pytest

from tests.live import ROOT, HomeAssistantProcess, LoopThread, StandInThread
from tests.standin import StandInAccount

ARTIFACTS = ROOT / "artifacts" / "e2e"
TRANSLATIONS = ROOT / "custom_components" / "plex_link" / "translations"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERNAME = "owner"
PASSWORD = "plex-link-e2e"
DOMAIN = "plex_link"
FLOW_URL = re.compile(r"/api/config/config_entries/flow/(\w+)")

# Playwright's expect() waits 5 s by default; Home Assistant's UI may need longer.
expect.set_options(timeout=15_000)


def wait_until[T](
    check: Callable[[], T],
    message: str,
    timeout: float = 30,
    *,
    failure: Callable[[], str] | None = None,
) -> T:
    """Call check until it returns something truthy and return that, or fail after timeout.

    failure describes what there is instead, for the failure message.
    """
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            details = f": {failure()}" if failure else ""
            pytest.fail(f"{message} (waited {timeout:.0f} s){details}")
        time.sleep(0.25)
    return result


def translation(language: str = "en") -> dict[str, Any]:
    """Return the integration's translation file for a language."""
    data: dict[str, Any] = json.loads(
        (TRANSLATIONS / f"{language}.json").read_text("utf-8")
    )
    return data


class HomeAssistantApi:
    """Home Assistant's REST and WebSocket APIs as the owner, for set-up and checks."""

    def __init__(
        self, process: HomeAssistantProcess, access_token: str, loop: LoopThread
    ) -> None:
        self.process = process
        self.url = process.url
        self._token = access_token
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._loop = loop
        self.started_flows: set[str] = set()

    def request(self, method: str, path: str, body: object = None) -> Any:
        """Call the REST API and return the decoded answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={**self._headers, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def ws(self, message_type: str, **fields: Any) -> Any:
        """Send one WebSocket command and return its result."""

        async def call() -> Any:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"{self.url}/api/websocket") as ws,
            ):
                assert (await ws.receive_json())["type"] == "auth_required"
                await ws.send_json({"type": "auth", "access_token": self._token})
                assert (await ws.receive_json())["type"] == "auth_ok"
                await ws.send_json({"id": 1, "type": message_type, **fields})
                while (answer := await ws.receive_json())["id"] != 1 or answer[
                    "type"
                ] != "result":
                    pass
                if not answer["success"]:
                    raise RuntimeError(f"{message_type}: {answer['error']}")
                return answer["result"]

        return self._loop.run(call(), timeout=30)

    def entries(self) -> list[dict[str, Any]]:
        """Return the Plex Link config entries."""
        entries = self.request("GET", "/api/config/config_entries/entry")
        assert isinstance(entries, list)
        return [entry for entry in entries if entry["domain"] == DOMAIN]

    def entry(self, title: str) -> dict[str, Any] | None:
        """Return the Plex Link entry with this title, if there is one."""
        return next((e for e in self.entries() if e["title"] == title), None)

    def state(self, entity_id: str) -> str:
        """Return an entity's state."""
        state = self.request("GET", f"/api/states/{entity_id}")
        assert isinstance(state, dict)
        return str(state["state"])

    def wait_for_state(
        self, entity_id: str, expected: str, timeout: float = 30
    ) -> None:
        """Wait until an entity has a state."""
        wait_until(
            lambda: self._state_or_none(entity_id) == expected,
            f"{entity_id} did not become {expected}",
            timeout,
        )

    def _state_or_none(self, entity_id: str) -> str | None:
        try:
            return self.state(entity_id)
        except urllib.error.HTTPError:
            return None

    def flows(self) -> list[dict[str, Any]]:
        """Return the Plex Link flows in progress that Home Assistant started (reauth).

        Home Assistant lists no flow a person started; see started_flows.
        """
        flows = self.ws("config_entries/flow/progress")
        return [flow for flow in flows if flow["handler"] == DOMAIN]

    def note_flow(self, url: str) -> None:
        """Remember the flow a browser request or an API call went to."""
        if match := FLOW_URL.search(url):
            self.started_flows.add(match[1])

    def abort_flows(self) -> None:
        """Abort every Plex Link flow that may be in progress, so that none keeps polling.

        Aborting a flow that ended meanwhile answers 404.
        """
        flow_ids = self.started_flows | {flow["flow_id"] for flow in self.flows()}
        self.started_flows = set()
        for flow_id in flow_ids:
            try:
                self.request("DELETE", f"/api/config/config_entries/flow/{flow_id}")
            except urllib.error.HTTPError as err:
                if err.code != 404:
                    raise

    def remove_entries(self) -> None:
        """Remove every Plex Link entry."""
        for entry in self.entries():
            self.request(
                "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
            )
        wait_until(lambda: not self.entries(), "Plex Link entries were left over")

    def configure(self, flow_id: str, body: dict[str, Any] | None = None) -> Any:
        """Show a flow's current step (as the frontend does), or answer it with body."""
        path = f"/api/config/config_entries/flow/{flow_id}"
        self.note_flow(path)
        if body is None:
            return self.request("GET", path)
        return self.request("POST", path, body)

    def link_code(
        self, flow_id: str, plex_tv: StandInThread, account: StandInAccount
    ) -> dict[str, Any]:
        """Pick the link code in a flow's menu, enter the code as account; return the result.

        Home Assistant moves a finished progress step on when the frontend
        fetches the flow again, so this fetches it until it ends.
        """
        flow = self.configure(flow_id, {"next_step_id": "link_code"})
        assert flow["type"] == "progress", flow
        code = flow["description_placeholders"]["code"]
        plex_tv.call(lambda: plex_tv.standin.approve(code, account))
        result: dict[str, Any] = wait_until(
            lambda: (r := self.configure(flow["flow_id"]))["type"]
            in ("create_entry", "abort")
            and r,
            f"the flow did not finish after {account.title} entered the code",
        )
        return result

    def link(self, plex_tv: StandInThread, account: StandInAccount) -> dict[str, Any]:
        """Link an account through the config flow's REST API; return its loaded entry."""
        flow = self.request(
            "POST", "/api/config/config_entries/flow", {"handler": DOMAIN}
        )
        self.note_flow(f"/api/config/config_entries/flow/{flow['flow_id']}")
        assert flow["type"] == "menu", flow
        result = self.link_code(flow["flow_id"], plex_tv, account)
        assert result["type"] == "create_entry", result
        assert result["title"] == account.title, result
        entry: dict[str, Any] = wait_until(
            lambda: (e := self.entry(account.title)) and e["state"] == "loaded" and e,
            f"{account.title} did not load",
            failure=lambda: str(self.entries()),
        )
        return entry


def _post(
    url: str, body: dict[str, str], *, form: bool = False, token: str | None = None
) -> dict[str, str]:
    """POST JSON (or a form) and return the JSON answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if form:
        data = urllib.parse.urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, str] = json.loads(response.read() or b"{}")
        return answer


def _onboard(url: str) -> str:
    """Create the owner through the onboarding API and return an access token."""
    client_id = f"{url}/"
    code = _post(
        f"{url}/api/onboarding/users",
        {
            "client_id": client_id,
            "name": "Owner",
            "username": USERNAME,
            "password": PASSWORD,
            "language": "en",
        },
    )["auth_code"]
    token = _post(
        f"{url}/auth/token",
        {"grant_type": "authorization_code", "code": code, "client_id": client_id},
        form=True,
    )["access_token"]
    for step, body in (
        ("core_config", {}),
        ("analytics", {}),
        (
            "integration",
            {"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
        ),
    ):
        _post(f"{url}/api/onboarding/{step}", body, token=token)
    return token


def _check_frontend_can_load(api: HomeAssistantApi, log: Path) -> None:
    """Fail clearly if Home Assistant cannot describe its services.

    The frontend waits for them and otherwise stays on "Loading..." for ever.
    Home Assistant 2026.11 imports assist_pipeline to read any services.yaml,
    so this happens when its requirements (pymicro-vad, pyspeex-noise) could
    not be installed: on Python 3.14 they are built from source (g++ and
    the Python headers).
    """
    wait_until(
        lambda: api.request("GET", "/api/config")["state"] == "RUNNING",
        "Home Assistant did not finish starting",
        timeout=300,
    )
    try:
        api.request("GET", "/api/services")
    except urllib.error.HTTPError as err:
        missing = sorted(
            {
                line.strip()
                for line in log.read_text("utf-8", "replace").splitlines()
                if "No module named" in line or "Unable to install package" in line
            }
        )
        pytest.fail(
            f"Home Assistant cannot list its services (GET /api/services: {err.code}), "
            "so its frontend never leaves 'Loading...'. From its log:\n"
            + "\n".join(missing[:10])
        )


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Return the (git-ignored) folder for screenshots and logs, emptied."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def plex_tv() -> Iterator[StandInThread]:
    """Serve the plex.tv stand-in and the demo server's stand-in on free loopback ports."""
    with StandInThread() as standin:
        yield standin


def _free_port() -> int:
    """Return a loopback port nothing listens on, so another Home Assistant cannot answer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def home_assistant(
    plex_tv: StandInThread, artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HomeAssistantApi]:
    """Start a real Home Assistant on a fresh config dir and onboard its owner."""
    config = tmp_path_factory.mktemp("config")
    log_path = artifacts / "home-assistant.log"
    with (
        log_path.open("wb") as log,
        HomeAssistantProcess(
            config, port=_free_port(), plex_tv_url=plex_tv.url, log=log
        ) as hass,
        LoopThread() as loop,
    ):
        api = HomeAssistantApi(hass, _onboard(hass.url), loop)
        _check_frontend_can_load(api, log_path)
        yield api


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Launch Debian's headless Chromium through Playwright."""
    playwright: Playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def context(
    browser: Browser, home_assistant: HomeAssistantApi
) -> Iterator[BrowserContext]:
    """A browser session logged in to Home Assistant through its login page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    context.on("request", lambda request: home_assistant.note_flow(request.url))
    page = context.new_page()
    page.goto(home_assistant.url)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("ha-sidebar")).to_be_visible(timeout=60_000)
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A fresh tab in the logged-in session."""
    page = context.new_page()
    yield page
    page.close()


@pytest.fixture(autouse=True)
def fresh_state(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """Start every scenario without Plex Link entries or flows, the stand-in as new.

    Afterwards abort the flows it left (a dialog still open keeps polling
    plex.tv, and Home Assistant's frontend shows the progress of every flow in
    whichever progress dialog is open).
    """
    if "home_assistant" not in request.fixturenames:
        yield  # a scenario without Home Assistant
        return
    home_assistant: HomeAssistantApi = request.getfixturevalue("home_assistant")
    plex_tv: StandInThread = request.getfixturevalue("plex_tv")
    home_assistant.abort_flows()
    home_assistant.remove_entries()

    def defaults() -> None:
        standin = plex_tv.standin
        standin.clear_faults()
        standin.pin_lifetime = 900
        standin.strong_pin_lifetime = 1800
        standin.link_page_account = standin.demo_account

    plex_tv.call(defaults)
    yield
    home_assistant.abort_flows()


def account(plex_tv: StandInThread, username: str, title: str) -> StandInAccount:
    """Return the stand-in's account with this username, creating it the first time."""

    def get_or_add() -> StandInAccount:
        for known in plex_tv.standin.accounts:
            if known.username == username:
                return known
        return plex_tv.standin.add_account(
            username=username, title=title, email=f"{username}@example.invalid"
        )

    return plex_tv.call(get_or_add)
