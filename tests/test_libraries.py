"""The libraries: counts, recently added in the upcoming-media-card's format, and what makes them fresh.

Everything runs over real HTTP on loopback: the plex.tv stand-in lists the
demo account's server "Media Shelf", whose stand-in holds three small
libraries (Movies, TV Shows, Music) and can add items, posting `library.new`
to the account's webhooks and sending the server's notifications.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
import logging
import re
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.plex_link.activity import library_signal
from custom_components.plex_link.const import (
    CONF_EVENTS,
    CONF_RECENTLY_ADDED,
    CONF_REMOTE_SERVER,
    DOMAIN,
)
from custom_components.plex_link.libraries import PlexLinkLibraryCoordinator
from custom_components.plex_link.plexserver import LibraryChange

from .conftest import state, wait_for
from .standin import Fault, PlexTvStandIn, StandInServer
from .standin.library import LibraryEntry
from .standin.server import PlexMediaServerStandIn

pytestmark = pytest.mark.usefixtures("home_assistant_url")

MOVIES = "sensor.media_shelf_movies"
SHOWS = "sensor.media_shelf_tv_shows"
MUSIC = "sensor.media_shelf_music"
RECENT = "sensor.media_shelf_recently_added"
NEWEST_FILM = "image.media_shelf_newest_in_movies"
LIBRARY_ENTITIES = (MOVIES, SHOWS, MUSIC, RECENT, NEWEST_FILM)
ERROR_LINE = "Error fetching plex_link Media Shelf libraries data"
RECOVERED_LINE = "Fetching plex_link Media Shelf libraries data recovered"
REFUSED_LINE = "Media Shelf does not let Plex Link read its libraries"
CARD_DEFAULTS = {
    "title_default": "$title",
    "line1_default": "$episode",
    "line2_default": "$release",
    "line3_default": "$number - $rating - $runtime",
    "line4_default": "$genres",
    "icon": "mdi:eye-off",
}


@pytest.fixture(autouse=True)
async def diagnostics_view(hass: HomeAssistant) -> None:
    """Set up diagnostics before Home Assistant's HTTP server starts, for its view."""
    assert await async_setup_component(hass, "diagnostics", {})


