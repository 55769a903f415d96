"""Who is watching what: the activity sensors and actions of the account's own servers.

Everything runs over real HTTP on loopback: the plex.tv stand-in lists the
demo account's server "Media Shelf" with the Plex Media Server stand-in as its
local connection (remote and relay connections are closed loopback ports), and
the stand-in pushes `playing` notifications over its websocket as sessions
start, pause, resume and stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
import logging
import re
import time
from typing import Any

import aiohttp
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.history import get_significant_states
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
)
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.plex_link import activity, async_get_sessions
from custom_components.plex_link.activity import PlexLinkActivityCoordinator
from custom_components.plex_link.const import DOMAIN
from custom_components.plex_link.coordinator import server_device_identifier
from custom_components.plex_link.plexserver import NotificationListener, WebhookEvent
from custom_components.plex_link.webhooks import event_signal

from .conftest import state, wait_for
from .standin import CLOSED_PORT, Fault, PlexTvStandIn, StandInServer
from .standin.server import PlexMediaServerStandIn, session_metadata

WATCHING = "sensor.media_shelf_watching"
TRANSCODING = "sensor.media_shelf_transcoding"
BANDWIDTH = "sensor.media_shelf_bandwidth"
ACTIVITY_SENSORS = (WATCHING, TRANSCODING, BANDWIDTH)
ERROR_LINE = "Error fetching plex_link Media Shelf activity data"
RECOVERED_LINE = "Fetching plex_link Media Shelf activity data recovered"
REFUSED_LINE = "Media Shelf does not let Plex Link see its activity"


@pytest.fixture(autouse=True)
def server_timeouts(fast_servers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Time server requests out after 2 s, so that a fault's 3 s stall is a timeout."""
    monkeypatch.setattr(PlexLinkActivityCoordinator, "request_timeout", 2.0)
    monkeypatch.setattr(PlexLinkActivityCoordinator, "connect_timeout", 2.0)


def coordinator_of(
    entry: MockConfigEntry, server: PlexMediaServerStandIn
) -> PlexLinkActivityCoordinator:
    """Return the activity coordinator of a stand-in server."""
    coordinator: PlexLinkActivityCoordinator = entry.runtime_data.activity[
        server.server.machine_identifier
    ]
    return coordinator


async def settle(hass: HomeAssistant) -> None:
    """Let every task, background ones included, finish.

    The notification listener runs in a task of its own, which this does not
    wait for: wait for what it does (a socket open, a read) first.
    """
    await hass.async_block_till_done(wait_background_tasks=True)


async def followed_live(hass: HomeAssistant, server: PlexMediaServerStandIn) -> None:
    """Wait until the server's sessions show and its socket is open and read, then settle.

    The first read comes at setup; the socket's opening asks for a second one,
    from the listener's task, which settle() alone would not wait for.
    """
    await wait_for(
        lambda: state(hass, WATCHING) == "0"
        and server.open_websockets == 1
        and server.count("sessions") >= 2
    )
    await settle(hass)


def assert_no_secrets(
    caplog: pytest.LogCaptureFixture,
    plex_tv: PlexTvStandIn,
    *servers: PlexMediaServerStandIn,
) -> None:
    """No token and no server address reached the log, and nothing failed unexpectedly.

    asyncio's and aiohttp's records are the stand-ins' business (their own
    sockets, a client that hung up on purpose); every other record is read with
    its traceback. The only traceback allowed is the coordinator's debug record
    of the UpdateFailed Plex Link raised.
    """
    records = [
        record
        for record in caplog.records
        if record.name != "asyncio" and not record.name.startswith("aiohttp")
    ]
    formatter = logging.Formatter()
    text = "\n".join(formatter.format(record) for record in records)
    assert "Media Shelf" in text
    for record in records:
        if record.exc_info and record.msg == "Full error:":
            assert record.exc_info[0] is UpdateFailed
        else:
            assert record.exc_info is None, record.getMessage()
    for marker in ("Unexpected error", "Error doing job", "never retrieved"):
        assert marker not in text
    secrets = [*plex_tv.issued_tokens]
    secrets += [server.server.access_token for server in servers]
    for secret in secrets:
        assert secret[:8] not in text
    assert not re.search(r"127\.0\.0\.1|plex\.direct|localhost", text)


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up an entry."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def linked(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> MockConfigEntry:
    """Set up the demo account, and wait until its server's activity is followed live."""
    caplog.set_level(logging.DEBUG)
    await set_up(hass, mock_config_entry)
    await followed_live(hass, plex_server)
    return mock_config_entry


