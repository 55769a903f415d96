"""What a person sees in a real browser, and what Home Assistant's log says.

Link, close, reauthenticate, expire, sign in with Plex, restart, the dialog in
German, and a log without reports about Plex Link. Each scenario starts without
Plex Link entries or flows (see fresh_state in conftest.py) and sets up what it
needs itself, so any one of them runs alone. Texts come from the integration's
translation files.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import re
from typing import Any
import urllib.parse
import uuid

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
import pytest

from tests.live import StandInThread
from tests.standin import closed_loopback_port

from .conftest import (
    ARTIFACTS,
    DOMAIN,
    HomeAssistantApi,
    account,
    translation,
    wait_until,
)

# The first scenario also waits for Home Assistant to start.
pytestmark = pytest.mark.timeout(300)

EN = translation("en")
STEP = EN["config"]["step"]
CODE = "ha-markdown h1"
PLEX_PASS = "binary_sensor.demo_person_plex_pass"
# What shows instead of a text when a translation is missing or does not fit.
RAW_KEY = re.compile(
    r"component\.plex_link|config\.(step|progress|error|abort)\.|Translation Error"
)


def flow_dialog(page: Page) -> Locator:
    """Return Home Assistant's config flow dialog."""
    return page.locator("dialog-data-entry-flow")


def open_menu(
    page: Page, home_assistant: HomeAssistantApi, add: str = "Add integration"
) -> Locator:
    """Settings > Devices & services > Add integration > Plex Link; return the dialog."""
    page.goto(f"{home_assistant.url}/config/integrations/dashboard")
    page.get_by_text(add, exact=True).click()
    brands = page.locator("dialog-add-integration")
    brands.get_by_role("textbox").fill("Plex Link")
    brands.get_by_text("Plex Link", exact=True).click()
    return flow_dialog(page)


def open_link_dialog(page: Page, home_assistant: HomeAssistantApi) -> str:
    """Open Plex Link's dialog and pick the link code; return the code shown."""
    open_menu(page, home_assistant)
    return choose_link_code(page)


def choose_link_code(
    page: Page, option: str = STEP["user"]["menu_options"]["link_code"]
) -> str:
    """Pick the link code in the menu; return the code shown."""
    flow_dialog(page).get_by_text(option, exact=True).click()
    code = flow_dialog(page).locator(CODE).first
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}$"))
    return code.inner_text().strip()


def enter_code(page: Page, plex_tv: StandInThread, code: str) -> None:
    """Type the code on the stand-in's link page, in a second tab."""
    link = page.context.new_page()
    link.goto(f"{plex_tv.url}/link")
    link.fill("#code", code)
    link.click("#submit")
    expect(link.locator("#linked")).to_be_visible()
    link.close()


def paragraphs(markdown: str, **placeholders: str) -> list[str]:
    """Return the plain text of each block of a translated Markdown text."""
    text = markdown.format(**placeholders)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    blocks = (re.sub(r"^#+\s*", "", block.strip()) for block in text.split("\n\n"))
    return [block for block in blocks if block]


def check_code_dialog(
    page: Page, plex_tv: StandInThread, code: str, strings: dict[str, Any]
) -> None:
    """Check the link step: title, every paragraph, the code, the link and the QR code."""
    dialog = flow_dialog(page)
    expect(
        dialog.get_by_text(strings["config"]["step"]["link"]["title"], exact=True)
    ).to_be_visible()
    link_url = f"{plex_tv.url}/link"
    for text in paragraphs(
        strings["config"]["progress"]["link"],
        url=link_url,
        code=code,
        qr_url="",
        minutes="15",
    ):
        expect(dialog.get_by_text(text, exact=True)).to_be_visible()
    link = dialog.get_by_role("link", name=link_url)
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", link_url)
    qr = dialog.locator("ha-markdown img").first
    expect(qr).to_be_visible()
    expect(qr).to_have_attribute("src", re.compile(f"/{code}$"))
    wait_until(
        lambda: qr.evaluate("image => image.complete && image.naturalWidth") > 0,
        "the QR code did not load",
        15,
    )
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] > 100
    assert box["height"] > 100
    expect(page.get_by_text(RAW_KEY)).to_have_count(0)


