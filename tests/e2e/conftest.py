"""A real Home Assistant, the plex.tv stand-in and headless Chromium for the end-to-end tests.

Run on their own, without Home Assistant's pytest plugin:
pytest tests/e2e --confcutdir=tests/e2e -p no:homeassistant (scripts/test does).
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import shutil
import urllib.parse
import urllib.request

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    sync_playwright,
)
import pytest

from tests.live import ROOT, HomeAssistantProcess, StandInThread

ARTIFACTS = ROOT / "artifacts" / "e2e"
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


class HomeAssistantApi:
    """Home Assistant's REST API as the owner, for set-up and checks around the UI."""

    def __init__(self, process: HomeAssistantProcess, access_token: str) -> None:
        self.process = process
        self.url = process.url
        self._headers = {"Authorization": f"Bearer {access_token}"}

    def request(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={**self._headers, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def entries(self) -> list[dict[str, object]]:
        entries = self.request("GET", "/api/config/config_entries/entry")
        assert isinstance(entries, list)
        return [entry for entry in entries if entry["domain"] == "plex_link"]

    def state(self, entity_id: str) -> str:
        state = self.request("GET", f"/api/states/{entity_id}")
        assert isinstance(state, dict)
        return str(state["state"])


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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Return the (git-ignored) folder for screenshots and logs, emptied."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def plex_tv() -> Iterator[StandInThread]:
    """Serve the plex.tv stand-in on a free loopback port."""
    with StandInThread() as standin:
        yield standin


@pytest.fixture(scope="session")
def home_assistant(
    plex_tv: StandInThread, artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HomeAssistantApi]:
    """Start a real Home Assistant on a fresh config dir and onboard its owner."""
    config = tmp_path_factory.mktemp("config")
    with (
        (artifacts / "home-assistant.log").open("wb") as log,
        HomeAssistantProcess(
            config, port=18123, plex_tv_url=plex_tv.url, log=log
        ) as hass,
    ):
        yield HomeAssistantApi(hass, _onboard(hass.url))


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
    page = context.new_page()
    page.goto(home_assistant.url)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("ha-sidebar", timeout=60_000)
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A fresh tab in the logged-in session."""
    page = context.new_page()
    yield page
    page.close()