@pytest.fixture(autouse=True)
def server_timeouts(fast_servers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Time server requests out after 2 s, so that a fault's 3 s stall is a timeout."""
    monkeypatch.setattr(PlexLinkLibraryCoordinator, "request_timeout", 2.0)
    monkeypatch.setattr(PlexLinkLibraryCoordinator, "connect_timeout", 2.0)


def card(hass: HomeAssistant, entity_id: str = RECENT) -> list[dict[str, Any]]:
    """Return the recently added sensor's data attribute."""
    data: list[dict[str, Any]] = hass.states.get(entity_id).attributes["data"]
    return data


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up an entry, and wait until its server's libraries show."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(lambda: state(hass, RECENT) not in (None, STATE_UNAVAILABLE))
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def linked(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> MockConfigEntry:
    """Set up the demo account with its server's libraries read."""
    caplog.set_level(logging.DEBUG)
    await set_up(hass, mock_config_entry)
    return mock_config_entry


def coordinator_of(
    entry: MockConfigEntry, server: PlexMediaServerStandIn
) -> PlexLinkLibraryCoordinator:
    """Return the library coordinator of a stand-in server."""
    coordinator: PlexLinkLibraryCoordinator = entry.runtime_data.libraries[
        server.server.machine_identifier
    ]
    return coordinator


def newest(server: PlexMediaServerStandIn, count: int = 10) -> list[LibraryEntry]:
    """Return the server's newest films and episodes, newest first, as the stand-in holds them."""
    entries = server.entries("Movies", "movie") + server.entries("TV Shows", "episode")
    return sorted(entries, key=lambda entry: entry.added_at, reverse=True)[:count]


def assert_no_secrets(
    text: str, plex_tv: PlexTvStandIn, *servers: PlexMediaServerStandIn
) -> None:
    """No token of plex.tv or of a server, and no server address, is in text."""
    secrets = [*plex_tv.issued_tokens]
    secrets += [server.server.access_token for server in servers]
    for secret in secrets:
        assert secret[:8] not in text
    assert not re.search(r"127\.0\.0\.1|plex\.direct|localhost|X-Plex-Token", text)


def assert_clean_log(
    caplog: pytest.LogCaptureFixture,
    plex_tv: PlexTvStandIn,
    *servers: PlexMediaServerStandIn,
) -> None:
    """Nothing failed unexpectedly, and no secret or address reached the log."""
    records = [
        record
        for record in caplog.records
        if record.name != "asyncio" and not record.name.startswith("aiohttp")
    ]
    formatter = logging.Formatter()
    text = "\n".join(formatter.format(record) for record in records)
    for record in records:
        if record.exc_info and record.msg == "Full error:":
            assert record.exc_info[0] is UpdateFailed
        else:
            assert record.exc_info is None, record.getMessage()
    for marker in ("Unexpected error", "Error doing job", "never retrieved"):
        assert marker not in text
    assert_no_secrets(text, plex_tv, *servers)


def library_requests(server: PlexMediaServerStandIn, since: int = 0) -> list[str]:
    """Return the endpoints of the library requests the server received after the first since."""
    return [
        request.endpoint
        for request in server.requests[since:]
        if request.endpoint in ("sections", "section_items", "metadata")
    ]


# -- Counts ---------------------------------------------------------------------


async def test_counts_match_the_server_without_paging(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Each library's count is the server's total, read with one empty page per count."""
    plex_server.add_section("Archive", "movie", count=100_000)
    await set_up(hass, mock_config_entry)

    assert state(hass, MOVIES) == str(len(plex_server.entries("Movies", "movie")))
    assert state(hass, "sensor.media_shelf_archive") == "100000"
    shows = hass.states.get(SHOWS)
    assert shows.state == str(len(plex_server.entries("TV Shows", "show")))
    assert shows.attributes["episodes"] == len(
        plex_server.entries("TV Shows", "episode")
    )
    assert shows.attributes["state_class"] == "measurement"
    assert shows.attributes["unit_of_measurement"] == "items"
    music = hass.states.get(MUSIC)
    assert music.state == str(len(plex_server.entries("Music", "artist")))
    assert music.attributes["albums"] == len(plex_server.entries("Music", "album"))
    assert music.attributes["tracks"] == len(plex_server.entries("Music", "track"))
    assert "episodes" not in hass.states.get(MOVIES).attributes

    counts = [
        request
        for request in plex_server.requests
        if request.endpoint == "section_items"
        and request.query.get("X-Plex-Container-Size") == "0"
    ]
    # films 1 + archive 1 + shows and episodes 2 + artists, albums and tracks 3
    assert len(counts) == 7
    pages = [
        request
        for request in plex_server.requests
        if request.endpoint == "section_items" and request not in counts
    ]
    assert {request.query.get("X-Plex-Container-Size") for request in pages} <= {
        "1",
        "10",
    }
    assert plex_server.items_served < 50, "no library is read item by item"

    movies = entity_registry.async_get(MOVIES)
    section = plex_server.section("Movies")
    account = mock_config_entry.unique_id
    machine_identifier = plex_server.server.machine_identifier
    assert movies.unique_id == f"{account}_{machine_identifier}_{section.uuid}_library"


# -- Recently added --------------------------------------------------------------


async def test_recently_added_in_the_card_format(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """Newest films and episodes first, episodes by show with SxxEyy, posters without a token."""
    data = card(hass)
    assert data[0] == CARD_DEFAULTS
    items = data[1:]
    expected = newest(plex_server)
    assert [item["airdate"] for item in items] == [
        dt_util.utc_from_timestamp(entry.added_at).strftime("%Y-%m-%dT%H:%M:%SZ")
        for entry in expected
    ]
    assert len(items) == 10
    machine_identifier = plex_server.server.machine_identifier
    for item, entry in zip(items, expected, strict=True):
        assert item["deep_link"] == (
            f"https://app.plex.tv/desktop#!/server/{machine_identifier}"
            f"/details?key=%2Flibrary%2Fmetadata%2F{entry.rating_key}"
        )
        assert item["poster"].startswith(
            f"/api/{DOMAIN}/images/{linked.entry_id}/{machine_identifier}/"
            f"{entry.rating_key}/poster?v="
        )
        assert "authSig=" in item["poster"]
        assert item["flag"] is False
        if entry.type == "episode":
            season = plex_server.library.get(entry.parent)
            show = plex_server.library.get(season.parent)
            assert item["title"] == show.title
            assert item["episode"] == entry.title
            assert item["number"] == f"S{season.index:02d}E{entry.index:02d}"
            assert item["release"] == entry.originally_available_at
        else:
            assert item["title"] == entry.title
            assert item["episode"] == ""
            assert item["number"] == ""
            assert item["release"] == str(entry.year)
            assert item["studio"] == entry.studio
            assert item["genres"] == ", ".join(entry.genres)
            assert item["rating"] == f"★ {entry.audience_rating:.1f}"
        assert item["runtime"] == entry.duration // 60000
        assert item["aired"] == entry.originally_available_at
        assert item["summary"] == entry.summary
    titles = {item["title"] for item in items}
    assert "千と千尋の神隠し" in titles
    assert "Amélie à Montréal" in titles
    assert (
        hass.states.get(RECENT).state
        == dt_util.utc_from_timestamp(expected[0].added_at).isoformat()
    )
    assert_no_secrets(json.dumps(data), plex_tv, plex_server)


async def test_the_card_list_stays_out_of_the_recorder(
    hass: HomeAssistant, linked: MockConfigEntry
) -> None:
    """The data attribute is one the recorder leaves out."""
    entity = hass.data["sensor"].get_entity(RECENT)
    assert "data" in entity._unrecorded_attributes


async def test_a_library_new_post_shows_a_new_film_at_once(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """A `library.new` webhook post alone (no notification) brings the new film in.

    Its title keeps every character but control ones.
    """
    assert linked.runtime_data.webhook.receiving
    films = int(state(hass, MOVIES))
    await plex_server.add_item(
        "Movies", title="A Brand\x07 New Film\x9b 🎬", year=2026, notifications=()
    )
    await wait_for(lambda: card(hass)[1]["title"] == "A Brand New Film 🎬")
    await wait_for(lambda: state(hass, MOVIES) == str(films + 1))
    assert plex_server.deliveries, "the post reached Home Assistant"


async def test_a_post_during_a_slow_poll_is_read_after_it(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A post that comes while a slow poll runs is read once the poll ends.

    The poll read the films before the new one came, and Home Assistant drops
    a read asked for while another runs: the post's must not be lost with it.
    """
    coordinator = coordinator_of(linked, plex_server)
    await plex_server.add_item(
        "Movies", title="A Film Of Yesterday", notifications=(), webhook=False
    )
    get_items = coordinator.client.get_items
    answered, release = asyncio.Event(), asyncio.Event()

    async def slow_once(*args: Any, **kwargs: Any) -> Any:
        """Answer the first read of items, then hold the answer until released."""
        page = await get_items(*args, **kwargs)
        if not answered.is_set():
            answered.set()
            await release.wait()
        return page

    monkeypatch.setattr(coordinator.client, "get_items", slow_once)
    poll = hass.async_create_task(coordinator.async_refresh())
    await wait_for(answered.is_set)
    await plex_server.add_item("Movies", title="A Film Of Today", notifications=())
    assert [delivery.status for delivery in plex_server.deliveries] == [200]
    debouncer = coordinator._debounced_refresh
    # The post asks for a read; its turn comes, and passes, while the poll runs.
    await wait_for(lambda: debouncer._timer_task is not None)
    await wait_for(lambda: debouncer._timer_task is None)
    release.set()
    await poll
    await wait_for(lambda: card(hass)[1]["title"] == "A Film Of Today")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [item["title"] for item in card(hass)[1:3]] == [
        "A Film Of Today",
        "A Film Of Yesterday",
    ]


async def test_a_notification_alone_shows_a_new_episode(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
) -> None:
    """With events off, the server's own notifications bring a new episode in."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_EVENTS: False, CONF_REMOTE_SERVER: False}
    )
    await set_up(hass, mock_config_entry)
    await wait_for(lambda: plex_server.open_websockets == 1)
    assert not mock_config_entry.runtime_data.webhook.receiving
    await plex_server.add_item(
        "TV Shows", title="A Fresh Episode", show="A Show", season=2, webhook=False
    )
    await wait_for(lambda: card(hass)[1]["episode"] == "A Fresh Episode")
    assert card(hass)[1]["title"] == "A Show"
    assert card(hass)[1]["number"] == "S02E03"


async def test_a_change_the_server_names_is_read_even_if_its_mark_stays(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """A notification naming a library reads it again; one naming none reads them all."""
    movies = plex_server.section("Movies").key
    before = len(plex_server.requests)
    async_dispatcher_send(
        hass,
        library_signal(linked, plex_server.server.machine_identifier),
        LibraryChange(frozenset({movies})),
    )
    await wait_for(lambda: "section_items" in library_requests(plex_server, before))
    await hass.async_block_till_done(wait_background_tasks=True)
    read = [
        request.path
        for request in plex_server.requests[before:]
        if request.endpoint == "section_items"
    ]
    assert {path.split("/")[3] for path in read} == {movies}

    before = len(plex_server.requests)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    async_dispatcher_send(
        hass,
        library_signal(linked, plex_server.server.machine_identifier),
        LibraryChange(frozenset()),
    )
    await wait_for(
        lambda: len(
            {
                request.path.split("/")[3]
                for request in plex_server.requests[before:]
                if request.endpoint == "section_items"
            }
        )
        == 3
    )


async def test_an_idle_refresh_reads_only_the_sections(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """Every 30 minutes one request, `/library/sections`, while nothing changes."""
    before = len(plex_server.requests)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=29))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert library_requests(plex_server, before) == []

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=30, seconds=1))
    await wait_for(lambda: library_requests(plex_server, before) == ["sections"])
    await hass.async_block_till_done(wait_background_tasks=True)
    assert library_requests(plex_server, before) == ["sections"]

    # A change the server made without telling anyone: read at the next poll.
    plex_server.library.changed(plex_server.section("Movies"), 1_900_000_000)
    before = len(plex_server.requests)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=61))
    await wait_for(lambda: "section_items" in library_requests(plex_server, before))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert library_requests(plex_server, before) == ["sections"] + ["section_items"] * 2


# -- Servers: shared, gone -------------------------------------------------------


async def test_a_shared_server_shows_only_what_it_shares(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A friend's server, read with its own token, shows only the libraries it shares."""
    shared = StandInServer(name="Friend's Shelf", owned=False)
    plex_tv.demo_account.servers.append(shared)
    friend = PlexMediaServerStandIn(plex_tv, shared, shared_sections={"2"})
    await friend.start()
    try:
        await set_up(hass, mock_config_entry)
        await wait_for(
            lambda: state(hass, "sensor.friend_s_shelf_tv_shows") not in (None,)
        )
        assert state(hass, "sensor.friend_s_shelf_tv_shows") == str(
            len(friend.entries("TV Shows", "show"))
        )
        assert state(hass, "sensor.friend_s_shelf_movies") is None
        assert state(hass, "sensor.friend_s_shelf_music") is None
        data = card(hass, "sensor.friend_s_shelf_recently_added")
        assert data[1:], "the shared library's episodes"
        assert {item["number"] != "" for item in data[1:]} == {True}
        assert all(
            request.headers.get("X-Plex-Token") == shared.access_token
            for request in friend.requests
            if request.endpoint in ("sections", "section_items")
        )
    finally:
        await friend.stop()


async def test_a_server_plex_tv_no_longer_lists_takes_its_entities(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A server that leaves the account's list takes its library entities along."""
    plex_tv.demo_account.servers.remove(plex_server.server)
    await linked.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    for entity_id in (
        MOVIES,
        SHOWS,
        MUSIC,
        RECENT,
        "image.media_shelf_newest_in_movies",
    ):
        assert state(hass, entity_id) is None
        assert entity_registry.async_get(entity_id) is None
    assert linked.runtime_data.libraries == {}


async def test_a_library_the_server_drops_goes_and_a_new_one_comes(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A library deleted on the server loses its entities; a new library gets them."""
    plex_server.add_section("Photos", "photo")
    del plex_server.library.sections[plex_server.section("Music").key]
    await coordinator_of(linked, plex_server).async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entity_registry.async_get(MUSIC) is None
    assert state(hass, "sensor.media_shelf_photos") == "0"
    assert state(hass, MOVIES) not in (None, STATE_UNAVAILABLE)


# -- Faults ----------------------------------------------------------------------

BIG = b'{"MediaContainer": {"Directory": ["' + b"x" * (3 * 1024 * 1024) + b'"]}}'
FAULTS = [
    pytest.param(Fault(delay=3.0, then_answer=True), id="timeout"),
    pytest.param(Fault(drop=True), id="reset"),
    pytest.param(Fault(status=503), id="5xx"),
    pytest.param(
        Fault(
            status=200, body="<html><body>Plex</body></html>", content_type="text/html"
        ),
        id="html",
    ),
    pytest.param(Fault(status=200, body='{"MediaContainer": []}'), id="wrong-shape"),
    pytest.param(Fault(status=200, body=BIG), id="big"),
    pytest.param(
        Fault(status=302, headers={"Location": "http://127.0.0.2:1/elsewhere"}),
        id="redirect",
    ),
]


@pytest.mark.parametrize("endpoint", ["sections", "section_items"])
@pytest.mark.parametrize("fault", FAULTS)
async def test_faults_make_the_libraries_unavailable_until_they_pass(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    endpoint: str,
) -> None:
    """A failing server: entities unavailable, one error line, then back; nothing leaks."""
    films = state(hass, MOVIES)
    if endpoint == "section_items":
        plex_server.library.changed(plex_server.section("Movies"), 1_900_000_000)
    plex_server.inject(endpoint, fault, times=None)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=31))
    await wait_for(lambda: state(hass, MOVIES) == STATE_UNAVAILABLE)
    assert state(hass, RECENT) == STATE_UNAVAILABLE
    assert state(hass, "image.media_shelf_newest_in_movies") == STATE_UNAVAILABLE
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=62))
    await wait_for(lambda: plex_server.count(endpoint) >= 3)
    await hass.async_block_till_done(wait_background_tasks=True)
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and record.name.startswith("custom_components.plex_link")
        and "libraries" in record.getMessage()
    ]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        f"{ERROR_LINE}: Could not read the libraries of Media Shelf: "
    )

    plex_server.clear_faults()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=93))
    await wait_for(lambda: state(hass, MOVIES) == films)
    assert caplog.text.count(RECOVERED_LINE) == 1
    await hass.async_block_till_done(wait_background_tasks=True)
    assert_clean_log(caplog, plex_tv, plex_server)
    states = json.dumps(
        [hass.states.get(entity_id).as_dict() for entity_id in LIBRARY_ENTITIES],
        default=str,
    )
    assert_no_secrets(states, plex_tv, plex_server)


async def test_a_refusing_server_is_logged_once_and_asked_again(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """401: unavailable, one info line, no poll; back when plex.tv lists the server again."""
    films = state(hass, MOVIES)
    plex_server.inject("sections", Fault(status=401), times=None)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=31))
    await wait_for(lambda: state(hass, MOVIES) == STATE_UNAVAILABLE)
    coordinator = coordinator_of(linked, plex_server)
    assert coordinator.refused
    await linked.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert caplog.text.count(REFUSED_LINE) == 1
    assert ERROR_LINE not in caplog.text
    reads, listings = plex_server.count("sections"), plex_tv.count("resources")
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=62))
    await wait_for(lambda: plex_tv.count("resources") > listings)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert plex_server.count("sections") - reads == (
        plex_tv.count("resources") - listings
    ), "asked once per plex.tv listing, no poll of its own"

    plex_server.clear_faults()
    await linked.runtime_data.coordinator.async_refresh()
    await wait_for(lambda: state(hass, MOVIES) == films)
    assert "lets Plex Link read its libraries again" in caplog.text
    assert_clean_log(caplog, plex_tv, plex_server)


async def test_diagnostics_count_the_libraries_and_hold_no_secret(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """Diagnostics give each library's type and counts; no token, no address, no item."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, linked)
    server = diagnostics["libraries"][plex_server.server.machine_identifier]
    assert server["last_update_success"] is True
    assert server["recently_added"] == 10
    assert {
        (library["library"], library["type"], library["items"])
        for library in server["libraries"]
    } == {
        ("Movies", "movie", len(plex_server.entries("Movies", "movie"))),
        ("TV Shows", "show", len(plex_server.entries("TV Shows", "show"))),
        ("Music", "artist", len(plex_server.entries("Music", "artist"))),
    }
    text = json.dumps(diagnostics)
    assert_no_secrets(text, plex_tv, plex_server)
    assert "A Film" not in text


# -- Options and the action -----------------------------------------------------


async def test_the_number_of_recently_added_items_is_an_option(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """The options set how many items the sensor lists; the event options stay."""
    result = await hass.config_entries.options.async_init(linked.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_EVENTS: True, CONF_REMOTE_SERVER: False, CONF_RECENTLY_ADDED: 3},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await wait_for(
        lambda: linked.state is ConfigEntryState.LOADED
        and state(hass, RECENT) not in (None, STATE_UNAVAILABLE)
        and len(card(hass)) == 4
    )
    assert [item["airdate"] for item in card(hass)[1:]] == [
        dt_util.utc_from_timestamp(entry.added_at).strftime("%Y-%m-%dT%H:%M:%SZ")
        for entry in newest(plex_server, 3)
    ]


async def test_without_plex_pass_the_options_hold_only_the_libraries(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
) -> None:
    """An account without Plex Pass sets the number of items, and events stay off."""
    plex_tv.demo_account.plex_pass = False
    await set_up(hass, mock_config_entry)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "libraries"
    assert result["description_placeholders"] == {"account": "Demo Person"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_RECENTLY_ADDED: 50}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {CONF_RECENTLY_ADDED: 50}


async def test_get_recently_added_answers_with_signed_posters(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """The action returns the newest items, reading more only when asked for more."""
    before = len(plex_server.requests)
    response = await hass.services.async_call(
        DOMAIN, "get_recently_added", {}, blocking=True, return_response=True
    )
    assert library_requests(plex_server, before) == []
    items = response["items"]
    expected = newest(plex_server)
    assert [item["rating_key"] for item in items] == [e.rating_key for e in expected]
    assert response["unavailable_servers"] == []
    first = items[0]
    assert first["server"] == "Media Shelf"
    assert first["poster"].startswith(f"/api/{DOMAIN}/images/")
    assert "authSig=" in first["poster"]
    episode = next(item for item in items if item["type"] == "episode")
    assert episode["show"] in ("A Show", "Another Show")
    assert episode["library"] == "TV Shows"
    assert isinstance(episode["season"], int)

    response = await hass.services.async_call(
        DOMAIN,
        "get_recently_added",
        {"server": "Media Shelf", "count": 12},
        blocking=True,
        return_response=True,
    )
    available = newest(plex_server, 100)
    assert [item["rating_key"] for item in response["items"]] == [
        entry.rating_key for entry in available[:12]
    ]
    assert_no_secrets(json.dumps(response), plex_tv, plex_server)

    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "get_recently_added",
            {"server": "Nobody's Shelf"},
            blocking=True,
            return_response=True,
        )
    assert raised.value.translation_key == "unknown_library_server"
