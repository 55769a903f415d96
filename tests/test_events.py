"""Playback and library events: the webhook at plex.tv, posts from the server, event entities.

Everything runs over real HTTP on loopback: the plex.tv stand-in keeps the
account's webhook list, the Plex Media Server stand-in posts real multipart
events to it, and Home Assistant serves the webhook on its internal URL.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
import sys
from types import ModuleType, SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, Mock

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from yarl import URL

from custom_components.plex_link import webhooks
from custom_components.plex_link.const import CONF_EVENTS, CONF_REMOTE_SERVER, DOMAIN
from custom_components.plex_link.diagnostics import async_get_config_entry_diagnostics
from custom_components.plex_link.event import DESCRIPTIONS
from custom_components.plex_link.plextv import PlexTvClient
from custom_components.plex_link.webhooks import CONF_CLOUDHOOK_URL

from .conftest import assert_clean_log, linked_entry, wait_for
from .standin import Fault, PlexTvStandIn, StandInAccount, StandInServer
from .standin.server import PlexMediaServerStandIn

pytestmark = pytest.mark.usefixtures("home_assistant_url")

OTHER_HOOK = "http://127.0.0.1:9/tautulli-hook"
BROKEN_HOOK = "http://[::1/not-a-url"
PLAYBACK = "event.media_shelf_playback"
LIBRARY = "event.media_shelf_library"
SERVER = "event.media_shelf_server_events"


@pytest.fixture(autouse=True)
def patient_plex_tv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the plex.tv stand-in 5 s to answer (conftest gives 0.2 s), so a busy machine fails nothing.

    The one test of a plex.tv that does not answer sets a shorter limit itself.
    """
    monkeypatch.setattr(PlexTvClient, "request_timeout", 5.0)


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up an entry, and let the webhook registration finish."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _post(
    plex_server: PlexMediaServerStandIn, event: str, session: str | None = None
) -> list[int]:
    """Have the server post an event; return the statuses Home Assistant answered.

    The account's other webhook is a closed port, so only Home Assistant's posts count.
    """
    await plex_server.post_event(event, session=session)
    return [
        delivery.status
        for delivery in plex_server.deliveries
        if "/api/webhook/" in delivery.url
    ]


def _own_url(entry: MockConfigEntry, home_assistant_url: str) -> str:
    """Return the webhook URL Plex Link gives plex.tv for an entry."""
    return f"{home_assistant_url}/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"


