"""Libraries, play queues and library notifications: the Plex Media Server client against the stand-in.

Every request goes over loopback to the real server stand-in (tests/standin/server.py
with tests/standin/library.py): `/library/sections`, paged `/all` with `totalSize`,
`/library/onDeck`, `/library/metadata/<rk>` and its children, `POST /playQueues` and
`/player/playback/playMedia`; each call also meets the stand-in's fault injection.
The notification listener reads the stand-in's websocket while items are added.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, date, datetime
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web
from hypothesis import given, strategies as st
import pytest

from custom_components.plex_link.plexserver import (
    ITEM_TYPES,
    LibraryItem,
    NotificationListener,
    PlayingNotification,
    PlexServerAuthenticationError,
    PlexServerClient,
    PlexServerCommandError,
    PlexServerConnectionError,
    PlexServerError,
    PlexServerResponseError,
    PlexServerServerError,
)
from custom_components.plex_link.plexserver.notifications import (
    MAX_SECTIONS,
    LibraryChange,
    library_change,
    playing_notifications,
)

from .conftest import wait_for
from .standin import Fault, PlexTvStandIn, StandInAccount, StandInServer
from .standin.server import PlexMediaServerStandIn

IDENTITY_HEADERS = {
    "X-Plex-Client-Identifier": "library-test",
    "X-Plex-Product": "Plex Link tests",
}
HTML = "<html><body>Sign in to the hotel Wi-Fi</body></html>"
FIFTY_MB = b"{" + b" " * (50 * 1024 * 1024) + b"}"
# "Unicode" in mathematical Fraktur letters: a title of characters outside the BMP.
FRAKTUR = "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522"
SHORT = 0.5  # seconds: the request timeout of the tests that wait for one
WAIT = 10  # seconds: the deadline of every wait below


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """Return an aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


def make_client(
    http: aiohttp.ClientSession,
    plex_server: PlexMediaServerStandIn,
    *urls: str,
    request_timeout: float = 10.0,
    token: str | None = None,
) -> PlexServerClient:
    """Return a client for the stand-in's server (or the connections given, best first)."""
    return PlexServerClient(
        http,
        identity_headers=IDENTITY_HEADERS,
        access_token=token or plex_server.server.access_token,
        connections=list(urls) or [plex_server.base_url],
        request_timeout=request_timeout,
        connect_timeout=min(request_timeout, 2.0),
    )


def player_id(plex_server: PlexMediaServerStandIn, name: str) -> str:
    """Return the machine identifier of the stand-in's player called name."""
    return plex_server.player_named(name).machine_identifier


def assert_clean(error: BaseException, plex_server: PlexMediaServerStandIn) -> None:
    """The message names neither the token nor an address."""
    assert plex_server.server.access_token not in str(error)
    assert "127.0.0.1" not in str(error)


def assert_token_in_the_header_only(
    plex_server: PlexMediaServerStandIn, *endpoints: str
) -> None:
    """Every request to the endpoints carried the server's token as a header, never in its URL."""
    requests = [r for r in plex_server.requests if r.endpoint in endpoints]
    assert requests
    for request in requests:
        assert request.headers["X-Plex-Token"] == plex_server.server.access_token
        assert not any("token" in key.lower() for key in request.query)
        assert plex_server.server.access_token not in str(request.query)


def titles(items: list[LibraryItem]) -> list[str | None]:
    """Return the titles of items, in order."""
    return [item.title for item in items]


# -- Sections and counts -------------------------------------------------------------


