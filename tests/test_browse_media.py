"""Browse and play: the media browser of a Plex Link media player, and play_media.

Through a real Home Assistant and the stand-ins over loopback: the demo
account's server "Media Shelf" serves the stand-in's libraries (Movies, TV
Shows, Music) and players ("Living room TV" takes commands, "Phone" none).
Content ids are browse.py's `plex_link://<server>/<kind>/<key>`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
from http import HTTPStatus
import json
import logging
import time
from typing import Any

from homeassistant.components.media_player import (
    ATTR_MEDIA_CONTENT_ID,
    ATTR_MEDIA_CONTENT_TYPE,
    ATTR_MEDIA_EXTRA,
    DOMAIN as MEDIA_PLAYER_DOMAIN,
    SERVICE_PLAY_MEDIA,
    MediaPlayerEntityFeature,
)
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_SUPPORTED_FEATURES,
    STATE_IDLE,
    STATE_PLAYING,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.plex_link.plexserver import client

from .conftest import assert_clean_log, attribute, state, wait_for
from .standin import Fault, PlexTvStandIn, StandInServer
from .standin.server import PlexMediaServerStandIn

TV = "media_player.living_room_tv"
PHONE = "media_player.phone"
BROWSE_AND_PLAY = (
    MediaPlayerEntityFeature.BROWSE_MEDIA | MediaPlayerEntityFeature.PLAY_MEDIA
)


pytestmark = pytest.mark.usefixtures("fast_servers")


@pytest.fixture
async def linked(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> MockConfigEntry:
    """Set up the demo account; wait until the TV takes commands and the libraries are read."""
    caplog.set_level(logging.DEBUG)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    server = plex_server.server.machine_identifier
    await wait_for(
        lambda: (
            state(hass, TV) == STATE_IDLE
            and attribute(hass, TV, ATTR_SUPPORTED_FEATURES) & BROWSE_AND_PLAY
            and (libraries := mock_config_entry.runtime_data.libraries.get(server))
            is not None
            and libraries.data is not None
        )
    )
    return mock_config_entry


@pytest.fixture
async def ws(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, linked: MockConfigEntry
) -> AsyncIterator[Any]:
    """Return a websocket client of Home Assistant's API, as the frontend holds."""
    return await hass_ws_client(hass)


class Browser:
    """Browses a media player the way the frontend does: over the websocket API."""

    def __init__(self, client: Any, entity_id: str = TV) -> None:
        """Browse entity_id through client."""
        self.client = client
        self.entity_id = entity_id

    async def answer(self, content_id: str | None = None) -> dict[str, Any]:
        """Return the websocket's whole answer for a node (None: the root)."""
        message: dict[str, Any] = {
            "type": "media_player/browse_media",
            "entity_id": self.entity_id,
        }
        if content_id is not None:
            message |= {
                ATTR_MEDIA_CONTENT_TYPE: "directory",
                ATTR_MEDIA_CONTENT_ID: content_id,
            }
        await self.client.send_json_auto_id(message)
        return await self.client.receive_json()  # type: ignore[no-any-return]

    async def open(self, content_id: str | None = None) -> dict[str, Any]:
        """Return a node the browser shows; fail if it is refused."""
        answer = await self.answer(content_id)
        assert answer["success"], answer
        return answer["result"]  # type: ignore[no-any-return]

    async def open_titled(self, node: dict[str, Any], title: str) -> dict[str, Any]:
        """Open the child of a node with a title."""
        return await self.open(child(node, title)["media_content_id"])


def span(first: int, last: int) -> str:
    """Return the title of a range of items, as the browser shows it."""
    return f"{first}\N{EN DASH}{last}"


def titles(node: dict[str, Any]) -> list[str]:
    """Return the titles of a node's children, in order."""
    return [entry["title"] for entry in node["children"]]


def child(node: dict[str, Any], title: str) -> dict[str, Any]:
    """Return a node's child of a title."""
    found = [entry for entry in node["children"] if entry["title"] == title]
    assert len(found) == 1, (title, titles(node))
    return found[0]


async def play(hass: HomeAssistant, media_id: str, **data: Any) -> None:
    """Call play_media on the TV and wait for it."""
    await hass.services.async_call(
        MEDIA_PLAYER_DOMAIN,
        SERVICE_PLAY_MEDIA,
        {
            ATTR_ENTITY_ID: data.pop("entity_id", TV),
            ATTR_MEDIA_CONTENT_TYPE: data.pop("media_type", "movie"),
            ATTR_MEDIA_CONTENT_ID: media_id,
            **data,
        },
        blocking=True,
    )


