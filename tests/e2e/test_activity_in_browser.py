"""Who is watching what in a real Home Assistant: the server's device page, and stopping a session.

The demo account is linked; the Plex Media Server stand-in of "Media Shelf"
starts a transcoded film from outside the home, as a real server does when a
friend's phone plays it; Settings > Devices & services > Plex Link > Media
Shelf shows 1 watching, 1 transcoding and the session's bandwidth, told by
the server's notification websocket alone (the stand-in posts no webhook). An
administrator finds the session with plex_link.get_sessions and ends it with
plex_link.stop_session and a reason, through Home Assistant's REST API: the
server records the reason, and the device page shows 0, 0 and 0 kbit/s.
Names come from the integration's translation files.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect
import pytest

from tests.live import StandInThread

from .conftest import ARTIFACTS, DOMAIN, HomeAssistantApi, translation, wait_until
from .test_link_in_browser import check_log

# The first scenario also waits for Home Assistant to start.
pytestmark = pytest.mark.timeout(300)

SENSOR_NAMES = translation("en")["entity"]["sensor"]
WATCHING = "sensor.media_shelf_watching"
TRANSCODING = "sensor.media_shelf_transcoding"
BANDWIDTH = "sensor.media_shelf_bandwidth"
SERVER = "Media Shelf"
USER = "Sam"
PLAYER = "Phone"
TITLE = "A Film From Outside"
KBPS = 3456
REASON = "The upstream is needed for a video call; back in an hour."


def sensor_row(page: Page, key: str) -> Locator:
    """Return the row of an activity sensor on the device page, by its translated name."""
    name = SENSOR_NAMES[key]["name"]
    return page.locator("hui-generic-entity-row").filter(
        has=page.get_by_text(name, exact=True)
    )


def expect_activity(
    page: Page, watching: int, transcoding: int, bandwidth: str
) -> None:
    """The device page's rows read "Watching 1" and so on, as the frontend formats them.

    Each row's text as shown (its accessibility tree): name, then state.
    """
    for key, value in (
        ("watching", str(watching)),
        ("transcoding", str(transcoding)),
        ("bandwidth", bandwidth),
    ):
        expect(sensor_row(page, key)).to_match_aria_snapshot(
            f'- text: "{SENSOR_NAMES[key]["name"]} {value}"'
        )


def open_server_device(page: Page, home_assistant: HomeAssistantApi) -> None:
    """Settings > Devices & services > Plex Link > the server's device."""
    page.goto(f"{home_assistant.url}/config/integrations/integration/{DOMAIN}")
    # The entry lists its devices: the server's, and the account's.
    page.get_by_text(SERVER, exact=True).click()
    expect(page).to_have_url(re.compile(r"/config/devices/device/\w+$"))
    expect(sensor_row(page, "watching")).to_be_visible()


def get_sessions(home_assistant: HomeAssistantApi) -> list[dict[str, Any]]:
    """Call plex_link.get_sessions through the REST API and return its sessions."""
    answer = home_assistant.request(
        "POST", f"/api/services/{DOMAIN}/get_sessions?return_response", {}
    )
    sessions: list[dict[str, Any]] = answer["service_response"]["sessions"]
    return sessions


def test_a_transcoded_session_shows_and_stops(
    page: Page, home_assistant: HomeAssistantApi, plex_tv: StandInThread
) -> None:
    """The device page follows a remote transcoded film; stop_session ends it with a reason."""
    server = plex_tv.server
    demo = plex_tv.call(lambda: plex_tv.standin.demo_account)
    home_assistant.link(plex_tv, demo)
    for entity_id in (WATCHING, TRANSCODING, BANDWIDTH):
        home_assistant.wait_for_state(entity_id, "0")
    # Only the websocket tells Plex Link: no webhook post (Plex Pass) helps, and
    # no Playback event lands in the history the events scenario reads.
    plex_tv.call(lambda: setattr(server, "auto_webhooks", False))
    try:
        # A friend's phone plays a film from outside the home; the server transcodes it.
        session_id = plex_tv.run(
            server.start_session(
                user=USER,
                player=PLAYER,
                title=TITLE,
                transcode=True,
                location="wan",
                bandwidth=KBPS,
            )
        )
        open_server_device(page, home_assistant)
        expect_activity(page, 1, 1, f"{KBPS:,} kbit/s")
        assert home_assistant.state(BANDWIDTH) == str(KBPS)
        watching = home_assistant.request("GET", f"/api/states/{WATCHING}")
        assert watching["attributes"]["sessions"] == [
            {
                "user": USER,
                "player": PLAYER,
                "title": TITLE,
                "state": "playing",
                "progress": watching["attributes"]["sessions"][0]["progress"],
                "transcoding": True,
                "location": "wan",
            }
        ]
        page.wait_for_load_state("networkidle")  # entity icons load after the page
        page.screenshot(path=ARTIFACTS / "activity-1-watching.png")

        # The administrator finds the session and stops it, with a word for the viewer.
        (session,) = get_sessions(home_assistant)
        assert session["session_id"] == session_id
        assert (session["user"], session["player"], session["title"]) == (
            USER,
            PLAYER,
            TITLE,
        )
        assert session["transcoding"] is True
        assert session["location"] == "wan"
        assert session["bandwidth"] == KBPS
        assert server.server.access_token not in repr(session)
        assert "127.0.0." not in repr(session)
        home_assistant.request(
            "POST",
            f"/api/services/{DOMAIN}/stop_session",
            {"session_id": session_id, "reason": REASON},
        )
        terminated = wait_until(
            lambda: plex_tv.call(lambda: dict(server.terminated)),
            "the server recorded no termination",
        )
        assert terminated == {session_id: REASON}
        assert plex_tv.call(lambda: dict(server.sessions)) == {}

        expect_activity(page, 0, 0, "0 kbit/s")
        assert get_sessions(home_assistant) == []
        page.screenshot(path=ARTIFACTS / "activity-2-stopped.png")
        check_log(home_assistant)
    except Exception:
        page.screenshot(path=ARTIFACTS / "activity-failed.png")
        raise
    finally:

        def clean_up() -> None:
            server.sessions.clear()
            server.terminated.clear()
            server.auto_webhooks = True

        plex_tv.call(clean_up)