@pytest.fixture
async def linked(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the demo account, which already has another webhook at plex.tv."""
    plex_tv.demo_account.webhooks = [OTHER_HOOK]
    await _set_up(hass, mock_config_entry)
    return mock_config_entry


async def test_link_adds_home_assistant_and_keeps_other_webhooks(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    linked: MockConfigEntry,
    home_assistant_url: str,
) -> None:
    """Setting up adds one URL, on the local address, after the URLs already there."""
    assert linked.state is ConfigEntryState.LOADED
    own = _own_url(linked, home_assistant_url)
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK, own]
    assert URL(own).host == "127.0.0.1"

    await hass.config_entries.async_reload(linked.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK, own]
    assert len(plex_tv.demo_account.webhook_history) == 1, "nothing to write twice"


async def test_play_fires_the_playback_event(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """The server's media.play post, poster and all, becomes a play event with what automations need."""
    assert hass.states.get(PLAYBACK).state == STATE_UNKNOWN
    session = await plex_server.start_session(
        player="Living room TV", title="Big Buck Bunny"
    )
    assert await _post(plex_server, "media.play", session) == [200]
    await hass.async_block_till_done()

    state = hass.states.get(PLAYBACK)
    assert state.state != STATE_UNKNOWN
    assert state.attributes["event_type"] == "play"
    assert state.attributes["player"] == "Living room TV"
    assert state.attributes["player_local"] is True
    assert state.attributes["user"] == "Demo Person"
    assert state.attributes["media_type"] == "movie"
    assert state.attributes["title"] == "Big Buck Bunny"
    assert "publicAddress" not in repr(state.attributes)
    assert "127.0.0.1" not in repr(state.attributes)
    assert hass.states.get(LIBRARY).state == STATE_UNKNOWN


async def test_an_episode_names_show_season_and_episode(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """An episode's event carries the show and its numbers."""
    session = await plex_server.start_session(media_type="episode")
    assert await _post(plex_server, "media.pause", session) == [200]
    await hass.async_block_till_done()
    attributes = hass.states.get(PLAYBACK).attributes
    item = plex_server.sessions[session].item
    assert attributes["event_type"] == "pause"
    assert attributes["show"] == item.grandparent_title
    assert (attributes["season"], attributes["episode"]) == (
        item.parent_index,
        item.index,
    )


@pytest.mark.parametrize(
    ("plex_event", "entity_id", "event_type"),
    [
        (plex_event, f"event.media_shelf_{entity}", event_type)
        for description in DESCRIPTIONS
        for entity in [
            "server_events" if description.key == "server" else description.key
        ]
        for plex_event, event_type in description.plex_events.items()
    ],
)
async def test_every_plex_event_has_its_entity(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    plex_event: str,
    entity_id: str,
    event_type: str,
) -> None:
    """Each of Plex's events fires its own entity, with its own type, and no other."""
    assert await _post(plex_server, plex_event) == [200]
    await hass.async_block_till_done()
    for other in (PLAYBACK, LIBRARY, SERVER):
        state = hass.states.get(other)
        if other == entity_id:
            assert state.attributes["event_type"] == event_type
        else:
            assert state.state == STATE_UNKNOWN


BIG = b"x" * (50 * 1024 * 1024)
HOSTILE_POSTS = [
    pytest.param("POST", {"payload": "{}"}, None, 400, id="urlencoded"),
    pytest.param(
        "POST", b'{"event": "media.play"}', "application/json", 400, id="json"
    ),
    pytest.param("POST", "multipart-without-payload", None, 400, id="no-payload-part"),
    pytest.param("POST", "multipart-garbage", None, 400, id="garbage-json"),
    pytest.param("POST", "multipart-unknown-event", None, 400, id="unknown-event"),
    pytest.param("POST", "multipart-unknown-server", None, 200, id="unknown-server"),
    pytest.param("POST", BIG, "multipart/form-data; boundary=x", 400, id="50-mb"),
    pytest.param("GET", None, None, 405, id="wrong-method"),
]


def _multipart(kind: str, server_uuid: str) -> aiohttp.FormData:
    """Return a multipart body of one hostile kind."""
    form = aiohttp.FormData(default_to_multipart=True)
    if kind == "multipart-without-payload":
        form.add_field(
            "thumb", b"\xff\xd8\xff", filename="thumb.jpg", content_type="image/jpeg"
        )
    elif kind == "multipart-garbage":
        form.add_field("payload", "{not json", content_type="application/json")
    elif kind == "multipart-unknown-event":
        form.add_field(
            "payload",
            f'{{"event": "media.explode", "Server": {{"uuid": "{server_uuid}"}}}}',
        )
    else:
        form.add_field(
            "payload", '{"event": "media.play", "Server": {"uuid": "not-ours"}}'
        )
    return form


@pytest.mark.parametrize(("method", "body", "content_type", "status"), HOSTILE_POSTS)
async def test_hostile_posts_change_nothing(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    linked: MockConfigEntry,
    home_assistant_url: str,
    caplog: pytest.LogCaptureFixture,
    method: str,
    body: object,
    content_type: str | None,
    status: int,
) -> None:
    """Whatever is posted, the answer is a 4xx or a silent 200: no event, no traceback, nothing stored changes."""
    caplog.set_level(logging.DEBUG)
    data_before = dict(linked.data)
    options_before = dict(linked.options)
    server_uuid = plex_tv.demo_account.servers[0].machine_identifier
    if isinstance(body, str):
        body = _multipart(body, server_uuid)
    headers = {"Content-Type": content_type} if content_type else None
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, _own_url(linked, home_assistant_url), data=body, headers=headers
        ) as response,
    ):
        assert response.status == status
    await hass.async_block_till_done()

    assert linked.state is ConfigEntryState.LOADED
    assert dict(linked.data) == data_before
    assert dict(linked.options) == options_before
    for entity_id in (PLAYBACK, LIBRARY, SERVER):
        assert hass.states.get(entity_id).state == STATE_UNKNOWN
    assert_clean_log(caplog, plex_tv)


async def _run_scheduler(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    duration: timedelta,
    step: timedelta = timedelta(minutes=1),
) -> None:
    """Move the clock on by duration, one step at a time, running what falls due."""
    for _ in range(int(duration / step)):
        freezer.tick(step)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