async def test_the_browser_shows_servers_libraries_recently_added_and_continue_watching(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, ws: Any
) -> None:
    """Root, server, library, recently added and continue watching, as the frontend reads them."""
    browser = Browser(ws)
    root = await browser.open()
    assert titles(root) == ["Media Shelf"]

    server = await browser.open_titled(root, "Media Shelf")
    assert titles(server) == ["Continue watching", "Movies", "TV Shows", "Music"]

    movies = await browser.open_titled(server, "Movies")
    assert movies["title"] == "Movies"
    assert titles(movies) == [
        "Recently added",
        "Amélie à Montréal (2001)",
        "The Big Picture (2019)",
        "A Film (2008)",
        "An Old Film (1954)",
        "千と千尋の神隠し (2001)",
    ]
    film = child(movies, "The Big Picture (2019)")
    assert film["can_play"] is True
    assert film["can_expand"] is False
    assert film["media_class"] == "movie"

    recent = await browser.open_titled(movies, "Recently added")
    assert titles(recent) == [
        "An Old Film (1954)",
        "千と千尋の神隠し (2001)",
        "Amélie à Montréal (2001)",
        "The Big Picture (2019)",
        "A Film (2008)",
    ]
    shows = await browser.open_titled(server, "TV Shows")
    recent_episodes = await browser.open_titled(shows, "Recently added")
    assert titles(recent_episodes) == [
        "Another Show · S01E02 · Ends",
        "A Show · S02E02 · Another Return",
        "A Show · S02E01 · Return",
        "Another Show · S01E01 · Beginnings",
        "A Show · S01E03 · The Third Episode",
        "A Show · S01E02 · The Second Episode",
        "A Show · S01E01 · Pilot",
    ]
    assert {entry["media_class"] for entry in recent_episodes["children"]} == {
        "episode"
    }

    watching = await browser.open_titled(server, "Continue watching")
    assert titles(watching) == [
        "A Show · S01E02 · The Second Episode",
        "The Big Picture (2019)",
    ]
    assert all(
        "/resume/" in entry["media_content_id"] for entry in watching["children"]
    )


async def test_shows_open_to_seasons_and_episodes_and_artists_to_albums_and_tracks(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, ws: Any
) -> None:
    """What an item holds is read with the item: seasons, episodes, albums, tracks."""
    browser = Browser(ws)
    server = await browser.open(f"plex_link://{plex_server.server.machine_identifier}")

    shows = await browser.open_titled(server, "TV Shows")
    show = await browser.open_titled(shows, "A Show")
    assert show["title"] == "A Show"
    assert show["media_class"] == "tv_show"
    assert titles(show) == ["Season 1", "Season 2"]
    season = await browser.open_titled(show, "Season 1")
    assert titles(season) == [
        "1. Pilot",
        "2. The Second Episode",
        "3. The Third Episode",
    ]
    assert all(entry["can_play"] for entry in season["children"])
    assert season["children_media_class"] == "episode"

    music = await browser.open_titled(server, "Music")
    assert titles(music) == ["Recently added", "An Artist", "Ünïcödé Ärtist"]
    artist = await browser.open_titled(music, "An Artist")
    album = await browser.open_titled(artist, "An Album")
    assert titles(album) == ["1. A Song", "2. Another Song", "3. A Third Song"]
    recent_music = await browser.open_titled(music, "Recently added")
    assert titles(recent_music) == ["Ünïcödé Ärtist · Sønger", "An Artist · An Album"]