async def test_sections_are_listed_with_their_change_mark(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """The three libraries come with key, title, type and uuid; adding a film moves changed_at."""
    client = make_client(http, plex_server)
    sections = await client.get_sections()
    assert [(s.key, s.title, s.section_type) for s in sections] == [
        ("1", "Movies", "movie"),
        ("2", "TV Shows", "show"),
        ("3", "Music", "artist"),
    ]
    assert all(s.uuid and len(s.uuid) == 36 for s in sections)
    assert len({s.uuid for s in sections}) == 3
    before = {s.key: s.changed_at for s in sections}
    assert all(isinstance(mark, int) for mark in before.values())
    assert await client.get_sections() == sections  # nothing changed: the same marks
    await plex_server.add_item("Movies", title="A Brand New Film", webhook=False)
    after = {s.key: s.changed_at for s in await client.get_sections()}
    assert after["1"] != before["1"]
    assert (after["2"], after["3"]) == (before["2"], before["3"])
    assert_token_in_the_header_only(plex_server, "sections")


async def test_counts_take_one_request_and_no_items(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A library of 100,000 films is counted from totalSize: one request, no item sent."""
    plex_server.add_section("Archive", "movie", count=100_000)
    plex_server.add_section("Every Show", "show", count=2_000)
    stored = len(plex_server.library.entries)
    client = make_client(http, plex_server)
    assert await client.count_items("4", ITEM_TYPES["movie"]) == 100_000
    assert plex_server.count("section_items") == 1
    request = plex_server.requests[-1]
    assert request.query["X-Plex-Container-Size"] == "0"
    assert request.query["type"] == "1"
    assert plex_server.items_served == 0
    assert len(plex_server.library.entries) == stored  # nothing made to count them
    assert await client.count_items("5", ITEM_TYPES["show"]) == 2_000
    assert await client.count_items("5", ITEM_TYPES["episode"]) == 20_000
    assert await client.count_items("1", ITEM_TYPES["movie"]) == 5
    assert await client.count_items("2", ITEM_TYPES["show"]) == 2
    assert await client.count_items("2", ITEM_TYPES["episode"]) == 7
    assert await client.count_items("3", ITEM_TYPES["album"]) == 2
    assert await client.count_items("3", ITEM_TYPES["track"]) == 4
    assert await client.count_items("1", ITEM_TYPES["episode"]) == 0
    assert plex_server.count("section_items") == 9
    assert plex_server.items_served == 0
    assert_token_in_the_header_only(plex_server, "section_items")


async def test_counts_follow_new_items(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """An episode of a new show adds a show, a season and an episode to the counts."""
    client = make_client(http, plex_server)
    await plex_server.add_item(
        "TV Shows", title="Opening", show="A New Show", season=3, webhook=False
    )
    assert await client.count_items("2", ITEM_TYPES["show"]) == 3
    assert await client.count_items("2", ITEM_TYPES["season"]) == 4
    assert await client.count_items("2", ITEM_TYPES["episode"]) == 8


# -- Items, pages and order ------------------------------------------------------------


async def test_items_are_paged_and_sorted(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Pages say where they stand among all items; titleSort by default, newest first on demand."""
    client = make_client(http, plex_server)
    page = await client.get_items("1")
    assert (page.offset, page.total) == (0, 5)
    assert titles(page.items) == [
        "Amélie à Montréal",
        "The Big Picture",  # sorted as "Big Picture"
        "A Film",  # as "Film"
        "An Old Film",  # as "Old Film"
        "千と千尋の神隠し",
    ]
    newest = await client.get_items("1", sort="addedAt:desc", start=1, size=2)
    assert (newest.offset, newest.total) == (1, 5)
    assert titles(newest.items) == ["千と千尋の神隠し", "Amélie à Montréal"]
    added = [
        item.added_at.timestamp() if item.added_at else None
        for item in (await client.get_items("1", sort="addedAt:desc")).items
    ]
    assert None not in added
    assert added == sorted(added, key=lambda moment: moment or 0, reverse=True)
    assert plex_server.requests[-1].query["sort"] == "addedAt:desc"
    beyond = await client.get_items("1", start=10, size=5)
    assert (beyond.items, beyond.total) == ([], 5)


async def test_items_by_title(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """The server's title filter: titles that contain the text, whatever the case."""
    client = make_client(http, plex_server)
    found = await client.get_items("1", title="FILM")
    assert titles(found.items) == ["A Film", "An Old Film"]
    assert plex_server.requests[-1].query["title"] == "FILM"
    assert (await client.get_items("1", title="nothing like it")).items == []


async def test_film_fields(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A film carries what a recently added card shows, its artwork as server paths."""
    client = make_client(http, plex_server)
    page = await client.get_items("1", sort="addedAt:desc", size=50)
    film = next(item for item in page.items if item.title == "The Big Picture")
    entry = plex_server.entry("The Big Picture")
    assert film.media_type == "movie"
    assert film.rating_key == entry.rating_key
    assert film.key == f"/library/metadata/{entry.rating_key}"
    assert film.year == 2019
    assert film.studio == "Loopback Studios"
    assert film.content_rating == "R"
    assert film.rating == 9.0  # the audience's rating first
    assert film.summary == "The Big Picture: a film of the stand-in's library."
    assert film.genres == ("Thriller", "Drama")
    assert film.duration_ms == 7_260_000
    assert film.view_offset_ms == 1_800_000
    assert film.originally_available_at == date(2019, 2, 11)
    assert film.added_at == datetime.fromtimestamp(entry.added_at, UTC)
    assert (
        film.thumb == f"/library/metadata/{entry.rating_key}/thumb/{entry.updated_at}"
    )
    assert film.art == f"/library/metadata/{entry.rating_key}/art/{entry.updated_at}"
    assert (film.poster, film.fanart) == (film.thumb, film.art)
    assert film.library_section_id == "1"
    assert film.library_section_title == "Movies"
    assert film.playable


async def test_episodes_are_named_by_their_show(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Episodes newest first, with show, season and episode numbers and the show's poster."""
    client = make_client(http, plex_server)
    page = await client.get_items(
        "2", item_type=ITEM_TYPES["episode"], sort="addedAt:desc", size=3
    )
    assert page.total == 7
    assert [
        (e.grandparent_title, e.parent_index, e.index, e.title) for e in page.items
    ] == [
        ("Another Show", 1, 2, "Ends"),
        ("A Show", 2, 2, "Another Return"),
        ("A Show", 2, 1, "Return"),
    ]
    show = plex_server.entry("Another Show", "show")
    ends = page.items[0]
    assert ends.grandparent_thumb is not None
    assert ends.grandparent_thumb.startswith(
        f"/library/metadata/{show.rating_key}/thumb/"
    )
    assert ends.poster == ends.grandparent_thumb
    assert ends.fanart == ends.art
    assert ends.art is not None
    assert ends.art.startswith(f"/library/metadata/{show.rating_key}/art/")
    assert ends.playable


async def test_a_huge_library_is_paged_on_demand(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Any page of 100,000 films comes at once, newest first when asked, none kept in memory."""
    plex_server.add_section("Archive", "movie", count=100_000)
    stored = len(plex_server.library.entries)
    client = make_client(http, plex_server)
    last = await client.get_items("4", start=99_990, size=50)
    assert (last.offset, last.total, len(last.items)) == (99_990, 100_000, 10)
    assert last.items[-1].title == "Archive movie 0100000"
    newest = await client.get_items("4", sort="addedAt:desc", size=2)
    assert titles(newest.items) == ["Archive movie 0100000", "Archive movie 0099999"]
    assert newest.items[0].added_at is not None
    assert newest.items[1].added_at is not None
    assert newest.items[0].added_at > newest.items[1].added_at
    assert plex_server.items_served == 12
    assert len(plex_server.library.entries) == stored
    # The newest real film comes before the archive's.
    await plex_server.add_item("Archive", title="Just Scanned", webhook=False)
    first = await client.get_items("4", sort="addedAt:desc", size=2)
    assert titles(first.items) == ["Just Scanned", "Archive movie 0100000"]
    assert first.total == 100_001
    item = await client.get_item(last.items[0].rating_key)
    assert item.title == "Archive movie 0099991"


async def test_on_deck(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """On deck: what is in progress, last watched first, with where it stopped."""
    client = make_client(http, plex_server)
    deck = await client.get_on_deck()
    assert [(i.title, i.view_offset_ms) for i in deck.items] == [
        ("The Second Episode", 600_000),
        ("The Big Picture", 1_800_000),
    ]
    assert deck.items[0].grandparent_title == "A Show"
    film = plex_server.entry("A Film")
    plex_server.set_progress(film.rating_key, 120_000)
    plex_server.set_progress(plex_server.entry("The Big Picture").rating_key, None)
    deck = await client.get_on_deck(size=1)
    assert [(i.title, i.view_offset_ms) for i in deck.items] == [("A Film", 120_000)]
    assert deck.total == 2
    assert_token_in_the_header_only(plex_server, "on_deck")


async def test_items_and_their_children(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A show holds seasons, a season episodes, an artist albums, an album tracks."""
    client = make_client(http, plex_server)
    show_entry = plex_server.entry("A Show", "show")
    show = await client.get_item(show_entry.rating_key)
    assert (show.media_type, show.title, show.leaf_count, show.child_count) == (
        "show",
        "A Show",
        5,
        2,
    )
    assert show.key == f"/library/metadata/{show_entry.rating_key}/children"
    assert not show.playable
    seasons = await client.get_children(show.rating_key)
    assert [(s.title, s.index, s.leaf_count) for s in seasons.items] == [
        ("Season 1", 1, 3),
        ("Season 2", 2, 2),
    ]
    assert seasons.items[0].poster == seasons.items[0].thumb
    episodes = await client.get_children(seasons.items[0].rating_key, start=1, size=5)
    assert (episodes.offset, episodes.total) == (1, 3)
    assert [(e.index, e.title) for e in episodes.items] == [
        (2, "The Second Episode"),
        (3, "The Third Episode"),
    ]
    artist = plex_server.entry("An Artist", "artist")
    (album,) = (await client.get_children(artist.rating_key)).items
    assert (album.media_type, album.title, album.parent_title) == (
        "album",
        "An Album",
        "An Artist",
    )
    tracks = (await client.get_children(album.rating_key)).items
    assert [(t.index, t.title, t.grandparent_title) for t in tracks] == [
        (1, "A Song", "An Artist"),
        (2, "Another Song", "An Artist"),
        (3, "A Third Song", "An Artist"),
    ]
    assert tracks[0].poster == tracks[0].thumb == album.thumb
    film = plex_server.entry("A Film")
    assert (await client.get_children(film.rating_key)).items == []
    assert_token_in_the_header_only(plex_server, "metadata", "children")


async def test_children_of_a_huge_library(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Shows that exist only as a count still have a season of ten episodes each."""
    plex_server.add_section("Every Show", "show", count=50_000)
    client = make_client(http, plex_server)
    shows = await client.get_items("4", start=49_999, size=1)
    (show,) = shows.items
    assert (show.title, show.leaf_count, show.child_count) == (
        "Every Show show 0050000",
        10,
        1,
    )
    (season,) = (await client.get_children(show.rating_key)).items
    episodes = await client.get_children(season.rating_key, start=8, size=5)
    assert (episodes.total, [e.index for e in episodes.items]) == (10, [9, 10])
    assert {e.grandparent_title for e in episodes.items} == {show.title}


async def test_an_unknown_item_is_a_404(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """An item the server does not have is a response error with the status."""
    client = make_client(http, plex_server)
    for call in (client.get_item("999999"), client.get_children("4001000001")):
        with pytest.raises(PlexServerResponseError) as caught:
            await call
        assert caught.value.status == 404
    with pytest.raises(PlexServerResponseError) as caught:
        await client.count_items("42", 1)
    assert caught.value.status == 404


async def test_an_empty_metadata_answer_is_a_404(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A 200 without any item is answered as the server not having it."""
    plex_server.inject(
        "metadata", Fault(status=200, body='{"MediaContainer": {"size": 0}}')
    )
    with pytest.raises(PlexServerResponseError) as caught:
        await make_client(http, plex_server).get_item("101")
    assert caught.value.status == 404


async def test_odd_entries_are_left_out(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Entries of the wrong type or without their key are skipped; the rest is read."""
    odd = {
        "MediaContainer": {
            "size": 4,
            "totalSize": "12",
            "offset": 0,
            "Directory": [
                "a string",
                {"title": "No key"},
                {"key": "7", "type": "photo", "title": "Photos ✨"},
                {"key": "8", "title": "\u202eevil", "type": ["movie"]},
            ],
            "Metadata": [
                None,
                {"title": "No rating key"},
                {"ratingKey": 12, "type": "movie", "title": FRAKTUR, "addedAt": "x"},
            ],
        }
    }
    plex_server.inject("sections", Fault(status=200, body=json.dumps(odd)))
    plex_server.inject("section_items", Fault(status=200, body=json.dumps(odd)))
    client = make_client(http, plex_server)
    sections = await client.get_sections()
    assert [(s.key, s.title) for s in sections] == [
        ("7", "Photos ✨"),
        ("8", "\u202eevil"),
    ]
    page = await client.get_items("1")
    assert [(i.rating_key, i.title, i.added_at) for i in page.items] == [
        ("12", FRAKTUR, None)
    ]
    assert page.total == 12


# -- Shared servers ----------------------------------------------------------------------


@pytest.fixture
async def friend(
    plex_tv: PlexTvStandIn, sam: StandInAccount
) -> AsyncIterator[PlexMediaServerStandIn]:
    """Serve a server Sam can reach but does not own, sharing Movies and Music only."""
    shared = StandInServer(name="Friend's server", owned=False)
    sam.servers.append(shared)
    server = PlexMediaServerStandIn(plex_tv, shared, shared_sections={"1", "3"})
    await server.start()
    yield server
    await server.stop()


async def test_a_shared_server_shows_only_what_it_shares(
    friend: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """With the shared server's own token: only the shared libraries, their items and counts."""
    client = make_client(http, friend)
    assert [s.title for s in await client.get_sections()] == ["Movies", "Music"]
    assert await client.count_items("1", ITEM_TYPES["movie"]) == 5
    for call in (
        client.count_items("2", ITEM_TYPES["episode"]),
        client.get_items("2"),
        client.get_item(friend.entry("Pilot").rating_key),
    ):
        with pytest.raises(PlexServerResponseError) as caught:
            await call
        assert caught.value.status == 404
    assert [i.title for i in (await client.get_on_deck()).items] == ["The Big Picture"]
    friend.shared_sections = None
    assert len(await client.get_sections()) == 3


# -- Play queues and playing -------------------------------------------------------------


async def test_an_item_plays_on_the_chosen_player(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A play queue, then playMedia: the targeted player plays that item from that offset."""
    client = make_client(http, plex_server)
    mid = plex_server.server.machine_identifier
    film = await client.get_item(plex_server.entry("The Big Picture").rating_key)
    queue = await client.create_play_queue(film, mid)
    made = plex_server.play_queues[queue.play_queue_id]
    assert [rating_key for _, rating_key in made.items] == [film.rating_key]
    assert queue.selected_item_id == made.selected
    assert made.type == "video"
    assert made.uri == (
        f"server://{mid}/com.plexapp.plugins.library/library/metadata/{film.rating_key}"
    )
    tv = player_id(plex_server, "Living room TV")
    await client.send_player_command(
        tv,
        "playback/playMedia",
        {
            "key": f"/library/metadata/{film.rating_key}",
            "offset": film.view_offset_ms or 0,
            "machineIdentifier": mid,
            "containerKey": f"/playQueues/{queue.play_queue_id}?window=100&own=1",
            "type": "video",
        },
    )
    (play,) = plex_server.plays()
    assert (play.target, play.status) == (tv, 200)
    assert play.query["key"] == f"/library/metadata/{film.rating_key}"
    assert play.query["offset"] == "1800000"
    assert play.query["machineIdentifier"] == mid
    assert (
        play.query["containerKey"]
        == f"/playQueues/{queue.play_queue_id}?window=100&own=1"
    )
    session = plex_server.player_session(tv)
    assert session is not None
    assert (session.item.rating_key, session.item.title) == (
        film.rating_key,
        "The Big Picture",
    )
    assert session.offset == 1_800_000
    assert plex_server.player_session(player_id(plex_server, "Phone")) is None
    assert_token_in_the_header_only(plex_server, "play_queues", "player_command")


async def test_a_track_and_an_episode_queue_as_audio_and_video(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """The queue's type follows the item: audio for a track, video for an episode."""
    client = make_client(http, plex_server)
    mid = plex_server.server.machine_identifier
    for title, queue_type in (("Another Song", "audio"), ("Pilot", "video")):
        item = await client.get_item(plex_server.entry(title).rating_key)
        queue = await client.create_play_queue(item, mid)
        assert plex_server.play_queues[queue.play_queue_id].type == queue_type
    show = await client.get_item(plex_server.entry("A Show", "show").rating_key)
    with pytest.raises(ValueError, match="playable"):
        await client.create_play_queue(show, mid)


async def test_play_queues_for_what_the_server_cannot_queue(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Another server's item is refused (400); an item gone since is not found (404)."""
    client = make_client(http, plex_server)
    film = await client.get_item(plex_server.entry("A Film").rating_key)
    with pytest.raises(PlexServerResponseError) as caught:
        await client.create_play_queue(film, "another-server")
    assert caught.value.status == 400
    await plex_server.remove_item(film.rating_key)
    with pytest.raises(PlexServerResponseError) as caught:
        await client.create_play_queue(film, plex_server.server.machine_identifier)
    assert caught.value.status == 404
    assert plex_server.play_queues == {}


async def test_players_that_cannot_or_do_not_play(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A player without playback refuses; a silent one times out once; a wrong key is refused."""
    client = make_client(http, plex_server, request_timeout=SHORT)
    mid = plex_server.server.machine_identifier
    film = plex_server.entry("A Film")
    params: dict[str, str | int] = {
        "key": f"/library/metadata/{film.rating_key}",
        "offset": 0,
        "machineIdentifier": mid,
    }
    with pytest.raises(PlexServerCommandError) as caught:
        await client.send_player_command(
            player_id(plex_server, "Phone"), "playback/playMedia", params
        )
    assert caught.value.status == 400
    with pytest.raises(PlexServerCommandError) as caught:
        await client.send_player_command(
            player_id(plex_server, "Living room TV"),
            "playback/playMedia",
            {**params, "key": "/library/metadata/999999"},
        )
    assert caught.value.status == 400
    silent = plex_server.add_player("Attic TV")
    silent.silent = True
    with pytest.raises(PlexServerCommandError, match="in time"):
        await client.send_player_command(
            silent.machine_identifier, "playback/playMedia", params
        )
    assert [c.target for c in plex_server.plays()].count(silent.machine_identifier) == 1
    assert plex_server.sessions == {}


# -- Faults ----------------------------------------------------------------------------

Call = Callable[[PlexServerClient, PlexMediaServerStandIn], Coroutine[Any, Any, Any]]
CALLS: dict[str, tuple[str, Call]] = {
    "sections": ("sections", lambda client, server: client.get_sections()),
    "count": (
        "section_items",
        lambda client, server: client.count_items("1", ITEM_TYPES["movie"]),
    ),
    "items": ("section_items", lambda client, server: client.get_items("2", size=5)),
    "on_deck": ("on_deck", lambda client, server: client.get_on_deck()),
    "item": ("metadata", lambda client, server: client.get_item("101")),
    "children": (
        "children",
        lambda client, server: client.get_children(server.entry("A Show").rating_key),
    ),
    "play_queue": (
        "play_queues",
        lambda client, server: client.create_play_queue(
            LibraryItem(rating_key="101", media_type="movie"),
            server.server.machine_identifier,
        ),
    ),
}
FAULTS: dict[str, tuple[Fault, type[PlexServerError], int | None]] = {
    "reset": (Fault(drop=True), PlexServerConnectionError, None),
    "reset-mid-body": (
        Fault(status=200, body='{"MediaContainer": {"size": 0}}', truncate=True),
        PlexServerConnectionError,
        None,
    ),
    "500": (Fault(status=500), PlexServerServerError, 500),
    "503": (
        Fault(status=503, body=HTML, content_type="text/html"),
        PlexServerServerError,
        503,
    ),
    "404": (
        Fault(status=404, body=HTML, content_type="text/html"),
        PlexServerResponseError,
        404,
    ),
    "401": (
        Fault(status=401, body=HTML, content_type="text/html"),
        PlexServerAuthenticationError,
        None,
    ),
    "403": (
        Fault(status=403, body=HTML, content_type="text/html"),
        PlexServerAuthenticationError,
        None,
    ),
    "html": (
        Fault(status=200, body=HTML, content_type="text/html"),
        PlexServerResponseError,
        None,
    ),
    "a-list": (Fault(status=200, body="[]"), PlexServerResponseError, None),
    "no-container": (
        Fault(status=200, body='{"Other": {}}'),
        PlexServerResponseError,
        None,
    ),
    "container-a-list": (
        Fault(status=200, body='{"MediaContainer": [1, 2]}'),
        PlexServerResponseError,
        None,
    ),
    "deep": (Fault(status=200, body="[" * 100_000), PlexServerResponseError, None),
    "50-mb": (Fault(status=200, body=FIFTY_MB), PlexServerResponseError, 200),
    "50-mb-streamed": (
        Fault(status=200, body=FIFTY_MB, chunked=True),
        PlexServerResponseError,
        200,
    ),
}


@pytest.mark.parametrize(
    ("call", "fault"),
    [(call, fault) for call in CALLS for fault in FAULTS],
    ids=[f"{call}-{fault}" for call in CALLS for fault in FAULTS],
)
async def test_fault_matrix(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    call: str,
    fault: str,
) -> None:
    """Each library call meets each fault with its typed error, naming no token or address."""
    endpoint, run = CALLS[call]
    injected, error_type, status = FAULTS[fault]
    plex_server.inject(endpoint, injected, times=None)
    with pytest.raises(PlexServerError) as caught:
        await run(make_client(http, plex_server), plex_server)
    assert type(caught.value) is error_type
    assert getattr(caught.value, "status", None) == status
    if fault.startswith("50-mb"):
        assert "oversized" in str(caught.value)
    assert_clean(caught.value, plex_server)
    # aiohttp itself tries a GET again once when the connection drops before the answer.
    assert 1 <= plex_server.count(endpoint) <= (2 if fault == "reset" else 1)


@pytest.mark.parametrize("call", list(CALLS))
async def test_a_server_that_does_not_answer(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession, call: str
) -> None:
    """A library call that gets no answer in time is a connection error."""
    endpoint, run = CALLS[call]
    held = asyncio.Event()
    plex_server.inject(endpoint, Fault(then_answer=True, hold=held), times=None)
    try:
        with pytest.raises(PlexServerError) as caught:
            await run(
                make_client(http, plex_server, request_timeout=SHORT), plex_server
            )
    finally:
        held.set()
    assert type(caught.value) is PlexServerConnectionError
    assert "in time" in str(caught.value)
    assert_clean(caught.value, plex_server)


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("call", list(CALLS))
async def test_redirects_are_not_followed(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    call: str,
    status: int,
) -> None:
    """A redirect is a response error with its status; where it points sees nothing."""
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        return web.json_response({"MediaContainer": {"size": 0}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        elsewhere = f"http://127.0.0.1:{runner.addresses[0][1]}"
        endpoint, run = CALLS[call]
        plex_server.inject(
            endpoint,
            Fault(status=status, body="", headers={"Location": f"{elsewhere}/x"}),
            times=None,
        )
        with pytest.raises(PlexServerResponseError) as caught:
            await run(make_client(http, plex_server), plex_server)
    finally:
        await runner.cleanup()
    assert type(caught.value) is PlexServerResponseError
    assert caught.value.status == status
    assert seen == []
    assert_clean(caught.value, plex_server)


@pytest.mark.parametrize("call", list(CALLS))
async def test_a_wrong_token_is_refused(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession, call: str
) -> None:
    """The stand-in's own 401 for a token it does not know is an authentication error."""
    endpoint, run = CALLS[call]
    client = make_client(http, plex_server, token="not-the-servers-token")
    with pytest.raises(PlexServerAuthenticationError):
        await run(client, plex_server)
    assert plex_server.count(endpoint) == 1


async def test_keys_that_are_not_one_path_segment_are_not_sent(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """A key with a slash, a dot or a query in it never reaches the server."""
    client = make_client(http, plex_server)
    for key in (
        "../../status/sessions",
        "1?X-Plex-Token=x",
        "",
        "1/children",
        "\u0661",
    ):
        with pytest.raises(PlexServerResponseError):
            await client.get_item(key)
        with pytest.raises(PlexServerResponseError):
            await client.get_items(key)
    assert plex_server.library_reads == 0


# -- Library notifications: the parser -------------------------------------------------


def _message(kind: str, key: str, entries: Any) -> str:
    """Return a NotificationContainer of a type with its entries."""
    return json.dumps(
        {"NotificationContainer": {"type": kind, "size": 1, key: entries}}
    )


def _timeline(**fields: Any) -> str:
    """Return a timeline message with one library entry (fields replace the defaults)."""
    entry = {
        "identifier": "com.plexapp.plugins.library",
        "sectionID": "1",
        "itemID": "101",
        "type": 1,
        "title": "A Film",
        "state": 5,
        "updatedAt": 1_760_000_000,
    } | fields
    return _message("timeline", "TimelineEntry", [entry])


def _activity(event: str = "ended", **activity: Any) -> str:
    """Return an activity message of a section scan (activity fields replace the defaults)."""
    found = {
        "uuid": "u",
        "type": "library.update.section",
        "cancellable": False,
        "userID": 1,
        "title": "Scanning Movies",
        "progress": 100,
        "Context": {"librarySectionID": "1"},
    } | activity
    return _message(
        "activity",
        "ActivityNotification",
        [{"event": event, "uuid": "u", "Activity": found}],
    )


ONE = LibraryChange(frozenset({"1"}))
SOME = LibraryChange(frozenset())


@pytest.mark.parametrize(
    ("message", "change"),
    [
        (_timeline(), ONE),
        (_timeline(state=0, metadataState="created"), ONE),
        (_timeline(state=9, metadataState="deleted"), ONE),
        (_timeline(state=9), ONE),
        (_timeline(state="5"), ONE),
        (_timeline(sectionID=1), ONE),
        (_timeline(sectionID=" 1 "), ONE),
        (_timeline(state=0), None),
        (_timeline(state=1, metadataState="processing"), None),
        (_timeline(state=4), None),
        (_timeline(state=True), None),
        (_timeline(state=None), None),
        (_timeline(identifier="com.plexapp.plugins.other"), None),
        (_timeline(identifier=None), None),
        (_timeline(sectionID="-1"), None),
        (_timeline(sectionID=-1), None),
        (_timeline(sectionID=None), SOME),
        (_timeline(sectionID=""), SOME),
        (_timeline(sectionID=2.5), SOME),
        (_timeline(sectionID="1; DROP"), SOME),
        (_timeline(sectionID="9" * 65), SOME),
        (_timeline(sectionID=["1"]), SOME),
        (_activity(), ONE),
        (_activity(Context={"librarySectionID": 1}), ONE),
        (_activity(event="started"), None),
        (_activity(event="updated"), None),
        (_activity(type="media.generate.bif"), None),
        (_activity(type=7), None),
        (_activity(Context=None), SOME),
        (_activity(Context="1"), SOME),
        (
            _activity(Context=[{"librarySectionID": "2"}]),
            LibraryChange(frozenset({"2"})),
        ),
        (
            _message(
                "activity",
                "ActivityNotification",
                [{"event": "ended", "Activity": "x"}],
            ),
            None,
        ),
        (_message("timeline", "TimelineEntry", "not a list"), None),
        (_message("timeline", "TimelineEntry", [1, "two", None, []]), None),
        (_message("timeline", "Other", []), None),
        (
            _message("playing", "PlaySessionStateNotification", [{"sessionKey": "1"}]),
            None,
        ),
        (_message("status", "StatusNotification", [{"title": "x"}]), None),
        (json.dumps({"NotificationContainer": None}), None),
        (json.dumps({"NotificationContainer": {"type": ["timeline"]}}), None),
        (json.dumps([1, 2]), None),
        ("null", None),
        ("not json at all", None),
        ("{" * 50_000, None),
        ("[" * 50_000 + "]" * 50_000, None),
        ("", None),
    ],
)
def test_library_changes_are_read(message: str, change: LibraryChange | None) -> None:
    """Finished library changes are read from timeline and activity messages; anything else is None."""
    assert library_change(message) == change


def test_a_message_of_many_entries() -> None:
    """Entries together name their sections; too many sections, or one unknown, means "some"."""
    entries = [
        {
            "identifier": "com.plexapp.plugins.library",
            "sectionID": str(number % 3 + 1),
            "state": 5 if number % 2 else 2,
        }
        for number in range(10_000)
    ]
    message = _message("timeline", "TimelineEntry", entries)
    assert library_change(message) == LibraryChange(frozenset({"1", "2", "3"}))
    many = [
        {"identifier": "com.plexapp.plugins.library", "sectionID": str(key), "state": 5}
        for key in range(MAX_SECTIONS + 1)
    ]
    assert library_change(_message("timeline", "TimelineEntry", many)) == SOME
    assert library_change(
        _message("timeline", "TimelineEntry", many[:MAX_SECTIONS])
    ) == LibraryChange(frozenset(str(key) for key in range(MAX_SECTIONS)))
    unknown = [*entries[:3], {"identifier": "com.plexapp.plugins.library", "state": 5}]
    assert library_change(_message("timeline", "TimelineEntry", unknown)) == SOME


def test_library_messages_are_not_playing_ones() -> None:
    """The playing parser leaves library messages alone, and the library parser playing ones."""
    assert playing_notifications(_timeline()) is None
    assert playing_notifications(_activity()) is None


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "com.plexapp.plugins.library",
            "ended",
            "library.update.section",
            "created",
            "-1",
        ]
    ),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            [
                "type",
                "identifier",
                "sectionID",
                "state",
                "metadataState",
                "event",
                "Activity",
                "Context",
                "librarySectionID",
                "TimelineEntry",
                "ActivityNotification",
                "NotificationContainer",
            ]
        )
        | st.text(max_size=4),
        inner,
        max_size=5,
    ),
    max_leaves=30,
)


@given(
    kind=st.sampled_from(["timeline", "activity", "playing", "other"]),
    entries=JSON_VALUES,
)
def test_the_library_parser_never_fails(kind: str, entries: Any) -> None:
    """Whatever a message holds, the parser answers a LibraryChange of section keys, or None."""
    key = {"timeline": "TimelineEntry", "activity": "ActivityNotification"}.get(
        kind, "x"
    )
    for message in (
        json.dumps({"NotificationContainer": {"type": kind, key: entries}}),
        json.dumps(entries),
    ):
        change = library_change(message)
        assert change is None or isinstance(change, LibraryChange)
        if change is not None:
            assert len(change.section_ids) <= MAX_SECTIONS
            assert all(key.isdigit() for key in change.section_ids)


# -- Library notifications: the listener against the stand-in's websocket ------------------


class Heard:
    """What a notification listener handed on."""

    def __init__(self) -> None:
        """Start with nothing heard."""
        self.opens = 0
        self.reports: list[list[PlayingNotification]] = []
        self.changes: list[LibraryChange] = []

    def on_open(self) -> None:
        """Count an opened socket."""
        self.opens += 1


@pytest.fixture
async def heard(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> AsyncIterator[Heard]:
    """Follow the stand-in's notifications with a listener that hands library changes on."""
    found = Heard()
    listener = NotificationListener(
        make_client(http, plex_server),
        on_playing=found.reports.append,
        on_open=found.on_open,
        on_library=found.changes.append,
    )
    listener.start()
    try:
        await wait_for(
            lambda: found.opens == 1 and plex_server.open_websockets == 1, WAIT
        )
        yield found
    finally:
        await listener.stop()


async def test_a_new_film_is_heard(
    plex_server: PlexMediaServerStandIn, heard: Heard
) -> None:
    """Adding a film: the timeline's created and done entries and the scan's end each tell of Movies."""
    await plex_server.add_item("Movies", title="A New Film", webhook=False)
    await plex_server.flush_websockets()
    assert heard.changes == [ONE, ONE, ONE]
    assert heard.reports == []


@pytest.mark.parametrize(
    ("notifications", "changes"), [(("timeline",), 2), (("activity",), 1), ((), 0)]
)
async def test_each_notification_alone_is_heard(
    plex_server: PlexMediaServerStandIn,
    heard: Heard,
    notifications: tuple[str, ...],
    changes: int,
) -> None:
    """The timeline alone, or the scan's activity alone, is enough to tell of a new episode."""
    await plex_server.add_item(
        "TV Shows",
        title="Yet Another Episode",
        notifications=notifications,
        webhook=False,
    )
    await plex_server.flush_websockets()
    assert heard.changes == [LibraryChange(frozenset({"2"}))] * changes


async def test_a_deletion_and_playing_are_heard_apart(
    plex_server: PlexMediaServerStandIn, heard: Heard
) -> None:
    """A deleted album tells of Music; a session's notifications stay playing reports."""
    await plex_server.start_session(media_type="track")
    await plex_server.remove_item(plex_server.entry("Sønger").rating_key)
    await plex_server.send_notification("activity")  # a scan still running
    await plex_server.send_notification("status")
    await plex_server.flush_websockets()
    assert heard.changes == [LibraryChange(frozenset({"3"}))] * 2
    assert len(heard.reports) == 1


async def test_a_listener_without_on_library_ignores_library_messages(
    plex_server: PlexMediaServerStandIn, http: aiohttp.ClientSession
) -> None:
    """Listeners made before libraries existed keep working as they did."""
    heard = Heard()
    listener = NotificationListener(
        make_client(http, plex_server),
        on_playing=heard.reports.append,
        on_open=heard.on_open,
    )
    listener.start()
    try:
        await wait_for(lambda: plex_server.open_websockets == 1, WAIT)
        await plex_server.add_item("Movies", title="Unheard", webhook=False)
        await plex_server.start_session()
        await wait_for(lambda: len(heard.reports) == 1, WAIT)
        assert listener.connected
        assert heard.opens == 1
    finally:
        await listener.stop()


async def test_a_failing_library_callback_stops_nothing(
    plex_server: PlexMediaServerStandIn,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A callback that raises is logged; the socket stays open and later messages arrive."""
    heard = Heard()

    def broken(change: LibraryChange) -> None:
        heard.changes.append(change)
        raise RuntimeError("broken callback")

    listener = NotificationListener(
        make_client(http, plex_server),
        on_playing=heard.reports.append,
        on_open=heard.on_open,
        on_library=broken,
    )
    listener.start()
    try:
        await wait_for(lambda: plex_server.open_websockets == 1, WAIT)
        with caplog.at_level(logging.ERROR):
            await plex_server.add_item(
                "Movies", title="Again", notifications=("activity",), webhook=False
            )
            await plex_server.add_item(
                "Music", title="Again", notifications=("activity",), webhook=False
            )
            await plex_server.flush_websockets()
        assert heard.changes == [ONE, LibraryChange(frozenset({"3"}))]
        assert listener.connected
        assert heard.opens == 1
        assert caplog.text.count("Error in a notification callback") == 2
    finally:
        await listener.stop()