async def test_an_hour_costs_25_requests_and_a_deleted_url_comes_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    plex_tv: PlexTvStandIn,
    linked: MockConfigEntry,
    home_assistant_url: str,
) -> None:
    """Someone deletes Home Assistant's webhook in Plex's settings: it is back within the hour.

    The list is not read at every 5-minute refresh: an hour of Home
    Assistant's scheduler costs the account 24 reads of the account and its
    servers, one read of the list and the one write that puts the URL back. A
    URL added meanwhile stays, even one that is not a valid URL.
    """
    before = len(plex_tv.requests)
    plex_tv.demo_account.webhooks = [OTHER_HOOK, BROKEN_HOOK]
    await _run_scheduler(hass, freezer, timedelta(minutes=55))
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK, BROKEN_HOOK]
    assert plex_tv.count("get_webhooks") == 1, "read at setup only"

    await _run_scheduler(hass, freezer, timedelta(minutes=5))
    assert plex_tv.demo_account.webhooks == [
        OTHER_HOOK,
        BROKEN_HOOK,
        _own_url(linked, home_assistant_url),
    ]
    hour = [request.endpoint for request in plex_tv.requests[before:]]
    assert len(hour) == 26
    assert hour.count("get_webhooks") == hour.count("set_webhooks") == 1

    await _run_scheduler(hass, freezer, timedelta(hours=1))
    assert len(plex_tv.requests) - before == 26 + 25


async def test_a_new_address_replaces_the_old_one(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, linked: MockConfigEntry
) -> None:
    """When Home Assistant's address changes, plex.tv gets the new one at once, instead of the old."""
    await hass.config.async_update(internal_url="http://127.0.0.2:8123")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert plex_tv.demo_account.webhooks == [
        OTHER_HOOK,
        f"http://127.0.0.2:8123/api/webhook/{linked.data[CONF_WEBHOOK_ID]}",
    ]


async def _set_options(
    hass: HomeAssistant, entry: MockConfigEntry, **options: bool
) -> dict[str, object]:
    """Open the options dialog, check what it shows, submit options and wait for the reload."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    shown = dict(result["description_placeholders"] or {})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_EVENTS: True, CONF_REMOTE_SERVER: False, **options},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    return shown


async def test_turning_events_off_removes_exactly_our_url(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    home_assistant_url: str,
    entity_registry: er.EntityRegistry,
) -> None:
    """The options dialog shows the address; turned off, our URL goes, the others stay, the entities go."""
    shown = await _set_options(hass, linked, events=False)
    assert shown == {
        "account": "Demo Person",
        "url": _own_url(linked, home_assistant_url),
    }
    assert linked.state is ConfigEntryState.LOADED
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK]
    assert hass.states.get(PLAYBACK) is None
    assert entity_registry.async_get(PLAYBACK) is None
    assert await _post(plex_server, "media.play") == []

    await _set_options(hass, linked, events=True)
    assert plex_tv.demo_account.webhooks == [
        OTHER_HOOK,
        _own_url(linked, home_assistant_url),
    ]
    assert hass.states.get(PLAYBACK).state == STATE_UNKNOWN


async def test_a_server_on_another_network(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, linked: MockConfigEntry
) -> None:
    """For a server elsewhere, plex.tv gets Home Assistant's external address."""
    hass.config.external_url = "https://home.example.test"
    await _set_options(hass, linked, remote_server=True)
    assert plex_tv.demo_account.webhooks == [
        OTHER_HOOK,
        f"https://home.example.test/api/webhook/{linked.data[CONF_WEBHOOK_ID]}",
    ]


async def test_without_plex_pass_nothing_is_registered(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, mock_config_entry: MockConfigEntry
) -> None:
    """An account without Plex Pass: no webhook call, no event entity, and the option says why."""
    plex_tv.demo_account.plex_pass = False
    await _set_up(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert plex_tv.count("get_webhooks") == plex_tv.count("set_webhooks") == 0
    assert hass.states.get(PLAYBACK) is None
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "libraries"
    assert CONF_EVENTS not in result["data_schema"].schema


async def test_removal_takes_only_our_url(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, linked: MockConfigEntry
) -> None:
    """Removing the entry removes Home Assistant's URL and leaves the rest."""
    await hass.config_entries.async_remove(linked.entry_id)
    await hass.async_block_till_done()
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK]


