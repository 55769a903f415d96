"""Playback events in a real Home Assistant: an automation on the Playback event entity runs.

The demo account is linked, its options show "Playback and library events"
on with the address plex.tv was given, an automation made in the automation
editor (in its YAML mode) turns an input_boolean on when a film plays, the Plex
Media Server stand-in posts media.play as a real server does, and the event
shows in the entity's activity and history. Texts come from the integration's
translation files.
"""

from __future__ import annotations

import re
from typing import Any
import urllib.error

from playwright.sync_api import Page, expect
import pytest

from tests.live import StandInThread

from .conftest import ARTIFACTS, DOMAIN, HomeAssistantApi, translation, wait_until
from .test_link_in_browser import check_log, flow_dialog

# The first scenario also waits for Home Assistant to start.
pytestmark = pytest.mark.timeout(300)

EN = translation("en")
OPTIONS = EN["options"]["step"]["init"]
PLAYBACK = "event.media_shelf_playback"
BOOLEAN_NAME = "Film playing"
BOOLEAN = "input_boolean.film_playing"
AUTOMATION_NAME = "Film plays"
# What a person types in the automation editor's YAML mode: the event entity
# trigger ("Event received") on the Playback entity, for its play events only.
AUTOMATION_YAML = f"""\
triggers:
  - trigger: event.received
    target:
      entity_id: {PLAYBACK}
    options:
      event_type:
        - play
actions:
  - action: input_boolean.turn_on
    target:
      entity_id: {BOOLEAN}
"""


def registered_urls(plex_tv: StandInThread) -> list[str]:
    """Return the demo account's webhook list at the plex.tv stand-in."""
    return plex_tv.call(lambda: list(plex_tv.standin.demo_account.webhooks))


def check_options(page: Page, home_assistant: HomeAssistantApi, url: str) -> None:
    """Settings > Devices & services > Plex Link > the entry's options: events on, url shown."""
    page.goto(f"{home_assistant.url}/config/integrations/integration/{DOMAIN}")
    page.get_by_role("button", name="Configure").click()
    dialog = flow_dialog(page)
    # The title, and the switch's label below it.
    expect(dialog.get_by_text(OPTIONS["title"], exact=True)).to_have_count(2)
    expect(dialog.get_by_role("link", name=url)).to_be_visible()
    events = dialog.get_by_role("switch", name=OPTIONS["data"]["events"])
    expect(events).to_be_checked()
    remote = dialog.get_by_role("switch", name=OPTIONS["data"]["remote_server"])
    expect(remote).not_to_be_checked()
    dialog.locator('[part="dialog"]').screenshot(
        path=ARTIFACTS / "events-1-options.png"
    )
    dialog.get_by_role("button", name="Close").click()
    expect(dialog.get_by_text(OPTIONS["title"], exact=True)).to_have_count(0)


def create_automation(page: Page, home_assistant: HomeAssistantApi) -> str:
    """Settings > Automations > Create: type the YAML, save and name it; return its id."""
    page.goto(f"{home_assistant.url}/config/automation/edit/new")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("menuitem", name="Edit in YAML").click()
    editor = page.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(AUTOMATION_YAML)
    page.get_by_role("button", name="Save").click()
    save = page.locator("ha-dialog-automation-save")
    save.get_by_role("textbox", name="Name").fill(AUTOMATION_NAME)
    save.get_by_role("button", name="Save").click()
    saved = re.compile(r"/config/automation/edit/(?!new$)(\w+)$")
    expect(page).to_have_url(saved)
    automation_id = saved.search(page.url)[1]  # type: ignore[index]
    # Saved, the editor shows the automation as its visual editor has it.
    when = page.get_by_role("region", name="When")
    expect(when.get_by_role("heading", name="Event received")).to_be_visible()
    expect(when.get_by_text("Playback").first).to_be_visible()
    then = page.get_by_role("region", name="Then do")
    expect(then.get_by_text(BOOLEAN_NAME).first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "events-2-automation.png")
    return automation_id