async def test_a_library_of_100000_items_is_browsed_one_page_at_a_time(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, ws: Any
) -> None:
    """Ranges lead to any item in three steps; no step reads more than one page of 50."""
    plex_server.add_section("Archive", "movie", count=100_000)
    browser = Browser(ws)
    server = await browser.open(f"plex_link://{plex_server.server.machine_identifier}")

    served = plex_server.items_served
    archive = await browser.open_titled(server, "Archive")
    assert titles(archive) == [
        "Recently added",
        span(1, 20000),
        span(20001, 40000),
        span(40001, 60000),
        span(60001, 80000),
        span(80001, 100000),
    ]
    assert plex_server.items_served - served <= 50

    served = plex_server.items_served
    reads = plex_server.count("section_items")
    block = await browser.open_titled(archive, span(20001, 40000))
    assert titles(block)[:2] == [span(20001, 21000), span(21001, 22000)]
    assert len(titles(block)) == 20
    thousand = await browser.open_titled(block, span(21001, 22000))
    assert titles(thousand)[:2] == [span(21001, 21050), span(21051, 21100)]
    assert len(titles(thousand)) == 20
    assert plex_server.count("section_items") == reads
    assert plex_server.items_served == served

    moment = time.monotonic()
    page = await browser.open_titled(thousand, span(21051, 21100))
    assert len(page["children"]) == 50
    assert page["children"][0]["title"].startswith("Archive movie 0021051")
    assert page["children"][-1]["title"].startswith("Archive movie 0021100")
    assert plex_server.items_served - served == 50
    [read] = [
        request
        for request in plex_server.requests_since(moment)
        if request.endpoint == "section_items"
    ]
    assert read.query["X-Plex-Container-Start"] == "21050"
    assert read.query["X-Plex-Container-Size"] == "50"

    served = plex_server.items_served
    recent = await browser.open_titled(archive, "Recently added")
    assert len(recent["children"]) == 50
    assert plex_server.items_served - served == 50


async def test_an_item_chosen_in_the_browser_plays_on_the_player_through_the_server(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, ws: Any
) -> None:
    """A play queue on the server, then playMedia to the TV: the right item, queue and offset."""
    tv = plex_server.player_named("Living room TV")
    mid = plex_server.server.machine_identifier
    token = plex_server.server.access_token
    browser = Browser(ws)
    server = await browser.open(f"plex_link://{mid}")
    movies = await browser.open_titled(server, "Movies")
    film = child(movies, "The Big Picture (2019)")
    rating_key = plex_server.entry("The Big Picture").rating_key

    await play(hass, film["media_content_id"], media_type=film["media_content_type"])
    [command] = plex_server.plays()
    assert command.target == tv.machine_identifier
    assert command.status == HTTPStatus.OK
    assert command.headers["X-Plex-Token"] == token
    query = command.query
    assert token not in json.dumps(query)
    assert query["key"] == f"/library/metadata/{rating_key}"
    assert query["offset"] == "0"
    assert query["machineIdentifier"] == mid
    assert query["type"] == "video"
    queue_id = query["containerKey"].removeprefix("/playQueues/")
    queue_id, _, options = queue_id.partition("?")
    assert options == "window=100&own=1"
    queue = plex_server.play_queues[queue_id]
    assert [key for _, key in queue.items] == [rating_key]
    assert queue.type == "video"
    await wait_for(
        lambda: state(hass, TV) == STATE_PLAYING
        and attribute(hass, TV, "media_title") == "The Big Picture"
    )

    watching = await browser.open_titled(server, "Continue watching")
    resumed = child(watching, "The Big Picture (2019)")
    await play(hass, resumed["media_content_id"])
    assert plex_server.plays()[-1].query["offset"] == "1800000"
    await play(
        hass, resumed["media_content_id"], **{ATTR_MEDIA_EXTRA: {"resume": False}}
    )
    assert plex_server.plays()[-1].query["offset"] == "0"
    await play(hass, film["media_content_id"], **{ATTR_MEDIA_EXTRA: {"resume": True}})
    assert plex_server.plays()[-1].query["offset"] == "1800000"

    music = await browser.open_titled(server, "Music")
    album = await browser.open_titled(
        await browser.open_titled(music, "An Artist"), "An Album"
    )
    await play(hass, child(album, "2. Another Song")["media_content_id"])
    query = plex_server.plays()[-1].query
    assert query["type"] == "music"
    assert (
        query["key"]
        == f"/library/metadata/{plex_server.entry('Another Song').rating_key}"
    )
    assert (
        plex_server.play_queues[
            query["containerKey"].removeprefix("/playQueues/").partition("?")[0]
        ].type
        == "audio"
    )
    await wait_for(lambda: attribute(hass, TV, "media_title") == "Another Song")