def screenshot_dialog(page: Page, whole: str, dialog: str) -> None:
    """Save the whole page, and the dialog alone (as in docs/)."""
    page.screenshot(path=ARTIFACTS / whole)
    flow_dialog(page).locator('[part="dialog"]').screenshot(path=ARTIFACTS / dialog)


def expect_created(
    page: Page, *devices: str, players: frozenset[str] = frozenset()
) -> None:
    """Home Assistant's last step after a new entry: name and assign its devices.

    The players' devices come as the server's players are read, so the step
    may or may not list them yet.
    """
    created = flow_dialog(page).locator("step-flow-create-entry")
    expect(created).to_be_visible(timeout=15_000)
    names = created.get_by_role("textbox", name="Device name")
    expect(names.first).to_be_visible()
    shown = {
        names.nth(index).get_attribute("placeholder") for index in range(names.count())
    }
    assert set(devices) <= shown <= set(devices) | players


def revoke(plex_tv: StandInThread, title: str) -> None:
    """Sign every token of an account out at the stand-in, as removing its devices does."""

    def revoke_all() -> None:
        for token, owner in list(plex_tv.standin.tokens.items()):
            if owner.title == title:
                plex_tv.standin.revoke(token)

    plex_tv.call(revoke_all)


def reload(home_assistant: HomeAssistantApi, entry: dict[str, Any]) -> None:
    """Reload an entry through the REST API."""
    home_assistant.request(
        "POST", f"/api/config/config_entries/entry/{entry['entry_id']}/reload"
    )


def plex_link_reports(log: str) -> list[str]:
    """Return what a Home Assistant log reports about Plex Link's use of Home Assistant.

    Lines that say Home Assistant detected Plex Link doing something, lines
    that report a deprecation and name plex_link, and records with a traceback
    through plex_link, except at DEBUG level: there Home Assistant adds a
    traceback to each expected failure it logs (a rejected token, say).
    """
    detected = re.compile(r"Detected .*custom integration 'plex_link'")
    deprecation = re.compile(r"deprecat.*plex_link|plex_link.*deprecat", re.IGNORECASE)
    reports = [
        line
        for line in log.splitlines()
        if detected.search(line) or deprecation.search(line)
    ]
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", log)
    reports += [
        record
        for record in records
        if "Traceback" in record
        and "plex_link" in record
        and not re.match(r"\S+ \S+ DEBUG ", record)
    ]
    return reports


def check_log(home_assistant: HomeAssistantApi) -> None:
    """Home Assistant's log, start-up included, reports nothing about Plex Link.

    Everything before the marker has reached the log once the marker has.
    """
    marker = f"plex-link-e2e-{uuid.uuid4()}"
    home_assistant.request(
        "POST",
        "/api/services/system_log/write",
        {"message": marker, "level": "warning", "logger": "tests.e2e"},
    )
    log = ARTIFACTS / "home-assistant.log"
    wait_until(
        lambda: marker in log.read_text("utf-8", "replace"),
        "the marker did not reach Home Assistant's log",
        15,
    )
    reports = plex_link_reports(log.read_text("utf-8", "replace"))
    assert reports == [], "\n\n".join(reports)