async def test_removal_while_plex_tv_is_down_keeps_every_url(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    linked: MockConfigEntry,
    home_assistant_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """plex.tv down at removal: nothing is written, the warning says what to do, removal goes on."""
    plex_tv.inject("get_webhooks", Fault(status=503), times=None)
    await hass.config_entries.async_remove(linked.entry_id)
    await hass.async_block_till_done()
    assert hass.config_entries.async_get_entry(linked.entry_id) is None
    assert plex_tv.demo_account.webhooks == [
        OTHER_HOOK,
        _own_url(linked, home_assistant_url),
    ]
    assert "Could not remove Home Assistant from the webhooks of Demo Person" in (
        caplog.text
    )


async def test_two_accounts_keep_their_own_lists(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    linked: MockConfigEntry,
    sam: StandInAccount,
    client_identifier: str,
    home_assistant_url: str,
) -> None:
    """Each account gets its entry's URL; removing one entry touches only its account."""
    sam.plex_pass = True
    sam.webhooks = ["http://127.0.0.1:9/sams-hook"]
    second = linked_entry(plex_tv, sam, client_identifier)
    await _set_up(hass, second)
    assert sam.webhooks == [
        "http://127.0.0.1:9/sams-hook",
        _own_url(second, home_assistant_url),
    ]
    await hass.config_entries.async_remove(second.entry_id)
    await hass.async_block_till_done()
    assert sam.webhooks == ["http://127.0.0.1:9/sams-hook"]
    assert plex_tv.demo_account.webhooks == [
        OTHER_HOOK,
        _own_url(linked, home_assistant_url),
    ]


HTML = Fault(status=200, body="<html>Sign in</html>", content_type="text/html")
SILENT = 3.0
REGISTRATION_FAULTS = [
    pytest.param("get_webhooks", Fault(status=500), id="get-500"),
    pytest.param("get_webhooks", Fault(status=429), id="get-429"),
    pytest.param("get_webhooks", Fault(status=401), id="get-401"),
    pytest.param("get_webhooks", HTML, id="get-html"),
    pytest.param("get_webhooks", Fault(status=200, body='{"url": 1}'), id="get-shape"),
    pytest.param("get_webhooks", Fault(delay=SILENT), id="get-timeout"),
    pytest.param(
        "get_webhooks",
        Fault(status=302, headers={"Location": "http://127.0.0.2/"}),
        id="get-redirect",
    ),
    pytest.param("set_webhooks", Fault(status=503), id="set-503"),
    pytest.param("set_webhooks", Fault(drop=True), id="set-reset"),
]


@pytest.mark.parametrize(("endpoint", "fault"), REGISTRATION_FAULTS)
async def test_registration_failure_never_blocks_setup(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    mock_config_entry: MockConfigEntry,
    home_assistant_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    issue_registry: ir.IssueRegistry,
    endpoint: str,
    fault: Fault,
) -> None:
    """plex.tv fails the webhook calls: the entry loads, the log says so once, a refresh retries, a day of it raises a repair."""
    if fault.delay:
        monkeypatch.setattr(PlexTvClient, "request_timeout", SILENT / 2)
    caplog.set_level(logging.DEBUG)
    plex_tv.demo_account.webhooks = [OTHER_HOOK]
    plex_tv.inject(endpoint, fault, times=None)
    await _set_up(hass, mock_config_entry)
    coordinator = mock_config_entry.runtime_data.coordinator
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK]
    assert (
        caplog.text.count("Could not register Home Assistant as the Plex webhook") == 1
    )

    await coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert (
        caplog.text.count("Could not register Home Assistant as the Plex webhook") == 1
    )
    assert not issue_registry.issues

    a_day_later = dt_util.utcnow() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(
        webhooks, "dt_util", SimpleNamespace(utcnow=lambda: a_day_later)
    )
    await coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = issue_registry.async_get_issue(
        DOMAIN, f"webhook_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_key == "webhook_failing"

    plex_tv.clear_faults()
    await coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert plex_tv.demo_account.webhooks == [
        OTHER_HOOK,
        _own_url(mock_config_entry, home_assistant_url),
    ]
    assert not issue_registry.issues
    assert_clean_log(caplog, plex_tv)


async def test_events_reach_home_assistant_only_from_loopback_by_default(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, linked: MockConfigEntry
) -> None:
    """The webhook is local-only unless the person says a server is elsewhere."""
    handlers = hass.data["webhook"]
    assert handlers[linked.data[CONF_WEBHOOK_ID]].local_only is True
    await _set_options(hass, linked, remote_server=True)
    assert hass.data["webhook"][linked.data[CONF_WEBHOOK_ID]].local_only is False


async def test_concurrent_posts_all_arrive(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Twenty posts at once: each one becomes an event."""
    fired: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: fired.append(event.data["entity_id"])
        if event.data["entity_id"] == PLAYBACK
        else None,
    )
    await asyncio.gather(*(plex_server.post_event("media.resume") for _ in range(20)))
    await hass.async_block_till_done()
    statuses = [d.status for d in plex_server.deliveries if "/api/webhook/" in d.url]
    assert statuses == [200] * 20
    assert len(fired) == 20


async def test_options_need_a_loaded_entry(
    hass: HomeAssistant, plex_tv: PlexTvStandIn, linked: MockConfigEntry
) -> None:
    """The options of an entry that is not loaded say so instead of guessing."""
    await hass.config_entries.async_unload(linked.entry_id)
    result = await hass.config_entries.options.async_init(linked.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"


async def test_each_server_fires_only_its_own_entities(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A post from one server fires that server's entity, not the other server's."""
    attic = StandInServer(name="Attic")
    plex_tv.demo_account.servers.append(attic)
    attic_server = PlexMediaServerStandIn(plex_tv, attic)
    await attic_server.start()
    try:
        await _set_up(hass, mock_config_entry)
        assert await _post(attic_server, "library.new") == [200]
        await hass.async_block_till_done()
        assert hass.states.get("event.attic_library").attributes["event_type"] == "new"
        assert hass.states.get(LIBRARY).state == STATE_UNKNOWN
    finally:
        await attic_server.stop()


async def test_removal_without_plex_pass_is_quiet(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An account without Plex Pass has no webhook to remove: no warning, the token is signed out."""
    plex_tv.demo_account.plex_pass = False
    await _set_up(hass, mock_config_entry)
    token = mock_config_entry.data["token"]
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert "Could not remove Home Assistant from the webhooks" not in caplog.text
    assert token not in plex_tv.tokens


async def test_plex_pass_bought_after_linking_needs_no_reload(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    home_assistant_url: str,
    entity_registry: er.EntityRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Plex Pass bought (then lost) after linking takes effect at the next refresh.

    The handler and the event entities follow the account at once, without
    waiting for plex.tv's slow answer about the webhook list; the URL follows
    when plex.tv answers, and the server's posts become events.
    """
    monkeypatch.setattr(PlexTvClient, "request_timeout", 30)
    plex_tv.demo_account.plex_pass = False
    plex_tv.demo_account.webhooks = [OTHER_HOOK]
    await _set_up(hass, mock_config_entry)
    coordinator = mock_config_entry.runtime_data.coordinator
    webhook_id = mock_config_entry.data[CONF_WEBHOOK_ID]
    assert hass.states.get(PLAYBACK) is None
    assert webhook_id not in hass.data.get("webhook", {})

    plex_tv.demo_account.plex_pass = True
    answer = asyncio.Event()
    plex_tv.inject("get_webhooks", Fault(then_answer=True, hold=answer))
    try:
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        await wait_for(lambda: plex_tv.count("get_webhooks") == 1)
        assert hass.states.get(PLAYBACK).state == STATE_UNKNOWN
        assert webhook_id in hass.data["webhook"]
    finally:
        answer.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    own = _own_url(mock_config_entry, home_assistant_url)
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK, own]
    session = await plex_server.start_session(player="Living room TV")
    assert await _post(plex_server, "media.play", session) == [200]
    await hass.async_block_till_done()
    assert hass.states.get(PLAYBACK).attributes["event_type"] == "play"

    plex_tv.demo_account.plex_pass = False
    await coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(PLAYBACK) is None
    assert entity_registry.async_get(PLAYBACK) is None
    assert webhook_id not in hass.data["webhook"]
    assert mock_config_entry.runtime_data.webhook.registered_url is None


async def test_events_keep_firing_while_plex_tv_is_down(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """plex.tv answers 503 to everything: the server's posts still become events.

    The event entities' data come from the server, not from plex.tv, so they
    stay available while the account's entities are not.
    """
    for endpoint in ("user", "resources", "get_webhooks", "set_webhooks"):
        plex_tv.inject(endpoint, Fault(status=503), times=None)
    await linked.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("binary_sensor.demo_person_plex_pass").state == (
        STATE_UNAVAILABLE
    )
    assert hass.states.get(PLAYBACK).state == STATE_UNKNOWN

    session = await plex_server.start_session(player="Living room TV")
    assert await _post(plex_server, "media.pause", session) == [200]
    await hass.async_block_till_done()
    state = hass.states.get(PLAYBACK)
    assert state.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    assert state.attributes["event_type"] == "pause"


async def _fail_for(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    duration: timedelta,
) -> None:
    """Set up entry while plex.tv refuses the webhook list, and let duration pass."""
    plex_tv.inject("get_webhooks", Fault(status=503), times=None)
    await _set_up(hass, entry)
    await _run_scheduler(hass, freezer, duration, step=timedelta(hours=1))


def _repair(
    issue_registry: ir.IssueRegistry, entry: MockConfigEntry
) -> ir.IssueEntry | None:
    """Return the entry's webhook repair, if one is raised."""
    return issue_registry.async_get_issue(DOMAIN, f"webhook_{entry.entry_id}")


async def test_the_repair_waits_a_day_counted_across_reloads(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    mock_config_entry: MockConfigEntry,
    home_assistant_url: str,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Hours of failures raise nothing; a reload does not start the day again; after a day the repair names plex.tv."""
    await _fail_for(hass, plex_tv, mock_config_entry, freezer, timedelta(hours=3))
    assert _repair(issue_registry, mock_config_entry) is None

    freezer.tick(timedelta(hours=19))
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _repair(issue_registry, mock_config_entry) is None

    await _run_scheduler(hass, freezer, timedelta(hours=3), step=timedelta(hours=1))
    issue = _repair(issue_registry, mock_config_entry)
    assert issue is not None
    assert issue.translation_key == "webhook_failing"
    assert issue.translation_placeholders == {"account": "Demo Person"}


async def test_a_success_after_a_reload_removes_the_repair(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    mock_config_entry: MockConfigEntry,
    home_assistant_url: str,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    hass_storage: dict[str, Any],
) -> None:
    """The repair goes at the first success, even one of the entry loaded again; the next failure starts a new day."""
    await _fail_for(hass, plex_tv, mock_config_entry, freezer, timedelta(hours=25))
    assert _repair(issue_registry, mock_config_entry) is not None

    plex_tv.clear_faults()
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _repair(issue_registry, mock_config_entry) is None
    assert f"{DOMAIN}.{mock_config_entry.entry_id}.webhook" not in hass_storage

    plex_tv.inject("get_webhooks", Fault(status=503), times=None)
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await _run_scheduler(hass, freezer, timedelta(hours=2), step=timedelta(hours=1))
    assert _repair(issue_registry, mock_config_entry) is None


async def test_removal_removes_the_repair(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    mock_config_entry: MockConfigEntry,
    home_assistant_url: str,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    hass_storage: dict[str, Any],
) -> None:
    """Removing the entry takes its repair and its record of failures with it."""
    await _fail_for(hass, plex_tv, mock_config_entry, freezer, timedelta(hours=25))
    assert _repair(issue_registry, mock_config_entry) is not None

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert _repair(issue_registry, mock_config_entry) is None
    assert f"{DOMAIN}.{mock_config_entry.entry_id}.webhook" not in hass_storage


async def test_the_repair_says_home_assistant_has_no_address(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    client_identifier: str,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A server elsewhere, and Home Assistant has no external address: the repair says so.

    Once the address is set, plex.tv gets it at once and the repair goes.
    """
    entry = linked_entry(
        plex_tv,
        plex_tv.demo_account,
        client_identifier,
        options={CONF_REMOTE_SERVER: True},
    )
    await _set_up(hass, entry)
    await _run_scheduler(hass, freezer, timedelta(hours=25), step=timedelta(hours=1))
    assert plex_tv.count("get_webhooks") == 0
    issue = _repair(issue_registry, entry)
    assert issue is not None
    assert issue.translation_key == "webhook_no_address"
    assert issue.translation_placeholders == {"account": "Demo Person"}

    await hass.config.async_update(external_url="https://home.example.test")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert plex_tv.demo_account.webhooks == [
        f"https://home.example.test/api/webhook/{entry.data[CONF_WEBHOOK_ID]}"
    ]
    assert _repair(issue_registry, entry) is None


async def test_the_sync_ends_when_the_entry_unloads(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An entry unloaded while plex.tv is slow to answer: nothing writes its URL afterwards."""
    monkeypatch.setattr(PlexTvClient, "request_timeout", 30)
    plex_tv.demo_account.webhooks = [OTHER_HOOK]
    answer = asyncio.Event()
    plex_tv.inject("get_webhooks", Fault(then_answer=True, hold=answer))
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await wait_for(lambda: plex_tv.count("get_webhooks") == 1)

    try:
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    finally:
        answer.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert plex_tv.count("set_webhooks") == 0
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK]


async def test_two_entries_reaching_one_server_fire_their_own_entities(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    sam: StandInAccount,
    client_identifier: str,
    entity_registry: er.EntityRegistry,
) -> None:
    """The server posts to both accounts' webhooks: each post fires its own entry's entity only."""
    server = plex_tv.demo_account.servers[0]
    sam.plex_pass = True
    sam.servers.append(server)
    second = linked_entry(plex_tv, sam, client_identifier)
    await _set_up(hass, second)
    sams = entity_registry.async_get_entity_id(
        "event", DOMAIN, f"{sam.uuid}_{server.machine_identifier}_playback"
    )
    assert sams is not None
    assert sams != PLAYBACK
    fired: list[str] = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: fired.append(event.data["entity_id"])
        if event.data["entity_id"] in (PLAYBACK, sams)
        else None,
    )

    assert await _post(plex_server, "media.play") == [200, 200]
    await hass.async_block_till_done()
    assert sorted(fired) == sorted([PLAYBACK, sams])

    fired.clear()
    sam.webhooks = []
    await plex_server.post_event("media.stop")
    await hass.async_block_till_done()
    assert fired == [PLAYBACK]


class CloudNotAvailable(HomeAssistantError):  # noqa: N818
    """What Home Assistant Cloud raises when it cannot do something now."""


@pytest.fixture
def home_assistant_cloud(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """Home Assistant Cloud signed in with a subscription, remote UI off.

    Cloud cannot run here (nor can its module be imported: it needs system
    libraries), so the functions of core's cloud component that integrations
    call stand in for it.
    """
    module = ModuleType("homeassistant.components.cloud")
    module.CloudNotAvailable = CloudNotAvailable  # type: ignore[attr-defined]
    module.async_active_subscription = lambda hass: True  # type: ignore[attr-defined]
    module.async_is_logged_in = lambda hass: True  # type: ignore[attr-defined]
    module.async_remote_ui_url = Mock(side_effect=CloudNotAvailable)  # type: ignore[attr-defined]
    module.async_get_or_create_cloudhook = AsyncMock(return_value=CLOUDHOOK)  # type: ignore[attr-defined]
    module.async_delete_cloudhook = AsyncMock()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    hass.config.components.add("cloud")
    return module


CLOUDHOOK = "http://127.0.0.1:9/cloudhook/5f1c"


async def test_a_remote_server_with_home_assistant_cloud_gets_a_cloudhook(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    linked: MockConfigEntry,
    home_assistant_url: str,
    home_assistant_cloud: Any,
) -> None:
    """Cloud signed in without remote UI or external URL: plex.tv gets a cloudhook, which goes when no longer used."""
    create = home_assistant_cloud.async_get_or_create_cloudhook
    delete = home_assistant_cloud.async_delete_cloudhook
    webhook_id = linked.data[CONF_WEBHOOK_ID]
    await _set_options(hass, linked, remote_server=True)
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK, CLOUDHOOK]
    assert linked.data[CONF_CLOUDHOOK_URL] == CLOUDHOOK
    create.assert_awaited_once_with(hass, webhook_id)
    diagnostics = await async_get_config_entry_diagnostics(hass, linked)
    assert CLOUDHOOK not in repr(diagnostics)

    await _set_options(hass, linked, remote_server=False)
    assert plex_tv.demo_account.webhooks == [
        OTHER_HOOK,
        _own_url(linked, home_assistant_url),
    ]
    assert CONF_CLOUDHOOK_URL not in linked.data
    delete.assert_awaited_once_with(hass, webhook_id)

    await _set_options(hass, linked, remote_server=True)
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK, CLOUDHOOK]
    await hass.config_entries.async_remove(linked.entry_id)
    await hass.async_block_till_done()
    assert plex_tv.demo_account.webhooks == [OTHER_HOOK]
    assert delete.await_count == 2