@pytest.mark.parametrize(
    ("request_json", "title", "offset"),
    [
        ({"library": "movies", "title": "amélie à montréal"}, "Amélie à Montréal", "0"),
        ({"library": "Movies", "title": "千と千尋の神隠し"}, "千と千尋の神隠し", "0"),
        (
            {"library": "Movies", "title": "The Big Picture", "resume": True},
            "The Big Picture",
            "1800000",
        ),
        (
            {"library": "TV Shows", "show": "a show", "season": 1, "episode": 2},
            "The Second Episode",
            "0",
        ),
        (
            {
                "server": "Media Shelf",
                "library": "TV Shows",
                "show": "A Show",
                "season": 1,
                "episode": 2,
                "resume": True,
            },
            "The Second Episode",
            "600000",
        ),
        (
            {"library": "TV Shows", "show": "A Show", "season": 2, "episode": 1},
            "Return",
            "0",
        ),
        (
            {
                "library": "Music",
                "artist": "An Artist",
                "album": "An Album",
                "track": 3,
            },
            "A Third Song",
            "0",
        ),
        (
            {
                "library": "Music",
                "artist": "ünïcödé ärtist",
                "album": "Sønger",
                "track": "ä tune",
            },
            "Ä Tune",
            "0",
        ),
    ],
)
async def test_the_json_form_finds_films_episodes_and_tracks(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    request_json: dict[str, Any],
    title: str,
    offset: str,
) -> None:
    """Titles match whatever their case and Unicode form; resume starts where it was left."""
    await play(hass, json.dumps(request_json, ensure_ascii=False))
    [command] = plex_server.plays()
    assert (
        command.query["key"]
        == f"/library/metadata/{plex_server.entry(title).rating_key}"
    )
    assert command.query["offset"] == offset
    await wait_for(lambda: attribute(hass, TV, "media_title") == title)
    searches = [
        request.query.get("title")
        for request in plex_server.requests
        if request.endpoint == "section_items"
    ]
    wanted = (
        request_json.get("title")
        or request_json.get("show")
        or request_json.get("artist")
    )
    assert wanted in searches