def test_log_check_finds_what_home_assistant_reports() -> None:
    """The log check finds Home Assistant's report formats, and nothing else."""
    stamp = "2026-11-23 20:55:03.116+00:00"
    detected = (
        f"{stamp} WARNING (MainThread) [homeassistant.helpers.frame] Detected that "
        "custom integration 'plex_link' calls hass.async_create_task from a thread "
        "at custom_components/plex_link/coordinator.py, line 80: self.hass... "
        "Please report it to the author of the 'plex_link' custom integration"
    )
    deprecated = (
        f"{stamp} WARNING (MainThread) [homeassistant.helpers.deprecation] The "
        "deprecated function async_old was called from plex_link. It will be removed "
        "in HA Core 2027.5. Use async_new instead, please report it to the author of "
        "the 'plex_link' custom integration"
    )
    failed = (
        f"{stamp} ERROR (MainThread) [homeassistant.config_entries] Error setting up "
        "entry Demo Person for plex_link\nTraceback (most recent call last):\n"
        '  File "/work/custom_components/plex_link/__init__.py", line 48\n'
        "KeyError: 'token'"
    )
    fine = [
        f"{stamp} WARNING (SyncWorker_0) [homeassistant.loader] We found a custom "
        "integration plex_link which has not been tested by Home Assistant.",
        f"{stamp} DEBUG (MainThread) [custom_components.plex_link] Full exception\n"
        "Traceback (most recent call last):\n"
        '  File "/work/custom_components/plex_link/coordinator.py", line 89\n'
        "PlexTvAuthenticationError: plex.tv rejected the token",
        f"{stamp} WARNING (MainThread) [homeassistant.helpers.deprecation] The "
        "deprecated function x was called from other_integration.",
        f"{stamp} INFO (MainThread) [homeassistant.setup] Setting up plex_link",
    ]
    log = "\n".join([fine[0], detected, fine[1], deprecated, fine[2], failed, fine[3]])
    assert plex_link_reports(log) == [detected, deprecated, failed]
    assert plex_link_reports("\n".join(fine)) == []


