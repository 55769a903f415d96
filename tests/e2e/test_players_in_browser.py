"""Media players in a real Home Assistant: a dashboard's media-control card follows a Plex player.

The demo account is linked; a dashboard made through Home Assistant's
WebSocket API holds Home Assistant's own media-control card (and a tile card,
which shows the state in words) for the stand-in server's "Living room TV".
The stand-in starts a film on it: the card shows the title and the artwork,
which the browser loads through Home Assistant's media player proxy (no
Plex token in any URL the browser asks for). Pause, pressed in the card,
reaches the player through the server, and the card follows. When the
stand-in stops the session the card shows the player idle, not unavailable.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, Response, expect
import pytest

from tests.live import StandInThread

from .conftest import ARTIFACTS, HomeAssistantApi
from .test_link_in_browser import check_log

# The first scenario also waits for Home Assistant to start.
pytestmark = pytest.mark.timeout(300)

TV = "media_player.living_room_tv"
PLAYER = "Living room TV"
TITLE = "A Film On The Big Screen"
DASHBOARD = "plex-players"
PROXY = f"/api/media_player_proxy/{TV}"
CARDS = {
    "type": "vertical-stack",
    "cards": [
        {"type": "media-control", "entity": TV},
        {"type": "tile", "entity": TV},
    ],
}


def create_dashboard(home_assistant: HomeAssistantApi) -> str:
    """Create a dashboard with the player's cards (kept out of the sidebar); return its id."""
    dashboard = home_assistant.ws(
        "lovelace/dashboards/create",
        url_path=DASHBOARD,
        title="Plex players",
        mode="storage",
        show_in_sidebar=False,
        require_admin=False,
    )
    home_assistant.ws(
        "lovelace/config/save",
        url_path=DASHBOARD,
        config={"views": [{"title": "Players", "cards": [CARDS]}]},
    )
    dashboard_id: str = dashboard["id"]
    return dashboard_id


def media_card(page: Page) -> Locator:
    """Return the media-control card on the dashboard."""
    return page.locator("hui-media-control-card")


def screenshot(page: Page, name: str) -> None:
    """Save the two cards as they end up (their colour transitions finished)."""
    page.locator("hui-vertical-stack-card").screenshot(
        path=ARTIFACTS / name, animations="disabled"
    )


def expect_artwork(page: Page, card: Locator, artwork: Response) -> None:
    """The card's background image came through the media player proxy, and loads."""
    expect(card.locator(".image")).to_have_css(
        "background-image", re.compile(re.escape(PROXY) + r"\?token=")
    )
    assert (artwork.status, artwork.headers["content-type"]) == (200, "image/jpeg")
    width = page.evaluate(
        """async (url) => {
            const picture = new Image();
            picture.src = url;
            await picture.decode();
            return picture.naturalWidth;
        }""",
        artwork.url,
    )
    assert width > 0
    expect(card.locator(".background")).not_to_have_class(re.compile("no-image"))


def expect_idle(page: Page, card: Locator) -> None:
    """The card shows the player idle: no title, no artwork, not greyed out, Play offered."""
    expect(card.get_by_text(TITLE)).to_have_count(0)
    background = card.locator(".background")
    expect(background).to_have_class(re.compile("no-image"))
    expect(background).not_to_have_class(re.compile("unavailable"))
    expect(card.get_by_role("button", name="Play")).to_be_visible()
    expect(page.locator("hui-tile-card").get_by_text("Idle")).to_be_visible()


def test_a_film_plays_pauses_and_stops_on_the_card(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """Title and artwork show, pause in the card pauses at the player, a stop leaves it idle."""
    server = plex_tv.server
    demo = plex_tv.call(lambda: plex_tv.standin.demo_account)
    home_assistant.link(plex_tv, demo)
    home_assistant.wait_for_state(TV, "idle")
    dashboard_id = create_dashboard(home_assistant)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        tv = plex_tv.call(lambda: server.player_named(PLAYER))
        session_id = plex_tv.run(server.start_session(player=PLAYER, title=TITLE))
        # The card's first request for the artwork, whenever it comes.
        with page.expect_response(lambda r: PROXY in r.url, timeout=60_000) as artwork:
            page.goto(f"{home_assistant.url}/{DASHBOARD}/0")
        card = media_card(page)
        expect(card.get_by_text(TITLE)).to_be_visible()
        expect(card.get_by_role("button", name="Pause")).to_be_visible()
        expect_artwork(page, card, artwork.value)
        expect(page.locator("hui-tile-card").get_by_text("Playing")).to_be_visible()
        page.wait_for_load_state("networkidle")
        screenshot(page, "player-playing.png")

        # Pause, pressed in the card, reaches the TV through the server.
        card.get_by_role("button", name="Pause").click()
        expect(card.get_by_role("button", name="Play")).to_be_visible()
        home_assistant.wait_for_state(TV, "paused")
        assert plex_tv.call(lambda: server.sessions[session_id].state) == "paused"
        commands = plex_tv.call(lambda: list(server.commands))
        assert [(c.command, c.target, c.status) for c in commands] == [
            ("playback/pause", tv.machine_identifier, 200)
        ]

        # The film ends at the player: idle, not unavailable; no title, no artwork.
        plex_tv.run(server.stop_session(session_id))
        home_assistant.wait_for_state(TV, "idle")
        expect_idle(page, card)
        screenshot(page, "player-idle.png")

        tokens = [
            server.server.access_token,
            *plex_tv.call(lambda: list(plex_tv.standin.issued_tokens)),
        ]
        assert [url for url in requested if any(t in url for t in tokens)] == []
        check_log(home_assistant)
    except Exception:
        page.screenshot(path=ARTIFACTS / "players-failed.png")
        raise
    finally:

        def clean_up() -> None:
            server.sessions.clear()
            server.commands.clear()

        plex_tv.call(clean_up)
        home_assistant.ws("lovelace/dashboards/delete", dashboard_id=dashboard_id)