async def test_sessions_show_as_they_start_pause_and_stop(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    token: str,
    client_identifier: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every change at the server reaches the sensors through its websocket."""
    assert state(hass, TRANSCODING) == "0"
    assert state(hass, BANDWIDTH) == "0"
    session = await plex_server.start_session(title="Big Buck Bunny")
    await wait_for(lambda: state(hass, WATCHING) == "1")
    assert state(hass, BANDWIDTH) == "8000"
    assert hass.states.get(WATCHING).attributes["sessions"] == [
        {
            "user": "Demo Person",
            "player": "Living room TV",
            "title": "Big Buck Bunny",
            "state": "playing",
            "progress": 0,
            "transcoding": False,
            "location": "lan",
        }
    ]

    await plex_server.pause(session)
    await wait_for(
        lambda: hass.states.get(WATCHING).attributes["sessions"][0]["state"] == "paused"
    )
    await plex_server.resume(session)
    await wait_for(
        lambda: hass.states.get(WATCHING).attributes["sessions"][0]["state"]
        == "playing"
    )
    await plex_server.stop_session(session)
    await wait_for(lambda: state(hass, WATCHING) == "0")
    assert hass.states.get(WATCHING).attributes["sessions"] == []
    assert state(hass, BANDWIDTH) == "0"

    server_token = plex_server.server.access_token
    assert plex_server.requests
    for request in plex_server.requests:
        assert request.headers["X-Plex-Token"] == server_token
        assert request.headers["X-Plex-Client-Identifier"] == client_identifier
        assert request.headers["X-Plex-Product"] == "Plex Link for Home Assistant"
        assert request.headers["Accept"] == "application/json"
        assert token not in repr(request)
        assert "X-Plex-Token" not in request.query
    assert plex_server.peak_websockets() == 1
    assert_no_secrets(caplog, plex_tv, plex_server)


async def test_transcoding_bandwidth_and_the_session_list(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Transcoded sessions count, bandwidths add up, episodes and tracks say what they are."""
    await plex_server.start_session(title="A Film")
    await plex_server.start_session(
        user="Sam",
        player="Phone",
        media_type="episode",
        transcode=True,
        location="wan",
        bandwidth=3000,
    )
    await plex_server.start_session(user="Kim", media_type="track", transcode=True)
    await wait_for(lambda: state(hass, WATCHING) == "3")

    assert state(hass, TRANSCODING) == "2"
    assert state(hass, BANDWIDTH) == str(8000 + 3000 + 1000)
    bandwidth = hass.states.get(BANDWIDTH).attributes
    assert bandwidth["unit_of_measurement"] == "kbit/s"
    assert bandwidth["device_class"] == "data_rate"
    assert bandwidth["state_class"] == "measurement"
    assert hass.states.get(WATCHING).attributes["state_class"] == "measurement"

    sessions = hass.states.get(WATCHING).attributes["sessions"]
    assert sessions[1] == {
        "user": "Sam",
        "player": "Phone",
        "title": "Pilot",
        "show": "A Show",
        "season": 1,
        "episode": 1,
        "state": "playing",
        "progress": 0,
        "transcoding": True,
        "location": "wan",
    }
    assert (sessions[2]["artist"], sessions[2]["album"]) == ("An Artist", "An Album")
    assert "show" not in sessions[0]
    everything = repr([hass.states.get(entity_id) for entity_id in ACTIVITY_SENSORS])
    assert "127.0.0" not in everything
    assert plex_server.server.access_token not in everything


async def test_stream_decisions_without_a_transcode_session(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """A session whose streams say transcode, with no TranscodeSession, is transcoding."""
    await plex_server.start_session(transcode=True, transcode_session=False)
    await wait_for(lambda: state(hass, WATCHING) == "1")
    assert "TranscodeSession" not in session_metadata(
        next(iter(plex_server.sessions.values()))
    )
    assert state(hass, TRANSCODING) == "1"
    assert listed(hass)[0]["transcoding"] is True
    response = await _call(hass, "get_sessions")
    (session,) = response["sessions"]
    assert (session["video_decision"], session["audio_decision"]) == (
        "transcode",
        "transcode",
    )


async def test_sensors_sit_on_the_server_device(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    linked: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The three sensors belong to the server's existing device, with stable unique ids."""
    server = plex_tv.demo_account.servers[0]
    device = device_registry.async_get_device_by_identifier(
        server_device_identifier(plex_tv.demo_account.uuid, server.machine_identifier),
        linked.entry_id,
    )
    assert device is not None
    assert device.name == "Media Shelf"
    for key, entity_id in zip(
        ("watching", "transcoding", "bandwidth"), ACTIVITY_SENSORS, strict=True
    ):
        entry = entity_registry.async_get(entity_id)
        assert entry is not None
        assert entry.device_id == device.id
        assert entry.translation_key == key
        assert (
            entry.unique_id
            == f"{plex_tv.demo_account.uuid}_{server.machine_identifier}_{key}"
        )


class TestRecorder:
    """The recorder, which has to start before Home Assistant does."""

    @pytest.fixture(autouse=True)
    def auto_enable_custom_integrations(
        self, recorder_mock: Recorder, enable_custom_integrations: None
    ) -> None:
        """Set up the recorder before Home Assistant, then allow custom integrations."""

    async def test_the_recorder_leaves_out_the_session_list(
        self,
        recorder_mock: Recorder,
        hass: HomeAssistant,
        plex_server: PlexMediaServerStandIn,
        linked: MockConfigEntry,
    ) -> None:
        """History keeps the number watching, not who watches what."""
        start = dt_util.utcnow()
        await plex_server.start_session()
        await wait_for(lambda: state(hass, WATCHING) == "1")
        assert hass.states.get(WATCHING).attributes["sessions"]
        await async_wait_recording_done(hass)

        history = await recorder_mock.async_add_executor_job(
            get_significant_states, hass, start, None, [WATCHING]
        )
        recorded = [item for item in history[WATCHING] if item.state == "1"]
        assert recorded
        for item in recorded:
            assert "sessions" not in item.attributes
            assert item.attributes["friendly_name"] == "Media Shelf Watching"


@pytest.mark.parametrize("graceful", [False, True], ids=["cut", "close-frame"])
async def test_a_dropped_websocket_reconnects_and_follows_again(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    graceful: bool,
) -> None:
    """After a drop, one new socket opens, and sessions show through it again."""
    assert await plex_server.drop_websockets(graceful=graceful) == 1
    await wait_for(
        lambda: len(plex_server.websockets) == 2 and plex_server.open_websockets == 1
    )
    await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    await plex_server.drop_websockets(graceful=graceful)
    await wait_for(lambda: plex_server.open_websockets == 1)
    await plex_server.stop_session(next(iter(plex_server.sessions)))
    await wait_for(lambda: state(hass, WATCHING) == "0")
    assert plex_server.peak_websockets() == 1
    assert caplog.text.count(ERROR_LINE) == 0
    assert_no_secrets(caplog, plex_tv, plex_server)


async def test_poll_is_slow_with_the_websocket_and_faster_without(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Five minutes while notifications arrive; 30 seconds while the socket is down."""
    await settle(hass)
    reads = plex_server.count("sessions")
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await settle(hass)
    assert plex_server.count("sessions") == reads

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5, seconds=1))
    await wait_for(lambda: plex_server.count("sessions") == reads + 1)

    plex_server.refuse_websockets = True
    await plex_server.drop_websockets()
    await wait_for(lambda: plex_server.count("sessions") == reads + 2)
    await settle(hass)
    await plex_server.start_session()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await wait_for(lambda: state(hass, WATCHING) == "1")
    assert plex_server.open_websockets == 0


async def test_a_refused_websocket_leaves_the_poll(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server whose websocket never opens still shows its sessions, through the poll."""
    caplog.set_level(logging.DEBUG)
    plex_server.refuse_websockets = True
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: state(hass, WATCHING) == "0")
    await plex_server.start_session(transcode=True)
    await settle(hass)
    assert state(hass, WATCHING) == "0", "nothing tells Home Assistant yet"

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await wait_for(lambda: state(hass, TRANSCODING) == "1")
    assert state(hass, WATCHING) == "1"
    assert plex_server.count("websocket") >= 1
    assert plex_server.websockets == []
    assert caplog.text.count(ERROR_LINE) == 0
    assert_no_secrets(caplog, plex_tv, plex_server)


async def test_notifications_within_the_cooldown_cost_one_more_read(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first change is read at once; the ones after it share one read at the cooldown's end.

    The cooldown is a minute here, and each notification (a pause, a resume, in
    turn: each a change that asks for a read) is seen by Plex Link before the
    next is sent, so only the debouncing can keep the reads down.
    """
    monkeypatch.setattr(activity, "REFRESH_COOLDOWN", 60.0)
    seen: list[None] = []
    request_refresh_soon = PlexLinkActivityCoordinator.async_request_refresh_soon

    def spy(coordinator: PlexLinkActivityCoordinator) -> None:
        """Note that a notification reached the coordinator, then pass it on."""
        seen.append(None)
        request_refresh_soon(coordinator)

    monkeypatch.setattr(PlexLinkActivityCoordinator, "async_request_refresh_soon", spy)
    await set_up(hass, mock_config_entry)
    # The socket's opening is itself a notification (a read, then the cooldown):
    # wait until Plex Link has seen it, then let that cooldown end.
    await wait_for(lambda: state(hass, WATCHING) == "0" and len(seen) == 1)
    await settle(hass)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await settle(hass)
    reads = plex_server.count("sessions")

    session = await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    before = len(seen)
    for number in range(1, 21):
        await plex_server.send_notification(
            "playing",
            [{"sessionKey": "1", "state": ("playing", "paused")[number % 2]}],
        )
        await wait_for(lambda n=before + number: len(seen) == n)
        await settle(hass)
    await plex_server.stop_session(session)
    await wait_for(lambda: len(seen) == before + 21)
    await settle(hass)
    assert plex_server.count("sessions") == reads + 1
    assert state(hass, WATCHING) == "1"

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await wait_for(lambda: state(hass, WATCHING) == "0")
    assert plex_server.count("sessions") == reads + 2


def listed(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Return the sessions the Watching sensor lists."""
    sessions: list[dict[str, Any]] = hass.states.get(WATCHING).attributes["sessions"]
    return sessions


async def test_timeline_reports_move_progress_with_no_read(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """A player reporting its timeline every 0.2 s with nothing changed costs no read.

    Progress and position move from the reports themselves. Each real change
    costs one read while the reports go on: a pause, a resume, a seek, a new
    session, a stop.
    """
    coordinator = coordinator_of(linked, plex_server)
    film = await plex_server.start_session(title="A Short Film", duration=100_000)
    await wait_for(lambda: state(hass, WATCHING) == "1")
    await settle(hass)
    read_at = coordinator.data[0].position_at
    reads = plex_server.count("sessions")
    plex_server.start_timelines(0.2)

    async def reported(rounds: int = 3) -> None:
        """Let rounds more reports reach Plex Link, and what they asked for end."""
        target = plex_server.timeline_reports + rounds
        await wait_for(lambda: plex_server.timeline_reports >= target)
        await plex_server.flush_websockets()
        await settle(hass)

    async def one_read(change: Awaitable[Any], shows: Callable[[], bool]) -> None:
        """Make a change; it shows after exactly one more read, reports going on."""
        before = plex_server.count("sessions")
        await change
        await wait_for(shows)
        await reported()
        assert plex_server.count("sessions") == before + 1

    try:
        start = listed(hass)[0]["progress"]
        await wait_for(lambda: listed(hass)[0]["progress"] >= start + 2)
        await reported(10)
        assert plex_server.count("sessions") == reads
        moved = coordinator.data[0]
        assert moved.position_at > read_at
        assert moved.position_at.tzinfo is not None
        assert abs(moved.view_offset_ms - plex_server.sessions[film].view_offset) < 5000

        await one_read(
            plex_server.pause(film), lambda: listed(hass)[0]["state"] == "paused"
        )
        paused_at = listed(hass)[0]["progress"]
        await reported(5)
        assert listed(hass)[0]["progress"] == paused_at
        await one_read(
            plex_server.resume(film), lambda: listed(hass)[0]["state"] == "playing"
        )
        await one_read(
            plex_server.seek(film, 80_000), lambda: listed(hass)[0]["progress"] >= 80
        )
        await one_read(
            plex_server.start_session(user="Sam", player="Phone", duration=100_000),
            lambda: state(hass, WATCHING) == "2",
        )
        await one_read(
            plex_server.stop_session(film), lambda: state(hass, WATCHING) == "1"
        )
    finally:
        plex_server.stop_timelines()
    assert plex_server.count("sessions") == reads + 5


async def test_a_stop_heard_during_a_slow_read_is_read_after_it(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stop told while a slow poll runs is read once the poll ends, not at the next poll.

    The poll was answered before the stop, and Home Assistant drops a read
    asked for while another runs: the stop's must not be lost with it.
    """
    session = await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    await settle(hass)
    coordinator = coordinator_of(linked, plex_server)
    get_sessions = coordinator.client.get_sessions
    answered, release = asyncio.Event(), asyncio.Event()

    async def slow_once() -> Any:
        """Answer the first read, then hold the answer until released."""
        sessions = await get_sessions()
        if not answered.is_set():
            answered.set()
            await release.wait()
        return sessions

    monkeypatch.setattr(coordinator.client, "get_sessions", slow_once)
    poll = hass.async_create_task(coordinator.async_refresh())
    await wait_for(answered.is_set)
    await plex_server.stop_session(session)
    debouncer = coordinator._debounced_refresh
    # The stop asks for a read; its turn comes, and passes, while the poll runs.
    await wait_for(lambda: debouncer._timer_task is not None)
    await wait_for(lambda: debouncer._timer_task is None)
    reads = plex_server.count("sessions")
    release.set()
    await poll
    await wait_for(lambda: state(hass, WATCHING) == "0")
    assert plex_server.count("sessions") == reads + 1, "one read after the poll"
    assert coordinator.data == []


async def test_reports_of_other_states_and_media_are_read(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Another media in a known session is read; buffering is passing and is not.

    A report with no session key, or of no session, asks for a read too.
    """
    film = await plex_server.start_session(duration=100_000)
    await wait_for(lambda: state(hass, WATCHING) == "1")
    await settle(hass)
    session = plex_server.sessions[film]

    async def report(**changes: Any) -> int:
        """Send one report of the film, changed; return the reads it cost, once done."""
        before = plex_server.count("sessions")
        entry = {
            "sessionKey": session.session_key,
            "ratingKey": session.item.rating_key,
            "key": f"/library/metadata/{session.item.rating_key}",
            "viewOffset": session.view_offset,
            "state": session.state,
        }
        await plex_server.send_notification("playing", [entry | changes])
        await plex_server.flush_websockets()
        await settle(hass)
        # Past the cooldown, which may hold a read back.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
        await settle(hass)
        return plex_server.count("sessions") - before

    assert await report() == 0
    assert await report(state="buffering", viewOffset=0) == 0
    assert await report(state="Playing") == 0
    assert await report(ratingKey="4242", key="/library/metadata/4242") == 1
    assert await report(sessionKey="99") == 1
    assert await report(sessionKey=None) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_an_owned_server_that_refuses_gets_no_sensors(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    """One info line, no socket, no poll; asked again at each plex.tv refresh, quietly."""
    caplog.set_level(logging.DEBUG)
    plex_server.inject("sessions", Fault(status=status), times=None)
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: plex_server.count("sessions") == 1)
    await settle(hass)
    assert state(hass, WATCHING) is None
    assert state(hass, "sensor.media_shelf_best_connection") is not None
    assert plex_server.count("websocket") == 0
    resources = plex_tv.count("resources")
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1))
    await settle(hass)
    plex_tv_refreshes = plex_tv.count("resources") - resources
    assert plex_server.count("sessions") == 1 + plex_tv_refreshes, "no poll of its own"

    plex_tv_coordinator = mock_config_entry.runtime_data.coordinator
    await plex_tv_coordinator.async_refresh()
    await wait_for(lambda: plex_server.count("sessions") == 2 + plex_tv_refreshes)
    await settle(hass)
    assert state(hass, WATCHING) is None
    assert caplog.text.count(REFUSED_LINE) == 1
    assert not [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and record.name.startswith("custom_components.plex_link")
    ]
    assert await hass.services.async_call(
        DOMAIN, "get_sessions", {}, blocking=True, return_response=True
    ) == {"sessions": [], "unavailable_servers": []}

    plex_server.clear_faults()
    await plex_tv_coordinator.async_refresh()
    await wait_for(
        lambda: state(hass, WATCHING) == "0" and plex_server.open_websockets == 1
    )
    assert caplog.text.count("Media Shelf lets Plex Link see its activity again") == 1
    assert_no_secrets(caplog, plex_tv, plex_server)


async def test_a_shared_server_is_left_alone(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A server the account does not own is never asked for its activity (its libraries, yes)."""
    shared = StandInServer(name="Friend's Shelf", owned=False)
    plex_tv.demo_account.servers.append(shared)
    friend = PlexMediaServerStandIn(plex_tv, shared, refuse_activity=True)
    await friend.start()
    try:
        await set_up(hass, mock_config_entry)
        await wait_for(lambda: state(hass, WATCHING) == "0")
        await settle(hass)
        assert state(hass, "sensor.friend_s_shelf_best_connection") is not None
        assert state(hass, "sensor.friend_s_shelf_watching") is None
        assert friend.count("sessions") == friend.count("websocket") == 0
        assert friend.peak_websockets() == 0
        assert list(mock_config_entry.runtime_data.activity) == [
            plex_server.server.machine_identifier
        ]
    finally:
        await friend.stop()


BIG = b'{"MediaContainer": {"Metadata": ["' + b"x" * (50 * 1024 * 1024) + b'"]}}'
FAULTS = [
    pytest.param(Fault(delay=3.0, then_answer=True), id="timeout"),
    pytest.param(Fault(drop=True), id="reset"),
    pytest.param(Fault(truncate=True, status=200), id="truncated"),
    pytest.param(Fault(status=503), id="5xx"),
    pytest.param(Fault(status=500, content_type="text/html"), id="500-html"),
    pytest.param(
        Fault(
            status=200, body="<html><body>Plex</body></html>", content_type="text/html"
        ),
        id="html",
    ),
    pytest.param(Fault(status=200, body='{"MediaContainer": []}'), id="wrong-shape"),
    pytest.param(
        Fault(status=200, body='{"MediaContainer": {"Metadata": 7}}'),
        id="wrong-sessions",
    ),
    pytest.param(Fault(status=200, body=BIG, chunked=True), id="50-mb-chunked"),
    pytest.param(Fault(status=200, body=BIG), id="50-mb"),
    pytest.param("redirect", id="redirect"),
    pytest.param(Fault(status=401), id="401"),
]


@pytest.mark.parametrize("fault", FAULTS)
async def test_server_faults_make_sensors_unavailable_until_they_pass(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
    fault: Fault | str,
) -> None:
    """Each way a sessions read can fail: unavailable, logged once, back by itself.

    The entry stays loaded and nothing stored changes. A refused token is not an
    outage: it is logged once at info level, and plex.tv's next refresh asks again.
    """
    if fault == "redirect":
        fault = Fault(
            status=302, headers={"Location": f"{plex_server.base_url}/identity"}
        )
    assert isinstance(fault, Fault)
    refused = fault.status == 401
    session = await plex_server.start_session(bandwidth=4321)
    await wait_for(lambda: state(hass, BANDWIDTH) == "4321")
    coordinator = coordinator_of(linked, plex_server)
    stored = (dict(linked.data), dict(linked.options))
    entities = er.async_entries_for_config_entry(entity_registry, linked.entry_id)

    plex_server.inject("sessions", fault, times=None)
    await coordinator.async_refresh()
    await coordinator.async_refresh()
    await settle(hass)
    for entity_id in ACTIVITY_SENSORS:
        assert state(hass, entity_id) == STATE_UNAVAILABLE
    assert linked.state is ConfigEntryState.LOADED
    assert caplog.text.count(REFUSED_LINE if refused else ERROR_LINE) == 1
    assert plex_server.count("identity") == 0, "no redirect followed"

    plex_server.clear_faults()
    if refused:
        await linked.runtime_data.coordinator.async_refresh()
    else:
        await coordinator.async_refresh()
    await wait_for(lambda: state(hass, BANDWIDTH) == "4321")
    assert state(hass, WATCHING) == "1"
    if not refused:
        assert caplog.text.count(RECOVERED_LINE) == 1
    await plex_server.stop_session(session)
    await wait_for(lambda: state(hass, WATCHING) == "0")

    assert linked.state is ConfigEntryState.LOADED
    assert (dict(linked.data), dict(linked.options)) == stored
    assert (
        er.async_entries_for_config_entry(entity_registry, linked.entry_id) == entities
    )
    assert plex_server.peak_websockets() == 1
    assert_no_secrets(caplog, plex_tv, plex_server)


@pytest.mark.parametrize("first", ["refused", "tls"])
async def test_an_unreachable_first_connection_falls_back(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    first: str,
) -> None:
    """A first connection that refuses or fails TLS is skipped, and the one that answered kept."""
    caplog.set_level(logging.DEBUG)
    server = plex_server.server
    port = plex_server.base_url.rsplit(":", 1)[1]
    unreachable = (
        f"https://127.0.0.1:{CLOSED_PORT}"
        if first == "refused"
        else f"https://127.0.0.1:{port}"
    )
    resources = server.to_json

    def with_unreachable_first() -> dict[str, Any]:
        """List an https local connection, which Plex ranks first, that never answers."""
        body = resources()
        body["connections"].insert(
            0, {"protocol": "https", "local": True, "relay": False, "uri": unreachable}
        )
        return body

    monkeypatch.setattr(server, "to_json", with_unreachable_first)
    await set_up(hass, mock_config_entry)
    await wait_for(
        lambda: state(hass, WATCHING) == "0" and plex_server.open_websockets == 1
    )
    coordinator = coordinator_of(mock_config_entry, plex_server)
    assert coordinator.client.connections[0] == unreachable
    assert coordinator.client.connection == plex_server.base_url

    await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    assert caplog.text.count(ERROR_LINE) == 0
    assert_no_secrets(caplog, plex_tv, plex_server)


async def test_servers_come_and_go_with_plex_tv(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    linked: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A new owned server gets its sensors and socket; leaving or changing hands takes them away."""
    attic_server = StandInServer(name="Attic")
    plex_tv.demo_account.servers.append(attic_server)
    attic = PlexMediaServerStandIn(plex_tv, attic_server)
    await attic.start()
    try:
        plex_tv_coordinator = linked.runtime_data.coordinator
        await plex_tv_coordinator.async_refresh()
        await wait_for(
            lambda: state(hass, "sensor.attic_watching") == "0"
            and attic.open_websockets == 1
        )
        await attic.start_session()
        await wait_for(lambda: state(hass, "sensor.attic_watching") == "1")

        attic_server.owned = False
        await plex_tv_coordinator.async_refresh()
        await wait_for(lambda: attic.open_websockets == 0)
        await settle(hass)
        assert state(hass, "sensor.attic_watching") is None
        assert entity_registry.async_get("sensor.attic_watching") is None
        assert state(hass, "sensor.attic_best_connection") is not None

        attic_server.owned = True
        await plex_tv_coordinator.async_refresh()
        await wait_for(lambda: state(hass, "sensor.attic_watching") == "1")

        plex_tv.demo_account.servers.remove(attic_server)
        await plex_tv_coordinator.async_refresh()
        await wait_for(lambda: attic.open_websockets == 0)
        await settle(hass)
        assert state(hass, "sensor.attic_watching") is None
        assert list(linked.runtime_data.activity) != []
        assert attic_server.machine_identifier not in linked.runtime_data.activity
        assert attic.peak_websockets() == 1
        assert state(hass, WATCHING) == "0"
    finally:
        await attic.stop()


async def test_a_new_access_token_replaces_the_socket(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the server's token changes, the old socket closes before the new one opens."""
    old_token = plex_server.server.access_token
    plex_server.server.access_token = "a-new-server-token-0123"
    await linked.runtime_data.coordinator.async_refresh()
    await wait_for(lambda: len(plex_server.websockets) == 2)
    await wait_for(lambda: plex_server.open_websockets == 1)
    await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    assert plex_server.peak_websockets() == 1
    assert plex_server.requests[-1].headers["X-Plex-Token"] == "a-new-server-token-0123"
    assert old_token not in caplog.text
    assert "a-new-server-token-0123" not in caplog.text


async def test_a_server_that_moves_is_found_at_its_new_address(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that goes away is unavailable; at its new address from plex.tv, it is back."""
    await plex_server.stop()
    await wait_for(lambda: state(hass, WATCHING) == STATE_UNAVAILABLE)
    await plex_server.start()
    await linked.runtime_data.coordinator.async_refresh()
    await wait_for(
        lambda: state(hass, WATCHING) == "0" and plex_server.open_websockets == 1
    )
    assert coordinator_of(linked, plex_server).client.connection == plex_server.base_url
    assert caplog.text.count(ERROR_LINE) == 1
    assert caplog.text.count(RECOVERED_LINE) == 1
    assert_no_secrets(caplog, plex_tv, plex_server)


async def test_webhook_posts_refresh_the_activity(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    home_assistant_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a websocket and with a slow poll, the Plex Pass webhook brings changes.

    Also when Plex Pass came after the link: the posts are followed from the
    refresh that found it, with no reload.
    """
    monkeypatch.setattr(activity, "FALLBACK_POLL_INTERVAL", timedelta(hours=1))
    plex_server.refuse_websockets = True
    plex_tv.demo_account.plex_pass = False
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: state(hass, WATCHING) == "0")
    plex_tv.demo_account.plex_pass = True
    await mock_config_entry.runtime_data.coordinator.async_refresh()
    await settle(hass)
    assert mock_config_entry.runtime_data.webhook.registered_url

    reads = plex_server.count("sessions")
    assert await plex_server.post_event("library.new") == [200]
    await settle(hass)
    assert plex_server.count("sessions") == reads, "not a playback event"

    plex_server.auto_webhooks = True
    session = await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    await plex_server.stop_session(session)
    await wait_for(lambda: state(hass, WATCHING) == "0")


async def test_webhook_posts_cost_no_read_while_the_websocket_is_open(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    home_assistant_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the websocket open, a change asks for one read: its webhook post asks for none."""
    asked: list[None] = []
    request_refresh_soon = PlexLinkActivityCoordinator.async_request_refresh_soon

    def spy(coordinator: PlexLinkActivityCoordinator) -> None:
        """Note a request for a read, then pass it on."""
        asked.append(None)
        request_refresh_soon(coordinator)

    monkeypatch.setattr(PlexLinkActivityCoordinator, "async_request_refresh_soon", spy)
    plex_server.auto_webhooks = True
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: state(hass, WATCHING) == "0" and len(asked) == 1)
    await settle(hass)
    await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    await settle(hass)
    assert plex_server.deliveries[-1].event == "media.play"
    assert plex_server.deliveries[-1].status == 200
    assert len(asked) == 2, "the notification asked for a read, the post did not"


async def test_activity_goes_on_while_plex_tv_is_down(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """The server is asked directly: plex.tv failing changes nothing for its sensors."""
    plex_tv.inject("resources", Fault(status=503), times=None)
    await linked.runtime_data.coordinator.async_refresh()
    assert not linked.runtime_data.coordinator.last_update_success
    await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    assert list(linked.runtime_data.activity) == [plex_server.server.machine_identifier]
    plex_tv.clear_faults()
    await linked.runtime_data.coordinator.async_refresh()
    await settle(hass)
    assert state(hass, WATCHING) == "1"
    assert plex_server.peak_websockets() == 1


async def test_without_webhooks_the_websocket_is_enough(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Without Plex Pass there is no webhook to listen to; the sensors follow all the same."""
    plex_tv.demo_account.plex_pass = False
    await set_up(hass, mock_config_entry)
    await followed_live(hass, plex_server)
    assert not mock_config_entry.runtime_data.webhook.receiving
    reads = plex_server.count("sessions")
    async_dispatcher_send(
        hass,
        event_signal(mock_config_entry),
        WebhookEvent(
            event="media.play", server_uuid=plex_server.server.machine_identifier
        ),
    )
    await settle(hass)
    assert plex_server.count("sessions") == reads
    await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")


async def test_a_playback_post_for_a_refusing_server_reads_nothing(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A server that refused is not asked again because it posted a playback event."""
    plex_server.inject("sessions", Fault(status=403), times=None)
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: plex_server.count("sessions") == 1)
    await settle(hass)
    async_dispatcher_send(
        hass,
        event_signal(mock_config_entry),
        WebhookEvent(
            event="media.play", server_uuid=plex_server.server.machine_identifier
        ),
    )
    await settle(hass)
    assert plex_server.count("sessions") == 1
    assert state(hass, WATCHING) is None


@pytest.fixture
def held(
    plex_server: PlexMediaServerStandIn, monkeypatch: pytest.MonkeyPatch
) -> asyncio.Event:
    """Hold the server's next sessions read until the returned event is set.

    Requests time out after 5 s here, so that holding one is not a fault.
    """
    monkeypatch.setattr(PlexLinkActivityCoordinator, "request_timeout", 5.0)
    release = asyncio.Event()
    plex_server.inject("sessions", Fault(then_answer=True, hold=release))
    return release


async def test_a_server_that_appears_during_a_slow_first_read_is_followed(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    held: asyncio.Event,
) -> None:
    """plex.tv's news that arrives while a server is being asked is not lost."""
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: plex_server.count("sessions") == 1)
    attic_server = StandInServer(name="Attic")
    plex_tv.demo_account.servers.append(attic_server)
    attic = PlexMediaServerStandIn(plex_tv, attic_server)
    await attic.start()
    try:
        await mock_config_entry.runtime_data.coordinator.async_refresh()
        assert state(hass, "sensor.attic_watching") is None
        held.set()
        await wait_for(
            lambda: state(hass, WATCHING) == "0"
            and state(hass, "sensor.attic_watching") == "0"
            and attic.open_websockets == 1
            and plex_server.open_websockets == 1
        )
        assert plex_server.peak_websockets() == attic.peak_websockets() == 1
    finally:
        await attic.stop()


async def test_unload_during_a_slow_first_read(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    held: asyncio.Event,
) -> None:
    """Unloading does not wait for a server that is slow to answer, and opens nothing."""
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: plex_server.count("sessions") == 1)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    held.set()
    await settle(hass)
    assert plex_server.count("websocket") == 0
    assert state(hass, WATCHING) is None


async def test_a_read_in_flight_when_the_server_leaves_opens_no_socket(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    held: asyncio.Event,
) -> None:
    """A read that ends after its server stopped being followed does not listen again."""
    await settle(hass)
    reads = plex_server.count("sessions")
    await plex_server.start_session()
    await wait_for(lambda: plex_server.count("sessions") == reads + 1)
    plex_tv.demo_account.servers[0].owned = False
    await linked.runtime_data.coordinator.async_refresh()
    await wait_for(lambda: not linked.runtime_data.activity)
    await wait_for(lambda: plex_server.open_websockets == 0)
    held.set()
    await settle(hass)
    await linked.runtime_data.coordinator.async_refresh()
    await settle(hass)
    assert plex_server.count("websocket") == 1
    assert state(hass, WATCHING) is None


async def test_unload_closes_the_websocket_and_stops_reading(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Unloading closes the socket at once; nothing is read afterwards; reload opens one again."""
    assert await hass.config_entries.async_unload(linked.entry_id)
    await wait_for(lambda: plex_server.open_websockets == 0)
    reads = plex_server.count("sessions")
    await plex_server.start_session()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1))
    await settle(hass)
    assert plex_server.count("sessions") == reads
    assert plex_server.count("websocket") == 1

    assert await hass.config_entries.async_setup(linked.entry_id)
    await wait_for(
        lambda: state(hass, WATCHING) == "1" and plex_server.open_websockets == 1
    )
    assert plex_server.peak_websockets() == 1


async def test_stopping_home_assistant_closes_the_websocket(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Plex Link closes its socket itself, before Home Assistant closes its HTTP session.

    A socket closed by Plex Link ends with a close frame (1000); one cut by
    Home Assistant closing the session's connections ends with none.
    """
    await hass.async_stop()
    assert not coordinator_of(linked, plex_server).listening
    await wait_for(lambda: plex_server.open_websockets == 0)
    (connection,) = plex_server.websockets
    assert connection.close_code == aiohttp.WSCloseCode.OK


async def test_a_read_asked_for_ends_with_the_entry(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read a notification asked for belongs to the entry: unloading ends it at once.

    The server holds the read (requests time out after 5 s here), so only
    the unloading can end it.
    """
    monkeypatch.setattr(PlexLinkActivityCoordinator, "request_timeout", 5.0)
    await set_up(hass, mock_config_entry)
    await followed_live(hass, plex_server)
    coordinator = coordinator_of(mock_config_entry, plex_server)
    # Past the last read's cooldown, so that the next one starts at once.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await settle(hass)
    release = asyncio.Event()
    plex_server.inject("sessions", Fault(then_answer=True, hold=release))
    reads = plex_server.count("sessions")

    def refreshing() -> list[asyncio.Task[Any]]:
        """Return the coordinator's reads still running."""
        return [
            task
            for task in asyncio.all_tasks()
            if task.get_name() == f"{coordinator.name} refresh" and not task.done()
        ]

    try:
        await plex_server.start_session()
        await wait_for(lambda: plex_server.count("sessions") == reads + 1)
        assert refreshing()
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        assert refreshing() == []
    finally:
        release.set()
    await settle(hass)


async def test_a_server_gone_silent_is_noticed(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that stops answering without closing the socket is noticed by its heartbeat.

    The socket is replaced, and what the server plays shows through the new one
    (without it nothing would tell before the 5-minute poll).
    """
    monkeypatch.setattr(NotificationListener, "heartbeat", 1.0)
    await set_up(hass, mock_config_entry)
    await followed_live(hass, plex_server)
    assert plex_server.go_silent() == 1
    silenced = time.monotonic()
    await plex_server.start_session()
    await wait_for(
        lambda: state(hass, WATCHING) == "1" and plex_server.open_websockets == 1
    )
    assert plex_server.websockets[-1].opened_at > silenced


async def _call(
    hass: HomeAssistant, action: str, context: Context | None = None, **data: Any
) -> Any:
    """Call one of Plex Link's actions and return its response."""
    return await hass.services.async_call(
        DOMAIN,
        action,
        data,
        blocking=True,
        return_response=action == "get_sessions",
        context=context,
    )


async def test_get_sessions(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    hass_read_only_user: MockUser,
    token: str,
    snapshot: SnapshotAssertion,
) -> None:
    """Every session, in full, for any user; no token, no address."""
    film = await plex_server.start_session(title="A Film")
    episode = await plex_server.start_session(
        user="Sam",
        player="Phone",
        media_type="episode",
        transcode=True,
        location="wan",
        bandwidth=3000,
    )
    for session_id in (film, episode):
        await plex_server.pause(session_id)
        plex_server.sessions[session_id].offset = (
            plex_server.sessions[session_id].item.duration // 2
        )
    await coordinator_of(linked, plex_server).async_refresh()

    response = await _call(
        hass, "get_sessions", Context(user_id=hass_read_only_user.id)
    )
    text = repr(response)
    for secret in (token, plex_server.server.access_token, "127.0.0"):
        assert secret not in text
    assert [session["session_id"] for session in response["sessions"]] == [
        film,
        episode,
    ]
    for session in response["sessions"]:
        session["session_id"] = "<session id>"
    assert response == snapshot

    machine_identifier = plex_server.server.machine_identifier
    only = await _call(hass, "get_sessions", server=machine_identifier)
    assert len(only["sessions"]) == 2
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, "get_sessions", server="not-a-server")
    assert caught.value.translation_key == "unknown_server"

    plex_server.inject("sessions", Fault(status=503), times=None)
    await coordinator_of(linked, plex_server).async_refresh()
    assert await _call(hass, "get_sessions", config_entry_id=linked.entry_id) == {
        "sessions": [],
        "unavailable_servers": ["Media Shelf"],
    }


async def test_python_api_returns_sessions(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Other integrations read the sessions with their server's machine identifier."""
    session = await plex_server.start_session(transcode=True)
    await wait_for(lambda: state(hass, WATCHING) == "1")
    sessions = async_get_sessions(hass)
    assert [
        (machine_identifier, play.session_id, play.transcoding)
        for machine_identifier, play in sessions
    ] == [(plex_server.server.machine_identifier, session, True)]
    assert async_get_sessions(hass, linked.entry_id) == sessions
    assert "127.0.0" not in repr(sessions)


async def test_stop_session_for_an_administrator(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """The server ends the session, shows the reason, and the sensors empty."""
    session = await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    await _call(
        hass,
        "stop_session",
        Context(user_id=hass_admin_user.id),
        session_id=session,
        reason="Dinner is ready",
    )
    assert plex_server.terminated == {session: "Dinner is ready"}
    await wait_for(lambda: state(hass, WATCHING) == "0")

    other = await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    await _call(hass, "stop_session", session_id=other)
    assert plex_server.terminated[other] == ""


async def test_stop_session_reads_the_sessions_again(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a stop, the sessions are read at once: nothing else may tell.

    The server's websocket is refused and the poll is an hour here, so only
    the action's own read can show the session gone.
    """
    monkeypatch.setattr(activity, "FALLBACK_POLL_INTERVAL", timedelta(hours=1))
    plex_server.refuse_websockets = True
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: state(hass, WATCHING) == "0")
    session = await plex_server.start_session()
    await coordinator_of(mock_config_entry, plex_server).async_refresh()
    assert state(hass, WATCHING) == "1"
    await _call(hass, "stop_session", session_id=session)
    await wait_for(lambda: state(hass, WATCHING) == "0")
    assert plex_server.open_websockets == 0


async def test_stop_session_refused_to_a_non_administrator(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    hass_read_only_user: MockUser,
) -> None:
    """A user who is not an administrator cannot stop anyone's playback."""
    session = await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    with pytest.raises(Unauthorized):
        await _call(
            hass,
            "stop_session",
            Context(user_id=hass_read_only_user.id),
            session_id=session,
        )
    assert plex_server.terminated == {}
    assert plex_server.count("terminate") == 0


@pytest.mark.parametrize(
    ("fault", "translation_key"),
    [
        (Fault(status=401), "stop_session_refused"),
        (Fault(status=403), "stop_session_refused"),
        (Fault(drop=True), "stop_session_failed"),
        (Fault(status=500), "stop_session_failed"),
        (Fault(status=404), "stop_session_failed"),
    ],
)
async def test_stop_session_failures_are_translated(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    fault: Fault,
    translation_key: str,
) -> None:
    """A refusal names the owner and Plex Pass; other failures say what happened; no address."""
    session = await plex_server.start_session()
    await wait_for(lambda: state(hass, WATCHING) == "1")
    plex_server.inject("terminate", fault, times=None)
    with pytest.raises(HomeAssistantError) as caught:
        await _call(hass, "stop_session", session_id=session)
    plex_server.clear_faults()
    assert not isinstance(caught.value, ServiceValidationError)
    assert caught.value.translation_domain == DOMAIN
    assert caught.value.translation_key == translation_key
    assert caught.value.translation_placeholders["server"] == "Media Shelf"
    message = str(caught.value)
    assert "Media Shelf" in message
    if translation_key == "stop_session_refused":
        assert "owner" in message
        assert "Plex Pass" in message
    assert "127.0.0" not in message
    assert plex_server.server.access_token not in message
    assert plex_server.sessions[session].state == "playing"


async def test_stop_session_for_an_unknown_session(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """A session no server plays is a clear, translated error, and nothing is sent."""
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, "stop_session", session_id="no-such-session")
    assert caught.value.translation_key == "session_not_found"
    assert caught.value.translation_placeholders == {"session_id": "no-such-session"}
    assert plex_server.count("terminate") == 0