def check_activity(page: Page, home_assistant: HomeAssistantApi) -> None:
    """Activity shows the play event and the automation turning the boolean on; then the entity."""
    page.goto(f"{home_assistant.url}/logbook?entity_id={PLAYBACK},{BOOLEAN}")
    played = page.get_by_role("button", name=re.compile(r"Playback\s*→\s*Play\b"))
    expect(played).to_be_visible()
    expect(
        page.get_by_role(
            "button",
            name=re.compile(
                rf"{BOOLEAN_NAME}\s*→\s*On\s*By automation: {AUTOMATION_NAME}"
            ),
        )
    ).to_be_visible()
    page.screenshot(path=ARTIFACTS / "events-3-activity.png")

    # The entry's details, then the entity itself: its state, history and activity.
    played.click()
    details = page.locator("ha-adaptive-dialog")
    details.get_by_role("button", name="Playback Media Shelf").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Play \d"))).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "events-4-entity.png")


def remove(home_assistant: HomeAssistantApi, automation_id: str | None) -> None:
    """Remove the automation and the input_boolean, so the next scenario starts without them."""
    if automation_id is not None:
        try:
            home_assistant.request(
                "DELETE", f"/api/config/automation/config/{automation_id}"
            )
        except urllib.error.HTTPError as err:
            if err.code != 404:
                raise
    helpers = home_assistant.ws("input_boolean/list")
    for helper in helpers:
        if helper["name"] == BOOLEAN_NAME:
            home_assistant.ws("input_boolean/delete", input_boolean_id=helper["id"])


def test_play_runs_an_automation(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """Link, see the option on, make an automation; the server's media.play turns a boolean on."""
    demo = plex_tv.call(lambda: plex_tv.standin.demo_account)
    home_assistant.link(plex_tv, demo)
    hook = f"{home_assistant.url}/api/webhook/"
    (url,) = wait_until(
        lambda: [u for u in registered_urls(plex_tv) if u.startswith(hook)],
        "Plex Link did not add Home Assistant's webhook at plex.tv",
        failure=lambda: str(registered_urls(plex_tv)),
    )
    automation_id = None
    try:
        check_options(page, home_assistant, url)
        home_assistant.ws("input_boolean/create", name=BOOLEAN_NAME)
        home_assistant.wait_for_state(BOOLEAN, "off")
        automation_id = create_automation(page, home_assistant)
        config: dict[str, Any] = home_assistant.request(
            "GET", f"/api/config/automation/config/{automation_id}"
        )
        assert config["alias"] == AUTOMATION_NAME
        assert config["triggers"][0]["trigger"] == "event.received"
        automation = wait_until(
            lambda: [
                state
                for state in home_assistant.request("GET", "/api/states")
                if state["entity_id"].startswith("automation.")
                and state["attributes"].get("id") == automation_id
                and state["state"] == "on"
            ],
            "the automation did not set up",
        )[0]
        assert automation["attributes"]["last_triggered"] is None

        # The film starts: the server posts media.play to every registered webhook.
        plex_tv.run(
            plex_tv.server.start_session(
                player="Living room TV", title="Big Buck Bunny"
            )
        )
        home_assistant.wait_for_state(BOOLEAN, "on", timeout=15)
        deliveries = plex_tv.call(lambda: list(plex_tv.server.deliveries))
        assert [(d.url, d.event, d.status) for d in deliveries[-1:]] == [
            (url, "media.play", 200)
        ]
        state = home_assistant.request("GET", f"/api/states/{PLAYBACK}")
        attributes = state["attributes"]
        assert attributes["event_type"] == "play"
        assert attributes["title"] == "Big Buck Bunny"
        assert attributes["player"] == "Living room TV"
        assert attributes["user"] == "Demo Person"
        assert "127.0.0." not in repr(attributes)

        check_activity(page, home_assistant)
        check_log(home_assistant)
    except Exception:
        page.screenshot(path=ARTIFACTS / "events-failed.png")
        raise
    finally:
        remove(home_assistant, automation_id)
        plex_tv.call(plex_tv.server.sessions.clear)
