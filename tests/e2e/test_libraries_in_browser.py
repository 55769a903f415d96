"""Libraries in a real Home Assistant: posters on a dashboard, and the media browser plays a film.

The demo account is linked; a dashboard made through Home Assistant's
WebSocket API holds picture-entity cards of the stand-in server's library
image entities (the newest film's, episode's and album's poster) and a
markdown card that shows the recently added sensor's posters (`<img>` of
each item's `poster` in the sensor's `data`), as a person without the
upcoming-media-card would write it. The stand-in adds a film: its poster
shows first. Every picture loads in the browser (naturalWidth > 0) through
Home Assistant (the image proxy, Plex Link's signed view), and no Plex token
is in any URL the browser asks for or anywhere in the page.

Then the media browser of the "Living room TV" player lists the server's
libraries; a film picked in Movies starts at the stand-in's player.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect
import pytest

from tests.live import StandInThread

from .conftest import ARTIFACTS, HomeAssistantApi, wait_until
from .test_link_in_browser import check_log

# The first scenario also waits for Home Assistant to start.
pytestmark = pytest.mark.timeout(300)

TV = "media_player.living_room_tv"
SERVER = "Media Shelf"
RECENT = "sensor.media_shelf_recently_added"
LIBRARIES = ("Movies", "TV Shows", "Music")
IMAGES = (
    "image.media_shelf_newest_in_movies",
    "image.media_shelf_newest_in_tv_shows",
    "image.media_shelf_newest_in_music",
)
NEW_FILM = "A Film Added Just Now"
PLAYED = "The Big Picture"
PLAYED_ENTRY = "The Big Picture (2019)"  # the browser names a film with its year
DASHBOARD = "plex-libraries"
VIEW = "/api/plex_link/images/"
# Plex Link's signed poster URL: the entry, server, item and kind, a version, Home Assistant's signature.
POSTER_URL = re.compile(r"^/api/plex_link/images/[^?]+/poster\?v=\w+&authSig=[\w.-]+$")
POSTERS = f"""\
{{% for item in (state_attr('{RECENT}', 'data') or [])[1:7] %}}\
<img src="{{{{ item.poster }}}}" alt="{{{{ item.title }}}}" width="96" height="144"> \
{{% endfor %}}"""
CARDS = {
    "type": "vertical-stack",
    "cards": [
        {
            "type": "grid",
            "columns": 3,
            "square": False,
            "cards": [
                {
                    "type": "picture-entity",
                    "entity": image,
                    "name": name,
                    "show_state": False,
                }
                for image, name in zip(IMAGES, LIBRARIES, strict=True)
            ],
        },
        {"type": "markdown", "title": "Recently added", "content": POSTERS},
    ],
}
# Every shadow root's HTML and every <img>'s URL, whatever depth it is at.
PAGE_HTML = """() => {
    const parts = [];
    const walk = (root) => {
        parts.push(root.innerHTML || "");
        for (const element of root.querySelectorAll("*")) {
            if (element.shadowRoot) walk(element.shadowRoot);
            if (element.tagName === "IMG") parts.push(element.currentSrc || element.src);
        }
    };
    walk(document.documentElement);
    return parts.join("\\n");
}"""


def create_dashboard(home_assistant: HomeAssistantApi) -> str:
    """Create the libraries dashboard (kept out of the sidebar); return its id."""
    dashboard = home_assistant.ws(
        "lovelace/dashboards/create",
        url_path=DASHBOARD,
        title="Plex libraries",
        mode="storage",
        show_in_sidebar=False,
        require_admin=False,
    )
    home_assistant.ws(
        "lovelace/config/save",
        url_path=DASHBOARD,
        config={"views": [{"title": "Libraries", "cards": [CARDS]}]},
    )
    dashboard_id: str = dashboard["id"]
    return dashboard_id


def recent_data(home_assistant: HomeAssistantApi) -> list[dict[str, Any]]:
    """Return the recently added sensor's data attribute (empty until it has one)."""
    try:
        state = home_assistant.request("GET", f"/api/states/{RECENT}")
    except Exception:  # noqa: BLE001 - not there yet
        return []
    data: list[dict[str, Any]] = state["attributes"].get("data") or []
    return data


def child(browser: Locator, title: str) -> Locator:
    """Return the media browser's entry of this title."""
    return browser.locator(
        "div.title", has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")
    )


def loaded_widths(page: Page, selector: str) -> list[int]:
    """Return the natural width of each picture the selector finds (0: not loaded)."""
    widths: list[int] = page.locator(selector).evaluate_all(
        "images => images.map(image => image.complete ? image.naturalWidth : 0)"
    )
    return widths