def test_link_an_account(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """The dialog shows code, link, QR and progress; entering the code finishes it by itself."""
    dialog = open_menu(page, home_assistant)
    expect(dialog.get_by_text(STEP["user"]["title"], exact=True)).to_be_visible()
    expect(dialog.get_by_text(STEP["user"]["description"], exact=True)).to_be_visible()
    code = choose_link_code(page)
    check_code_dialog(page, plex_tv, code, EN)
    # The code's remaining lifetime, as the progress ring of Home Assistant 2026.11
    # (a spinner until the first change of a whole percent reaches the dialog).
    ring = dialog.locator("ha-progress-ring")
    expect(ring).to_be_visible(timeout=20_000)
    expect(ring).to_have_text(re.compile(r"^\s*\d{1,3}\s*%\s*$"))
    assert 0 < int(ring.get_attribute("value") or 0) <= 100
    screenshot_dialog(page, "1-code-dialog.png", "link-dialog.png")

    enter_code(page, plex_tv, code)
    expect_created(
        page,
        "Demo Person",
        "Media Shelf",
        players=frozenset({"Living room TV", "Phone"}),
    )
    page.screenshot(path=ARTIFACTS / "2-linked.png")
    dialog.get_by_role("button", name="Skip and finish").click()
    expect(dialog.locator("step-flow-create-entry")).to_be_hidden()
    entry = home_assistant.entry("Demo Person")
    assert entry is not None
    assert entry["state"] == "loaded"

    page.goto(f"{home_assistant.url}/config/integrations/integration/{DOMAIN}")
    expect(page.get_by_text("Demo Person").first).to_be_visible()
    page.goto(f"{home_assistant.url}/config/devices/dashboard?domain={DOMAIN}")
    # The server's row (its players' rows name it too, as the device they connect via).
    expect(page.get_by_role("button", name="Media Shelf")).to_be_visible()
    page.get_by_text("Demo Person").first.click()
    expect(page.get_by_text("Plex Pass").first).to_be_visible()
    page.wait_for_load_state("networkidle")  # entity icons load after the page
    page.screenshot(path=ARTIFACTS / "3-account-device.png")
    assert home_assistant.state(PLEX_PASS) == "on"


def test_closing_the_dialog_stops_polling(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """Closing the dialog while the code shows: plex.tv receives no further poll of its code.

    A second dialog's code, polled on the same one-second beat, is the clock:
    from its first poll on (well after the close), the closed code would have
    been polled as often had its wait not been cancelled.
    """
    closed_code = open_link_dialog(page, home_assistant)
    closed_pin = pin_path(plex_tv, closed_code)
    wait_until(
        lambda: len(polls_of(plex_tv, closed_pin)) >= 2,
        "the dialog's code was polled",
    )

    flow_dialog(page).get_by_role("button", name="Close").click()
    expect(page.locator(CODE)).to_be_hidden()

    clock_pin = pin_path(plex_tv, open_link_dialog(page, home_assistant))
    clock = wait_until(
        lambda: polls if len(polls := polls_of(plex_tv, clock_pin)) >= 4 else None,
        "the second dialog's code was polled four times",
    )
    assert polls_of(plex_tv, closed_pin, since=clock[0]) == []


def pin_path(plex_tv: StandInThread, code: str) -> str:
    """Return the path at which the PIN showing code is polled."""

    def find() -> str:
        (pin_id,) = (p.id for p in plex_tv.standin.pins.values() if p.code == code)
        return f"/api/v2/pins/{pin_id}"

    return plex_tv.call(find)


def polls_of(plex_tv: StandInThread, path: str, since: float = 0.0) -> list[float]:
    """Return when the stand-in received polls of one PIN, after since."""
    return plex_tv.call(
        lambda: [r.at for r in plex_tv.standin.requests_since(since) if r.path == path]
    )


def test_reauthenticate_after_revocation(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """A revoked token shows the entry needs attention; a new code brings it back."""
    demo = plex_tv.call(lambda: plex_tv.standin.demo_account)
    entry = home_assistant.link(plex_tv, demo)
    home_assistant.wait_for_state(PLEX_PASS, "on")
    revoke(plex_tv, "Demo Person")
    reload(home_assistant, entry)
    home_assistant.wait_for_state(PLEX_PASS, "unavailable")

    page.goto(f"{home_assistant.url}/config/integrations/integration/{DOMAIN}")
    expect(page.get_by_text("Needs attention")).to_be_visible()
    expect(
        page.get_by_text(EN["exceptions"]["token_rejected"]["message"])
    ).to_be_visible()
    page.screenshot(path=ARTIFACTS / "4-needs-attention.png")
    page.get_by_role("button", name="Reconfigure").click()
    dialog = flow_dialog(page)
    expect(
        dialog.get_by_text(STEP["reauth_confirm"]["title"], exact=True)
    ).to_be_visible()
    expect(
        dialog.get_by_text(
            STEP["reauth_confirm"]["description"].format(name="Demo Person"),
            exact=True,
        )
    ).to_be_visible()
    expect(page.get_by_text(RAW_KEY)).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "5-reauth-menu.png")

    code = choose_link_code(page, STEP["reauth_confirm"]["menu_options"]["link_code"])
    enter_code(page, plex_tv, code)
    relinked = "Demo Person is linked again with a new token."
    assert EN["config"]["abort"]["relinked"].format(account="Demo Person") == relinked
    expect(dialog.get_by_text(relinked, exact=True)).to_be_visible(timeout=15_000)
    expect(page.get_by_text(RAW_KEY)).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "5b-relinked.png")
    home_assistant.wait_for_state(PLEX_PASS, "on")
    page.goto(f"{home_assistant.url}/config/integrations/integration/{DOMAIN}")
    expect(page.get_by_text("Demo Person").first).to_be_visible()
    expect(page.get_by_text("Needs attention")).to_have_count(0)


def test_expired_code_offers_a_new_one(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """A code that runs out while the dialog is open is replaced in one click."""
    sam = account(plex_tv, "sam", "Sam")

    def short_codes_for_sam() -> None:
        plex_tv.standin.pin_lifetime = 5
        plex_tv.standin.link_page_account = sam

    plex_tv.call(short_codes_for_sam)
    first = open_link_dialog(page, home_assistant)
    dialog = flow_dialog(page)
    expect(
        dialog.get_by_text(EN["config"]["error"]["code_expired"], exact=True)
    ).to_be_visible(timeout=20_000)
    expect(dialog.get_by_text(STEP["new_code"]["title"], exact=True)).to_be_visible()
    page.screenshot(path=ARTIFACTS / "6-code-expired.png")

    plex_tv.call(lambda: setattr(plex_tv.standin, "pin_lifetime", 900))
    dialog.get_by_role("button", name="Submit").click()
    code = dialog.locator(CODE).first
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}$"))
    second = code.inner_text().strip()
    assert second != first

    enter_code(page, plex_tv, second)
    expect_created(page, "Sam")
    assert [entry["title"] for entry in home_assistant.entries()] == ["Sam"]


@contextlib.contextmanager
def internal_url(home_assistant: HomeAssistantApi, url: str) -> Iterator[None]:
    """Give Home Assistant another internal URL (Settings > System > Network) for a while."""
    previous = home_assistant.request("GET", "/api/config")["internal_url"]
    home_assistant.ws("config/core/update", internal_url=url)
    try:
        yield
    finally:
        home_assistant.ws("config/core/update", internal_url=previous)


def test_sign_in_with_plex_in_this_browser(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """The second way in: Plex's sign-in page in a new tab; the dialog finishes by itself.

    Home Assistant's internal URL names an address nothing listens on, as
    behind a proxy or in a container, so the forward URL it offers cannot be
    reached from the tab: linking must not depend on it.
    """
    ana = account(plex_tv, "ana", "Ana")
    plex_tv.call(lambda: setattr(plex_tv.standin, "link_page_account", ana))
    with internal_url(home_assistant, f"http://127.0.0.1:{closed_loopback_port()}"):
        sign_in_with_plex(page, home_assistant, plex_tv)
    assert home_assistant.entry("Ana") is not None


def test_sign_in_tab_closes_itself(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """Where the tab can reach Home Assistant, the forward URL's page closes it after sign-in."""
    lee = account(plex_tv, "lee", "Lee")
    plex_tv.call(lambda: setattr(plex_tv.standin, "link_page_account", lee))
    dialog = open_menu(page, home_assistant)
    with page.context.expect_page() as sign_in_tab:
        dialog.get_by_text(STEP["user"]["menu_options"]["browser"], exact=True).click()
    auth = sign_in_tab.value
    expect(auth.get_by_text("Plex Link for Home Assistant")).to_be_visible()
    fragment = urllib.parse.parse_qs(urllib.parse.urlsplit(auth.url).fragment[1:])
    assert fragment["forwardUrl"] == [f"{home_assistant.url}/api/{DOMAIN}/signed_in"]
    with auth.expect_event("close"):
        auth.click("#approve")
    expect_created(page, "Lee")
    assert [entry["title"] for entry in home_assistant.entries()] == ["Lee"]


def sign_in_with_plex(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """Sign Ana in through Plex's page in a new tab whose forward URL cannot be reached."""
    dialog = open_menu(page, home_assistant)
    with page.context.expect_page() as sign_in_tab:
        dialog.get_by_text(STEP["user"]["menu_options"]["browser"], exact=True).click()
    auth = sign_in_tab.value
    expect(
        dialog.get_by_text(STEP["sign_in"]["description"], exact=True)
    ).to_be_visible()
    # The tab opens by itself; the button opens the same sign-in page again.
    expect(dialog.get_by_role("link", name="Open website")).to_have_attribute(
        "href", auth.url
    )
    expect(page.get_by_text(RAW_KEY)).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "7-sign-in-dialog.png")
    expect(auth.get_by_text("Plex Link for Home Assistant")).to_be_visible()
    auth.screenshot(path=ARTIFACTS / "8-plex-sign-in-page.png")
    assert auth.url.startswith(f"{plex_tv.url}/auth#")
    assert "forwardUrl=" in auth.url
    auth.click("#approve")
    # Nothing listens at the internal URL, so the forward URL it makes cannot
    # be reached from the tab: linking must not depend on it.
    expect_created(page, "Ana")
    auth.screenshot(path=ARTIFACTS / "9-forward-url-unreachable.png")
    auth.close()
    page.screenshot(path=ARTIFACTS / "10-signed-in.png")
    assert [entry["title"] for entry in home_assistant.entries()] == ["Ana"]


def test_restart_keeps_every_entry(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """After a restart on the same config dir, every linked account loads with its token."""
    for username, title in (("demo", "Demo Person"), ("sam", "Sam"), ("ana", "Ana")):
        home_assistant.link(plex_tv, account(plex_tv, username, title))
    before = {entry["title"]: entry["state"] for entry in home_assistant.entries()}
    assert before == dict.fromkeys(("Demo Person", "Sam", "Ana"), "loaded")
    home_assistant.process.restart()

    wait_until(
        lambda: {e["title"]: e["state"] for e in home_assistant.entries()} == before,
        "the entries did not load again",
        60,
    )
    assert home_assistant.state(PLEX_PASS) == "on"
    page.goto(f"{home_assistant.url}/config/integrations/integration/{DOMAIN}")
    for title in before:
        expect(page.get_by_text(title, exact=True).first).to_be_visible()
    expect(page.get_by_text("Needs attention")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "11-after-restart.png")


def test_log_names_no_deprecation(
    home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """Link, reload, reauthenticate and remove: Home Assistant reports nothing about Plex Link.

    Reads the whole log of this session's Home Assistant, start-up included.
    """
    demo = plex_tv.call(lambda: plex_tv.standin.demo_account)
    entry = home_assistant.link(plex_tv, demo)
    reload(home_assistant, entry)
    wait_until(
        lambda: (e := home_assistant.entry("Demo Person")) and e["state"] == "loaded",
        "the entry did not load again after a reload",
    )
    home_assistant.wait_for_state(PLEX_PASS, "on")

    revoke(plex_tv, "Demo Person")
    reload(home_assistant, entry)
    reauth = wait_until(
        lambda: [
            f for f in home_assistant.flows() if f["context"]["source"] == "reauth"
        ],
        "no reauth flow started",
    )[0]
    result = home_assistant.link_code(reauth["flow_id"], plex_tv, demo)
    assert result["type"] == "abort", result
    assert result["reason"] == "relinked", result
    assert result["description_placeholders"] == {"account": "Demo Person"}, result
    home_assistant.wait_for_state(PLEX_PASS, "on")

    home_assistant.request(
        "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
    )
    wait_until(lambda: home_assistant.entries() == [], "the entry was not removed")

    check_log(home_assistant)
    issues = home_assistant.ws("repairs/list_issues")["issues"]
    assert [
        issue
        for issue in issues
        if DOMAIN in (issue["domain"], issue.get("issue_domain"))
    ] == []


def test_link_dialog_in_german(
    browser: Browser,
    context: BrowserContext,
    home_assistant: HomeAssistantApi,
    plex_tv: StandInThread,
) -> None:
    """Issue 14: with the owner's language set to German, the dialog is German and whole."""
    de = translation("de")
    previous = home_assistant.ws("frontend/get_user_data", key="language")["value"]
    german = browser.new_context(
        viewport={"width": 1280, "height": 900}, storage_state=context.storage_state()
    )
    german.set_default_timeout(30_000)
    german.on("request", lambda request: home_assistant.note_flow(request.url))
    try:
        page = german.new_page()
        # Profile > Localization > Language, as the owner would.
        page.goto(f"{home_assistant.url}/profile/localization")
        page.locator("ha-pick-language-row ha-picker-field").click()
        page.locator("ha-pick-language-row").get_by_role("textbox").fill("Deutsch")
        page.get_by_role("option", name=re.compile("^Deutsch")).click()
        wait_until(
            lambda: (
                home_assistant.ws("frontend/get_user_data", key="language")["value"]
                or {}
            ).get("language")
            == "de",
            "the owner's language did not become German",
        )
        expect(page.get_by_text("Lokalisierung").first).to_be_visible()

        dialog = open_menu(page, home_assistant, add="Integration hinzufügen")
        menu = de["config"]["step"]["user"]
        expect(dialog.get_by_text(menu["title"], exact=True)).to_be_visible()
        code = choose_link_code(page, menu["menu_options"]["link_code"])
        check_code_dialog(page, plex_tv, code, de)
        english = paragraphs(
            EN["config"]["progress"]["link"],
            url=f"{plex_tv.url}/link",
            code=code,
            qr_url="",
            minutes="15",
        )
        expect(dialog.get_by_text(english[0], exact=True)).to_have_count(0)
        screenshot_dialog(page, "link-dialog-de-page.png", "link-dialog-de.png")
    finally:
        home_assistant.ws("frontend/set_user_data", key="language", value=previous)
        german.close()