async def test_a_year_tells_films_of_one_title_apart(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Two films called A Film: without a year the action says so, with one it plays."""
    remake = await plex_server.add_item(
        "Movies", title="A Film", year=2024, notifications=(), webhook=False
    )
    with pytest.raises(ServiceValidationError) as raised:
        await play(hass, json.dumps({"library": "Movies", "title": "A Film"}))
    assert raised.value.translation_key == "media_ambiguous"
    assert not plex_server.plays()

    await play(hass, json.dumps({"library": "Movies", "title": "A Film", "year": 2024}))
    assert (
        plex_server.plays()[-1].query["key"] == f"/library/metadata/{remake.rating_key}"
    )


@pytest.mark.parametrize(
    ("request_json", "key", "message"),
    [
        (
            {"library": "Movies", "title": "No Such Film"},
            "media_not_found",
            "Nothing in Movies on Media Shelf matches No Such Film.",
        ),
        (
            {"library": "Movies", "title": "A Film", "year": 1999},
            "media_not_found",
            "Nothing in Movies on Media Shelf matches A Film (1999).",
        ),
        (
            {"library": "Films", "title": "A Film"},
            "library_not_found",
            "Media Shelf has no library named Films.",
        ),
        (
            {"library": "TV Shows", "show": "A Show", "season": 3, "episode": 1},
            "media_not_found",
            "Nothing in TV Shows on Media Shelf matches A Show S03E01.",
        ),
        (
            {"library": "TV Shows", "show": "A Show", "season": 1, "episode": 9},
            "media_not_found",
            "Nothing in TV Shows on Media Shelf matches A Show S01E09.",
        ),
        (
            {"library": "TV Shows", "title": "A Show"},
            "media_not_playable",
            "A Show does not play by itself: choose a film, an episode, a track or a photo.",
        ),
        (
            {"server": "Elsewhere", "library": "Movies", "title": "A Film"},
            "media_server_unknown",
            "The linked Plex account cannot read a server named Elsewhere.",
        ),
    ],
)
async def test_nothing_matching_is_a_translated_error(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    request_json: dict[str, Any],
    key: str,
    message: str,
) -> None:
    """A description that names nothing (or nothing playable) is refused, translated, with nothing sent."""
    with pytest.raises(ServiceValidationError) as raised:
        await play(hass, json.dumps(request_json))
    assert raised.value.translation_key == key
    assert str(raised.value) == message.removesuffix(".")
    assert not plex_server.plays()
    assert not plex_server.play_queues
    assert state(hass, TV) == STATE_IDLE
    assert_clean_log(caplog, plex_tv)


def garbage_ids(mid: str) -> list[str]:
    """Return ids that name nothing: malformed, smuggling paths, queries or other hosts."""
    return [
        f"plex_link://{mid}/item/../101",
        f"plex_link://{mid}/item/101/50-0",
        f"plex_link://{mid}/item/101/0-50/1",
        f"plex_link://{mid}/movies/101",
        f"plex_link://{mid}/ondeck/101",
        f"plex_link://{mid}/library",
        f"plex_link://{mid}/item/\uff11\uff10\uff11",
        f"plex_link://{mid}/item/101 ",
        f"plex_link://{mid}/item/101?X-Plex-Token=x",
        f"plex_link://{mid}/item/101%2F102",
        f"plex_link://{mid}/library/1/007-50",
        f"plex_link://{mid}/" + "1" * 300,
        f"plex_link://{mid}/item/{'1' * 33}",
        "plex_link:/" + mid,
        "http://127.0.0.1/library/metadata/101",
        "/library/metadata/101",
        "media-source://media_source/local/film.mkv",
    ]


def garbage_descriptions() -> list[str]:
    """Return JSON forms that describe nothing Plex Link can look for."""
    return [
        "{",
        "{}",
        '{"library": "Movies"}',
        '{"title": "A Film"}',
        '{"library": "Movies", "title": "A Film", "token": "x"}',
        '{"library": "Movies", "title": 5}',
        '{"library": "Movies", "title": "   "}',
        '{"library": "Movies", "title": "A Film", "resume": "yes"}',
        '{"library": "TV Shows", "show": "A Show", "season": true, "episode": 1}',
        '{"library": "TV Shows", "show": "A Show", "season": 1}',
        '{"library": "TV Shows", "show": "A Show", "season": -1, "episode": 1}',
        '{"library": "Movies", "title": "A Film", "show": "A Show", "season": 1, "episode": 1}',
        '{"library": "Movies", "title": "' + "x" * 5000 + '"}',
        '{"library": ' + "[" * 2000 + "]" * 2000 + "}",
    ]


async def test_garbage_ids_are_refused_before_any_request(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    ws: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Malformed ids and descriptions: a translated error from browse and play, nothing asked of the server."""
    mid = plex_server.server.machine_identifier
    browser = Browser(ws)
    reads = plex_server.library_reads
    for media_id in garbage_ids(mid):
        answer = await browser.answer(media_id)
        assert not answer["success"], media_id
        assert answer["error"]["message"].startswith(
            "This is not media Plex Link can browse or play"
        ), media_id
    for media_id in [
        *garbage_ids(mid),
        *garbage_descriptions(),
        "plex_link://",
        f"plex_link://{mid}",
        f"plex_link://{mid}/ondeck",
        f"plex_link://{mid}/library/1",
        f"plex_link://{mid}/item/101/0-50",
    ]:
        with pytest.raises(ServiceValidationError) as raised:
            await play(hass, media_id)
        assert raised.value.translation_key == "invalid_media_id", media_id
    assert plex_server.library_reads == reads
    assert not plex_server.plays()

    unknown = f"plex_link://{'0' * 40}/item/101"
    with pytest.raises(ServiceValidationError) as raised:
        await play(hass, unknown)
    assert raised.value.translation_key == "media_server_unknown"
    answer = await browser.answer(unknown)
    assert answer["error"]["message"] == (
        f"The linked Plex account cannot read a server named {'0' * 40}"
    )
    assert plex_server.library_reads == reads
    assert_clean_log(caplog, plex_tv)


async def test_a_refusing_or_silent_player_is_a_translated_error(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The player refuses playMedia, never answers it, or the server makes no queue: each fails, translated."""
    tv = plex_server.player_named("Living room TV")
    film = json.dumps({"library": "Movies", "title": "A Film"})

    plex_server.inject("player_command", Fault(status=500))
    with pytest.raises(HomeAssistantError) as raised:
        await play(hass, film)
    assert not isinstance(raised.value, ServiceValidationError)
    assert raised.value.translation_key == "player_command_failed"
    assert str(raised.value).startswith("Living room TV did not carry out the command")
    assert state(hass, TV) == STATE_IDLE

    tv.silent = True
    with monkeypatch.context() as patch:
        patch.setattr(client, "COMMAND_TIMEOUT", 0.3)
        with pytest.raises(HomeAssistantError) as raised:
            await play(hass, film)
    assert raised.value.translation_key == "player_command_failed"
    assert state(hass, TV) == STATE_IDLE
    tv.silent = False

    plays = len(plex_server.plays())
    plex_server.inject("play_queues", Fault(status=503))
    with pytest.raises(HomeAssistantError) as raised:
        await play(hass, film)
    assert raised.value.translation_key == "play_queue_failed"
    assert str(raised.value).startswith("Media Shelf did not make a play queue")
    assert len(plex_server.plays()) == plays

    plex_server.inject("section_items", Fault(status=500))
    with pytest.raises(HomeAssistantError) as raised:
        await play(hass, film)
    assert not isinstance(raised.value, ServiceValidationError)
    assert raised.value.translation_key == "library_unavailable"
    assert len(plex_server.plays()) == plays

    await play(hass, film)
    await wait_for(lambda: attribute(hass, TV, "media_title") == "A Film")


async def test_a_failing_server_is_a_translated_browse_error(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, ws: Any
) -> None:
    """5xx, HTML and a removed item answer the browser with a translated message, then it works again."""
    mid = plex_server.server.machine_identifier
    browser = Browser(ws)
    plex_server.inject("sections", Fault(status=500))
    answer = await browser.answer(f"plex_link://{mid}")
    assert answer["error"]["message"].startswith(
        "Could not read the libraries of Media Shelf:"
    )
    plex_server.inject(
        "children",
        Fault(status=200, body="<html>Hello</html>", content_type="text/html"),
    )
    show = plex_server.entry("A Show").rating_key
    answer = await browser.answer(f"plex_link://{mid}/item/{show}")
    assert answer["error"]["message"].startswith(
        "Could not read the libraries of Media Shelf:"
    )
    answer = await browser.answer(f"plex_link://{mid}/item/999999")
    assert answer["error"]["message"] == "Media Shelf no longer has this item"
    answer = await browser.answer(f"plex_link://{mid}/library/77")
    assert answer["error"]["message"] == "Media Shelf has no library named 77"
    assert titles(await browser.open(f"plex_link://{mid}/item/{show}")) == [
        "Season 1",
        "Season 2",
    ]


async def test_thumbnails_load_through_home_assistant_without_a_plex_token(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    ws: Any,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Posters are media player proxy URLs: no Plex token, no server address; the token goes in a header."""
    assert await async_setup_component(hass, "http", {})
    browser = Browser(ws)
    server = await browser.open(f"plex_link://{plex_server.server.machine_identifier}")
    shows = await browser.open_titled(server, "TV Shows")
    watching = await browser.open_titled(server, "Continue watching")
    movies = await browser.open_titled(server, "Movies")
    text = json.dumps([server, shows, watching, movies])
    for secret in [*plex_tv.issued_tokens, plex_server.server.access_token]:
        assert secret not in text
        assert secret[:8] not in text
    assert plex_server.base_url.removeprefix("http://") not in text
    thumbnails = [
        entry["thumbnail"] for node in (shows, movies) for entry in node["children"][1:]
    ]
    assert len(thumbnails) == 7
    for thumbnail in thumbnails:
        assert thumbnail.startswith(f"/api/media_player_proxy/{TV}/browse_media/")

    client = await hass_client_no_auth()
    before = plex_server.count("photo_transcode")
    for thumbnail in thumbnails:
        response = await client.get(thumbnail)
        assert response.status == HTTPStatus.OK
        assert response.content_type == "image/jpeg"
        assert (await response.read())[:2] == b"\xff\xd8"
    fetched = [r for r in plex_server.requests if r.endpoint == "photo_transcode"]
    assert len(fetched) == before + 7
    token = plex_server.server.access_token
    for request in fetched:
        assert request.headers["X-Plex-Token"] == token
        assert token not in request.path
        assert token not in json.dumps(request.query)
        assert int(request.query["width"]) <= 400
    assert fetched[-1].query["url"].startswith("/library/metadata/")

    first = thumbnails[0]
    for image_id in ("http://127.0.0.2/x.jpg", "/status/sessions", "/library/../x"):
        forged = first.split("&media_image_id=")[0] + "&media_image_id=" + image_id
        response = await client.get(forged)
        assert response.status in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND)
    response = await client.get(first.replace("token=", "token=x"))
    assert response.status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)
    assert plex_server.count("photo_transcode") == before + 7