def plex_tokens(plex_tv: StandInThread) -> list[str]:
    """Return every Plex token in play: the server's and those plex.tv issued."""
    tokens = [
        plex_tv.server.server.access_token,
        *plex_tv.call(lambda: list(plex_tv.standin.issued_tokens)),
    ]
    return [token for token in tokens if token]


def see_posters(page: Page, plex_tv: StandInThread, added: list[str]) -> None:
    """The dashboard's library images load; a film added at the server shows first, loaded."""
    server = plex_tv.server
    pictures = "hui-picture-entity-card img"
    posters = "hui-markdown-card ha-markdown img"
    expect(page.locator(pictures)).to_have_count(len(IMAGES))
    wait_until(
        lambda: all(loaded_widths(page, pictures)),
        "the library images did not load",
        failure=lambda: str(loaded_widths(page, pictures)),
    )
    added.append(
        plex_tv.run(server.add_item("Movies", title=NEW_FILM, year=2026)).rating_key
    )
    first = page.locator(posters).first
    expect(first).to_have_attribute("alt", NEW_FILM, timeout=30_000)
    expect(first).to_have_attribute("src", POSTER_URL)
    wait_until(
        lambda: len(widths := loaded_widths(page, posters)) > 1 and all(widths),
        "the recently added posters did not load",
        failure=lambda: str(loaded_widths(page, posters)),
    )
    page.wait_for_load_state("networkidle")
    page.locator("hui-vertical-stack-card").screenshot(
        path=ARTIFACTS / "libraries-dashboard.png", animations="disabled"
    )
    html = page.evaluate(PAGE_HTML)
    assert [token for token in plex_tokens(plex_tv) if token in html] == []


def play_from_the_browser(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """The TV's media browser lists the server's libraries; a film picked in Movies starts on the TV."""
    server = plex_tv.server
    page.goto(f"{home_assistant.url}/media-browser/{TV}")
    browser = page.locator("ha-media-player-browse")
    child(browser, SERVER).click()
    for library in LIBRARIES:
        expect(child(browser, library)).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.mouse.move(1000, 700)  # no tooltip in the picture
    page.screenshot(path=ARTIFACTS / "libraries-media-browser.png")
    child(browser, "Movies").click()
    film = child(browser, PLAYED_ENTRY)
    expect(film).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.mouse.move(1000, 700)
    page.screenshot(path=ARTIFACTS / "libraries-media-browser-movies.png")
    film.click()
    wanted = plex_tv.call(lambda: server.entry(PLAYED).rating_key)
    plays = wait_until(
        lambda: plex_tv.call(lambda: list(server.plays())),
        f"{PLAYED} did not start at the stand-in",
    )
    tv = plex_tv.call(lambda: server.player_named("Living room TV"))
    assert [(p.target, p.query["key"]) for p in plays] == [
        (tv.machine_identifier, f"/library/metadata/{wanted}")
    ]
    home_assistant.wait_for_state(TV, "playing")


def test_posters_show_and_a_film_plays_from_the_media_browser(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """Library images and recently added posters load; the browser lists and plays."""
    server = plex_tv.server
    demo = plex_tv.call(lambda: plex_tv.standin.demo_account)
    home_assistant.link(plex_tv, demo)
    home_assistant.wait_for_state(TV, "idle")
    wait_until(lambda: len(recent_data(home_assistant)) > 1, "no recently added")
    for image in IMAGES:
        wait_until(
            lambda image=image: home_assistant.state(image) not in ("unknown", ""),
            f"{image} has no picture",
        )
    dashboard_id = create_dashboard(home_assistant)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    added: list[str] = []
    try:
        page.goto(f"{home_assistant.url}/{DASHBOARD}/0")
        see_posters(page, plex_tv, added)
        assert any(VIEW in url for url in requested), requested
        play_from_the_browser(page, home_assistant, plex_tv)
        tokens = plex_tokens(plex_tv)
        assert [url for url in requested if any(t in url for t in tokens)] == []
        check_log(home_assistant)
    except Exception:
        page.screenshot(path=ARTIFACTS / "libraries-failed.png")
        raise
    finally:

        def clean_up() -> None:
            server.sessions.clear()
            server.commands.clear()

        plex_tv.call(clean_up)
        for rating_key in added:
            plex_tv.run(server.remove_item(rating_key, notifications=()))
        home_assistant.ws("lovelace/dashboards/delete", dashboard_id=dashboard_id)
