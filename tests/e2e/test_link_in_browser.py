"""What a person sees: link, close, reauthenticate and expire, in a real browser.

The scenarios share one Home Assistant and run in this order.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tests.live import StandInThread

from .conftest import ARTIFACTS, HomeAssistantApi

CODE = "ha-markdown h1"


def open_plex_link_dialog(page: Page, home_assistant: HomeAssistantApi) -> str:
    """Settings > Devices & services > Add integration > Plex Link; return the code shown."""
    page.goto(f"{home_assistant.url}/config/integrations/dashboard")
    page.get_by_text("Add integration").click()
    page.locator("dialog-add-integration").get_by_role("textbox").fill("Plex Link")
    page.locator("dialog-add-integration").get_by_text("Plex Link", exact=True).click()
    return choose_link_code(page)


def choose_link_code(page: Page) -> str:
    """Pick the link code in the menu; return the code shown."""
    page.get_by_text("Enter a code at plex.tv/link (recommended)").click()
    code = page.locator(CODE).first
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


def test_link_an_account(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """The dialog shows code, link and QR; entering the code finishes it by itself."""
    code = open_plex_link_dialog(page, home_assistant)
    expect(page.get_by_role("link", name=f"{plex_tv.url}/link")).to_be_visible()
    qr = page.locator("ha-markdown img").first
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth") > 0
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] > 100
    assert box["height"] > 100
    expect(page.get_by_text("config.step")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "1-code-dialog.png")

    enter_code(page, plex_tv, code)
    expect(page.get_by_text("Created configuration for Demo Person")).to_be_visible(
        timeout=15_000
    )
    page.screenshot(path=ARTIFACTS / "2-linked.png")

    page.goto(f"{home_assistant.url}/config/integrations/integration/plex_link")
    expect(page.get_by_text("Demo Person").first).to_be_visible()
    page.goto(f"{home_assistant.url}/config/devices/dashboard?domain=plex_link")
    expect(page.get_by_text("Media Shelf")).to_be_visible()
    page.get_by_text("Demo Person").first.click()
    expect(page.get_by_text("Plex Pass").first).to_be_visible()
    page.wait_for_load_state("networkidle")  # entity icons load after the page
    page.screenshot(path=ARTIFACTS / "3-account-device.png")
    assert home_assistant.state("binary_sensor.demo_person_plex_pass") == "on"


def test_closing_the_dialog_stops_polling(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """Closing the dialog while the code shows: plex.tv receives no further poll."""
    open_plex_link_dialog(page, home_assistant)
    polls = plex_tv.call(lambda: plex_tv.standin.count("get_pin"))
    page.wait_for_timeout(2_500)
    assert plex_tv.call(lambda: plex_tv.standin.count("get_pin")) > polls

    page.locator("dialog-data-entry-flow").get_by_role("button", name="Close").click()
    expect(page.locator(CODE)).to_be_hidden()
    page.wait_for_timeout(1_000)  # a poll already on the wire may still land
    closed = time.monotonic()
    page.wait_for_timeout(4_000)
    assert plex_tv.call(lambda: plex_tv.standin.requests_since(closed)) == []


def test_reauthenticate_after_revocation(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """A revoked token shows the entry needs attention; a new code brings it back."""
    entry = home_assistant.entries()[0]
    plex_tv.call(
        lambda: [
            plex_tv.standin.revoke(token) for token in list(plex_tv.standin.tokens)
        ]
    )
    home_assistant.request(
        "POST", f"/api/config/config_entries/entry/{entry['entry_id']}/reload"
    )
    assert home_assistant.state("binary_sensor.demo_person_plex_pass") == "unavailable"

    page.goto(f"{home_assistant.url}/config/integrations/integration/plex_link")
    expect(page.get_by_text("Needs attention")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "4-needs-attention.png")
    page.get_by_role("button", name=re.compile("reconfigure", re.IGNORECASE)).click()
    expect(page.get_by_text("Link your Plex account again")).to_be_visible()
    expect(page.get_by_text("Translation Error")).to_have_count(0)
    expect(
        page.get_by_text("the token Home Assistant holds for Demo Person")
    ).to_be_visible()
    page.screenshot(path=ARTIFACTS / "5-reauth-menu.png")
    enter_code(page, plex_tv, choose_link_code(page))
    expect(page.get_by_text("The Plex account is linked again.")).to_be_visible(
        timeout=15_000
    )
    deadline = time.monotonic() + 30
    while home_assistant.state("binary_sensor.demo_person_plex_pass") != "on":
        assert time.monotonic() < deadline, "the entities did not come back"
        time.sleep(0.5)


def test_expired_code_offers_a_new_one(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """A code that runs out while the dialog is open is replaced in one click."""
    sam = plex_tv.call(
        lambda: plex_tv.standin.add_account(
            username="sam", title="Sam", email="sam@example.invalid"
        )
    )

    def short_codes_for_sam() -> None:
        plex_tv.standin.pin_lifetime = 5
        plex_tv.standin.link_page_account = sam

    plex_tv.call(short_codes_for_sam)
    first = open_plex_link_dialog(page, home_assistant)
    expect(page.get_by_text("The code expired before it was entered.")).to_be_visible(
        timeout=15_000
    )
    page.screenshot(path=ARTIFACTS / "6-code-expired.png")

    plex_tv.call(lambda: setattr(plex_tv.standin, "pin_lifetime", 900))
    page.get_by_role("button", name=re.compile("submit", re.IGNORECASE)).click()
    code = page.locator(CODE).first
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}$"))
    second = code.inner_text().strip()
    assert second != first

    enter_code(page, plex_tv, second)
    expect(page.get_by_text("Created configuration for Sam")).to_be_visible(
        timeout=15_000
    )
    assert {entry["title"] for entry in home_assistant.entries()} == {
        "Demo Person",
        "Sam",
    }


def test_sign_in_with_plex_in_this_browser(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """The second way in: Plex's sign-in page in a new tab; the dialog finishes by itself."""
    ana = plex_tv.call(
        lambda: plex_tv.standin.add_account(
            username="ana", title="Ana", email="ana@example.invalid"
        )
    )
    plex_tv.call(lambda: setattr(plex_tv.standin, "link_page_account", ana))
    page.goto(f"{home_assistant.url}/config/integrations/dashboard")
    page.get_by_text("Add integration").click()
    page.locator("dialog-add-integration").get_by_role("textbox").fill("Plex Link")
    page.locator("dialog-add-integration").get_by_text("Plex Link", exact=True).click()
    with page.context.expect_page() as sign_in_tab:
        page.get_by_text("Sign in with Plex in this browser").click()
        expect(page.get_by_text("Sign in to Plex in the new tab")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "7-sign-in-dialog.png")
        opened = page.get_by_role(
            "button", name=re.compile("open website", re.IGNORECASE)
        )
        if opened.count():
            opened.click()
    auth = sign_in_tab.value
    expect(auth.get_by_text("Plex Link for Home Assistant")).to_be_visible()
    auth.screenshot(path=ARTIFACTS / "8-plex-sign-in-page.png")
    assert "forwardUrl=" in auth.url
    auth.click("#approve")
    # Home Assistant listens on loopback only, so the address it offers as the
    # forward URL cannot be reached from the tab: linking must not depend on it.
    expect(page.get_by_text("Created configuration for Ana")).to_be_visible(
        timeout=15_000
    )
    auth.screenshot(path=ARTIFACTS / "9-forward-url-unreachable.png")
    auth.close()
    page.screenshot(path=ARTIFACTS / "10-signed-in.png")


def test_restart_keeps_every_entry(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """After a restart on the same config dir, every linked account loads with its token."""
    before = {entry["title"]: entry["state"] for entry in home_assistant.entries()}
    assert before == dict.fromkeys(("Demo Person", "Sam", "Ana"), "loaded")
    home_assistant.process.restart()

    deadline = time.monotonic() + 60
    while {e["title"]: e["state"] for e in home_assistant.entries()} != before:
        assert time.monotonic() < deadline, "the entries did not load again"
        time.sleep(0.5)
    assert home_assistant.state("binary_sensor.demo_person_plex_pass") == "on"
    page.goto(f"{home_assistant.url}/config/integrations/integration/plex_link")
    expect(page.get_by_text("Needs attention")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "11-after-restart.png")