async def test_a_player_that_takes_no_commands_offers_neither_browsing_nor_playing(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, ws: Any
) -> None:
    """The phone lists no browse or play feature; the frontend's browse and play_media are refused."""
    assert not attribute(hass, PHONE, ATTR_SUPPORTED_FEATURES) & (
        MediaPlayerEntityFeature.BROWSE_MEDIA | MediaPlayerEntityFeature.PLAY_MEDIA
    )
    assert attribute(hass, TV, ATTR_SUPPORTED_FEATURES) & BROWSE_AND_PLAY == (
        BROWSE_AND_PLAY
    )
    answer = await Browser(ws, PHONE).answer()
    assert answer["error"]["code"] == "not_supported"
    with pytest.raises(HomeAssistantError):
        await play(
            hass,
            json.dumps({"library": "Movies", "title": "A Film"}),
            entity_id=PHONE,
        )
    assert not plex_server.plays()
    assert not plex_server.play_queues


async def test_a_shared_servers_libraries_are_browsed_and_played_from(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A friend's server lists only what it shares; its film is queued there and played through the TV's server."""
    shared = StandInServer(name="Friend's Shelf", owned=False)
    plex_tv.demo_account.servers.append(shared)
    friend = PlexMediaServerStandIn(plex_tv, shared, shared_sections={"1"})
    await friend.start()
    try:
        mock_config_entry.add_to_hass(hass)
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await wait_for(
            lambda: state(hass, TV) == STATE_IDLE
            and attribute(hass, TV, ATTR_SUPPORTED_FEATURES) & BROWSE_AND_PLAY
            and shared.machine_identifier in mock_config_entry.runtime_data.libraries
        )
        browser = Browser(await hass_ws_client(hass))
        root = await browser.open()
        assert titles(root) == ["Media Shelf", "Friend's Shelf"]
        theirs = await browser.open_titled(root, "Friend's Shelf")
        assert titles(theirs) == ["Continue watching", "Movies"]
        films = await browser.open_titled(theirs, "Movies")
        assert "A Film (2008)" in titles(films)

        with contextlib.suppress(HomeAssistantError):
            # The server stand-in plays only its own items.
            await play(
                hass,
                json.dumps(
                    {"server": "friend's shelf", "library": "Movies", "title": "A Film"}
                ),
            )
        [queue] = friend.play_queues.values()
        rating_key = friend.entry("A Film").rating_key
        assert [key for _, key in queue.items] == [rating_key]
        [command] = plex_server.plays()
        assert command.query["machineIdentifier"] == shared.machine_identifier
        assert command.query["key"] == f"/library/metadata/{rating_key}"
        assert (
            command.query["containerKey"] == f"/playQueues/{queue.id}?window=100&own=1"
        )
        assert shared.access_token not in json.dumps(command.query)
        assert not friend.plays()
    finally:
        await friend.stop()


async def test_a_long_season_is_paged_and_its_episodes_found_past_the_first_page(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, ws: Any
) -> None:
    """A season of 60 episodes opens to two ranges; the JSON form finds episode 55 on the second page."""
    for number in range(1, 61):
        await plex_server.add_item(
            "TV Shows",
            title=f"Daily {number}",
            show="A Daily Show",
            episode=number,
            notifications=(),
            webhook=False,
        )
    show = plex_server.entry("A Daily Show", "show")
    [season] = [
        entry
        for entry in plex_server.entries("TV Shows", "season")
        if entry.parent == show.rating_key
    ]
    mid = plex_server.server.machine_identifier
    browser = Browser(ws)
    node = await browser.open(f"plex_link://{mid}/item/{season.rating_key}")
    assert titles(node) == [span(1, 50), span(51, 60)]
    rest = await browser.open_titled(node, span(51, 60))
    assert titles(rest) == [f"{number}. Daily {number}" for number in range(51, 61)]

    await play(
        hass,
        json.dumps(
            {"library": "TV Shows", "show": "A Daily Show", "season": 1, "episode": 55}
        ),
    )
    assert plex_server.plays()[-1].query["key"] == (
        f"/library/metadata/{plex_server.entry('Daily 55').rating_key}"
    )
