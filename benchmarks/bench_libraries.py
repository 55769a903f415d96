"""Libraries: from a new item at a server to the recently added sensor, reads, memory, posters.

Home Assistant starts as bench_setup starts it (as the hass command does, http
on a free loopback port that is also its internal URL, quiet logger,
configuration in artifacts/bench-libraries-home-assistant) with one Plex Link
entry for the demo account. The plex.tv stand-in and the Plex Media Server
stand-in of the demo server ("Media Shelf": Movies, TV Shows, Music) serve
from a process of their own, as a real server is one.

- Notifications: events off, so the server's notification websocket alone
  tells Plex Link; the stand-in adds a film to Movies as a scan does (its
  `activity` and `timeline` messages, no webhook post). The time runs from
  the moment the stand-in begins to add it to the recently added sensor's
  new state with the film first (a state_changed listener in Home
  Assistant's process; both read the same monotonic clock).
- Webhook posts: events on (the entry reloaded with the option); the
  stand-in adds a film and posts `library.new` to Plex Link's webhook at
  once, with no websocket message; the time runs from the same moment. Each
  new film waits for the last one's state and Plex Link's one-second read
  cooldown (after a scan's notifications, two: the scan's end asks for a
  second read, which waits out the first one's cooldown).
- Reads an hour, idle: the library requests the server receives (sections,
  items, counts, metadata; not images) for --polls safety polls of the
  libraries (their coordinator refreshed as its 30-minute timer does),
  scaled to the polls of an hour; plus an hour's worth of plex.tv
  refreshes (every 5 minutes, each matches the servers' libraries to
  plex.tv's list) and of the activity safety poll, and --idle seconds of
  real time with nothing happening.
- Posters: a new film's poster URL from the sensor's `data` (signed by Home
  Assistant, served by Plex Link's view) requested --requests times, then
  the Movies image entity's picture as many times through Home Assistant's
  image proxy; the image requests the server receives are counted. An
  unsigned and a tampered request are refused.
- Memory: tracemalloc's growth while the server gains --libraries
  libraries of the small --items count each (movies, shows and music in
  turn, existing only as counts at the stand-in), then as many of the large
  count each: the libraries' data and entities should not grow with their
  size. The items the server sends meanwhile are counted too.

    python -m benchmarks.bench_libraries [--notifications 40] [--events 40]
        [--polls 10] [--idle 30] [--requests 100] [--libraries 10]
        [--items 100 100000]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
import gc
import itertools
from multiprocessing.connection import Connection
import statistics
import time
import tracemalloc
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_PICTURE,
    CONF_WEBHOOK_ID,
    EVENT_STATE_CHANGED,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from benchmarks import print_target
from benchmarks.bench_setup import (
    _start_home_assistant,
    linked_entry,
    standins_in_a_process,
)
from custom_components.plex_link import activity, libraries
from custom_components.plex_link.const import CONF_EVENTS, DOMAIN
from custom_components.plex_link.coordinator import UPDATE_INTERVAL
from tests.live import ROOT, StandInThread
from tests.standin.server import LIBRARY_ENDPOINTS, PlexMediaServerStandIn

CONFIG_DIR = ROOT / "artifacts" / "bench-libraries-home-assistant"
CLIENT_IDENTIFIER = "bench-plex-link-libraries"
MOVIES = "Movies"
SECTION_TYPES = ("movie", "show", "artist")
WAIT = 15.0  # seconds a new film may take to show before it counts as lost
HOUR = timedelta(hours=1)
LIBRARY_POLLS_AN_HOUR = HOUR / libraries.POLL_INTERVAL
PLEX_TV_REFRESHES_AN_HOUR = round(HOUR / UPDATE_INTERVAL)
ACTIVITY_POLLS_AN_HOUR = round(HOUR / activity.POLL_INTERVAL)


# -- The stand-ins' process ---------------------------------------------------


class Server:
    """The demo server's stand-in, driven on the stand-ins' loop."""

    def __init__(self, standin: PlexMediaServerStandIn) -> None:
        """Post no webhook of sessions; number the films and libraries added."""
        self.standin = standin
        standin.auto_webhooks = False
        self._titles = (f"Bench film {number}" for number in itertools.count(1))
        self._sections = itertools.count(1)

    async def add(self, via: str) -> tuple[float, str]:
        """Add a film to Movies, told by webhook post or by notification; return the moment and title."""
        title = next(self._titles)
        webhook_post = via == "webhook"
        moment = time.monotonic()
        await self.standin.add_item(
            MOVIES,
            title=title,
            year=2026,
            duration=6_000_000,
            genres=("Drama",),
            notifications=() if webhook_post else ("timeline", "activity"),
            webhook=webhook_post,
        )
        return moment, title

    def add_sections(self, count: int, items: int) -> list[str]:
        """Add count libraries of items each (movies, shows, music in turn); return their titles."""
        titles = []
        for number in range(count):
            title = f"Bench library {next(self._sections)}"
            self.standin.add_section(
                title, SECTION_TYPES[number % len(SECTION_TYPES)], count=items
            )
            titles.append(title)
        return titles

    def counts(self) -> dict[str, int]:
        """Return the library requests, image requests and library items sent so far."""
        return {
            "library": self.standin.library_reads,
            "images": self.standin.image_requests,
            "items": self.standin.items_served,
        } | {endpoint: self.standin.count(endpoint) for endpoint in LIBRARY_ENDPOINTS}


def _serve_standins(connection: Connection) -> None:
    """Serve plex.tv and the demo server; do what Home Assistant's process asks, until told to stop.

    Sends the plex.tv URL, a token for the demo account and its uuid first,
    then answers each (command, *arguments) tuple.
    """
    with StandInThread() as standins:
        demo = standins.standin.demo_account
        token = standins.call(
            lambda: standins.standin.issue_token(demo, CLIENT_IDENTIFIER)
        )
        server = standins.call(lambda: Server(standins.server))
        connection.send((standins.url, token, demo.uuid))
        while (command := connection.recv()) is not None:
            name, *arguments = command
            if name == "add":
                connection.send(standins.run(server.add(*arguments)))
            elif name == "add_sections":
                connection.send(standins.call(partial(server.add_sections, *arguments)))
            elif name == "counts":
                connection.send(standins.call(server.counts))
            elif name == "webhooks":
                connection.send(standins.call(lambda: list(demo.webhooks)))
            else:
                raise ValueError(f"unknown command {name}")


# -- Home Assistant's process -------------------------------------------------


@dataclass(frozen=True)
class Record:
    """A state of the recently added sensor as it was written: the first item's title."""

    at: float
    first: str | None


@dataclass
class Timing:
    """Latencies of new films, and how many were lost."""

    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    reads: int = 0  # library requests the server received meanwhile

    def add(self, latency: float | None) -> None:
        """Count one new film, and its latency unless it was lost."""
        if latency is None:
            self.lost += 1
        else:
            self.latencies.append(latency)


@dataclass
class Idle:
    """Library requests with nothing happening."""

    polls: int
    poll_reads: int
    plex_tv_reads: int  # during an hour's worth of plex.tv refreshes
    activity_reads: int  # during an hour's worth of activity safety polls
    seconds: float
    idle_reads: int  # in the real-time window
    servers: int

    @property
    def an_hour(self) -> float:
        """Return the library requests an hour, per server."""
        per_poll = self.poll_reads / self.polls if self.polls else 0.0
        window = self.idle_reads * HOUR.total_seconds() / self.seconds
        return (
            per_poll * LIBRARY_POLLS_AN_HOUR
            + self.plex_tv_reads
            + self.activity_reads
            + window
        ) / self.servers


@dataclass
class Posters:
    """Requests of one poster: through the view (signed URL) and the image entity."""

    requests: int
    view_fetches: int
    view_statuses: set[int]
    first: float
    others: list[float]
    entity_fetches: int
    entity_statuses: set[int]
    unsigned: int  # HTTP status of the URL without its signature
    tampered: int  # ... with a signature for another path
    token_in_url: bool


@dataclass
class Memory:
    """Memory growth as libraries are added: small ones, then large ones."""

    libraries: int
    small_items: int
    large_items: int
    small: float  # bytes traced
    large: float
    small_served: int  # items the server sent while they were read
    large_served: int

    @property
    def ratio(self) -> float:
        """Return the large libraries' growth over the small ones'."""
        return self.large / self.small if self.small else float("inf")


class Bench:
    """One Home Assistant with the demo account's entry, and the stand-ins' process."""

    def __init__(
        self, hass: HomeAssistant, connection: Connection, token: str, uuid: str
    ) -> None:
        """Record every state the recently added sensor writes, on the shared monotonic clock."""
        self.hass = hass
        self._connection = connection
        self._token = token
        self._uuid = uuid
        self.records: list[Record] = []
        self._written = asyncio.Event()
        self.entry: ConfigEntry[Any] | None = None
        self.recent: str | None = None  # the recently added sensor's entity id

        @callback
        def written(event: Event[EventStateChangedData]) -> None:
            now = time.monotonic()
            if (new_state := event.data["new_state"]) is None:
                return
            data = new_state.attributes.get("data") or []
            first = data[1].get("title") if len(data) > 1 else None
            self.records.append(Record(now, first))
            self._written.set()

        @callback
        def recent_only(data: EventStateChangedData) -> bool:
            return data["entity_id"] == self.recent

        hass.bus.async_listen(EVENT_STATE_CHANGED, written, event_filter=recent_only)

    async def ask(self, *command: Any) -> Any:
        """Send the stand-ins' process a command and wait for its answer off the loop."""
        self._connection.send(command)
        return await self.hass.async_add_executor_job(self._connection.recv)

    async def wait_for(
        self, check: Callable[[], Any], message: str, within: float = 30
    ) -> None:
        """Let Home Assistant run until check() is truthy (woken by each state); fail after within."""
        try:
            async with asyncio.timeout(within):
                while not check():
                    self._written.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.1):
                            await self._written.wait()
        except TimeoutError:
            raise TimeoutError(message) from None

    @property
    def coordinator(self) -> libraries.PlexLinkLibraryCoordinator:
        """Return the demo server's library coordinator."""
        assert self.entry is not None
        (coordinator,) = self.entry.runtime_data.libraries.values()
        return coordinator

    def entity_id(self, domain: str, key: str) -> str | None:
        """Return the entity id of one of the demo server's entities, by its unique id's key."""
        return er.async_get(self.hass).async_get_entity_id(
            domain,
            DOMAIN,
            f"{self._uuid}_{self.coordinator.machine_identifier}_{key}",
        )

    def library_entities(self) -> list[str]:
        """Return the entity ids of the entry's library sensors and images."""
        assert self.entry is not None
        return [
            entity.entity_id
            for entity in er.async_entries_for_config_entry(
                er.async_get(self.hass), self.entry.entry_id
            )
            if entity.translation_key in ("library", "library_image")
        ]

    async def link(self, events: bool) -> None:
        """Add the demo account's entry (events as asked); wait until recently added shows."""
        self.entry = linked_entry(
            "Demo Person",
            self._uuid,
            self._token,
            CLIENT_IDENTIFIER,
            {CONF_EVENTS: events},
        )
        await self.hass.config_entries.async_add(self.entry)
        assert self.entry.state is ConfigEntryState.LOADED, self.entry.state
        await self.ready()

    async def ready(self) -> None:
        """Wait until the recently added sensor shows and the server's websocket is open."""
        entry = self.entry
        assert entry is not None

        def shown() -> bool:
            if not entry.runtime_data.libraries or not entry.runtime_data.activity:
                return False
            (coordinator,) = entry.runtime_data.activity.values()
            self.recent = self.entity_id("sensor", "recently_added")
            return (
                coordinator.listening
                and self.recent is not None
                and (state := self.hass.states.get(self.recent)) is not None
                and len(state.attributes.get("data") or []) > 1
            )

        await self.wait_for(shown, "recently added did not show", within=120)
        await self.settle()

    async def events_on(self) -> None:
        """Turn events on and reload the entry; wait until Plex Link's webhook is registered."""
        entry = self.entry
        assert entry is not None
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_EVENTS: True}
        )
        assert await self.hass.config_entries.async_reload(entry.entry_id)
        path = webhook.async_generate_path(entry.data[CONF_WEBHOOK_ID])
        deadline = time.monotonic() + 30
        while not [u for u in await self.ask("webhooks") if u.endswith(path)]:
            if time.monotonic() > deadline:
                raise TimeoutError("Plex Link did not register its webhook")
            await asyncio.sleep(0.1)
        await self.ready()

    async def settle(self, cooldowns: int = 1) -> None:
        """Wait past the read cooldown(s), so that the next change is read at once.

        A scan's notifications ask for a read, then (its end) for another one
        after the cooldown: the next film waits for that one's cooldown too.
        """
        await self.hass.async_block_till_done()
        await asyncio.sleep(cooldowns * libraries.REFRESH_COOLDOWN + 0.2)

    def arrival(self, moment: float, title: str) -> float | None:
        """Return when the first state after a moment with title first was written."""
        return next(
            (r.at for r in self.records if r.at >= moment and r.first == title),
            None,
        )

    async def new_films(self, via: str, count: int) -> Timing:
        """Add count films, told by via ("webhook" or "notification"); time each to the sensor."""
        timing = Timing()
        before = (await self.ask("counts"))["library"]
        for _ in range(count):
            moment, title = await self.ask("add", via)
            with contextlib.suppress(TimeoutError):  # counted as lost
                await self.wait_for(
                    lambda m=moment, t=title: self.arrival(m, t) is not None,
                    "no state",
                    within=WAIT,
                )
            arrived = self.arrival(moment, title)
            timing.add(None if arrived is None else arrived - moment)
            await self.settle(2 if via == "notification" else 1)
        timing.reads = (await self.ask("counts"))["library"] - before
        return timing

    async def idle(self, polls: int, seconds: float) -> Idle:
        """Count the library requests of safety polls, plex.tv refreshes, and real idle time."""
        assert self.entry is not None
        await self.settle()
        counts = await self.ask("counts")
        for _ in range(polls):
            await self.coordinator.async_refresh()
        await self.hass.async_block_till_done()
        after_polls = await self.ask("counts")
        for _ in range(PLEX_TV_REFRESHES_AN_HOUR):
            await self.entry.runtime_data.coordinator.async_refresh()
            await self.hass.async_block_till_done()
        after_plex_tv = await self.ask("counts")
        for coordinator in self.entry.runtime_data.activity.values():
            for _ in range(ACTIVITY_POLLS_AN_HOUR):
                await coordinator.async_refresh()
        await self.hass.async_block_till_done()
        after_activity = await self.ask("counts")
        start = time.monotonic()
        await asyncio.sleep(seconds)
        await self.hass.async_block_till_done()
        elapsed = time.monotonic() - start
        after_idle = await self.ask("counts")
        return Idle(
            polls=polls,
            poll_reads=after_polls["library"] - counts["library"],
            plex_tv_reads=after_plex_tv["library"] - after_polls["library"],
            activity_reads=after_activity["library"] - after_plex_tv["library"],
            seconds=elapsed,
            idle_reads=after_idle["library"] - after_activity["library"],
            servers=len(self.entry.runtime_data.libraries),
        )

    async def _get_all(
        self, session: aiohttp.ClientSession, url: str, requests: int
    ) -> tuple[set[int], list[float]]:
        """GET url requests times; return the statuses and the times."""
        statuses: set[int] = set()
        times: list[float] = []
        for _ in range(requests):
            start = time.monotonic()
            async with session.get(url) as response:
                await response.read()
                statuses.add(response.status)
            times.append(time.monotonic() - start)
        return statuses, times

    async def posters(self, requests: int) -> Posters:
        """Request a new film's poster through the view, then through the image entity."""
        assert self.recent is not None
        _, title = await self.ask("add", "webhook")
        await self.wait_for(
            lambda: (state := self.hass.states.get(self.recent or "")) is not None
            and state.attributes["data"][1]["title"] == title,
            "the film did not show",
        )
        await self.settle()
        state = self.hass.states.get(self.recent)
        assert state is not None
        poster: str = state.attributes["data"][1]["poster"]
        base = self.hass.config.internal_url
        url = f"{base}{poster}"
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "authSig"]
        unsigned_url = parts._replace(query=urlencode(query)).geturl()
        signature = dict(parse_qsl(parts.query))["authSig"]
        tampered_url = unsigned_url.replace("/poster?", "/fanart?") + (
            f"&authSig={signature}"
        )
        image = self.entity_id("image", self._movies_image_key())
        assert image is not None
        picture = self.hass.states.get(image)
        assert picture is not None
        entity_url = f"{base}{picture.attributes[ATTR_ENTITY_PICTURE]}"
        tokens = await self._tokens()
        async with aiohttp.ClientSession() as session:
            before = (await self.ask("counts"))["images"]
            statuses, times = await self._get_all(session, url, requests)
            after = (await self.ask("counts"))["images"]
            entity_statuses, _ = await self._get_all(session, entity_url, requests)
            after_entity = (await self.ask("counts"))["images"]
            async with session.get(unsigned_url) as response:
                unsigned = response.status
            async with session.get(tampered_url) as response:
                tampered = response.status
        return Posters(
            requests=requests,
            view_fetches=after - before,
            view_statuses=statuses,
            first=times[0],
            others=times[1:],
            entity_fetches=after_entity - after,
            entity_statuses=entity_statuses,
            unsigned=unsigned,
            tampered=tampered,
            token_in_url=any(t in url or t in entity_url for t in tokens),
        )

    def _movies_image_key(self) -> str:
        """Return the unique id key of the Movies library's image entity."""
        movies = next(
            library
            for library in self.coordinator.data.libraries.values()
            if library.section.title == MOVIES
        )
        return f"{movies.unique_key}_library_image"

    async def _tokens(self) -> list[str]:
        """Return the Plex tokens in play: the account's and the server's."""
        assert self.entry is not None
        return [
            self._token,
            *(
                server.access_token
                for server in self.entry.runtime_data.coordinator.data.servers.values()
                if server.access_token
            ),
        ]

    async def _add_libraries(self, count: int, items: int) -> int:
        """Have the server gain count libraries of items each; wait for their entities.

        Return the library items the server sent meanwhile.
        """
        existing = len(self.library_entities())
        before = (await self.ask("counts"))["items"]
        await self.ask("add_sections", count, items)
        # As the next safety poll would find them.
        await self.coordinator.async_refresh()
        await self.wait_for(
            lambda: len(self.library_entities()) == existing + 2 * count
            and all(
                self.hass.states.get(entity_id) is not None
                for entity_id in self.library_entities()
            ),
            f"{count} libraries did not get their entities",
            within=120,
        )
        await self.hass.async_block_till_done()
        served: int = (await self.ask("counts"))["items"] - before
        return served

    async def memory(self, count: int, small: int, large: int) -> Memory:
        """Return tracemalloc's growth as count small libraries, then count large ones, are added."""
        await self._add_libraries(count, small)  # warm-up, untraced
        await self.settle()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            small_served = await self._add_libraries(count, small)
            await self.settle()
            gc.collect()
            middle = tracemalloc.get_traced_memory()[0]
            large_served = await self._add_libraries(count, large)
            await self.settle()
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        return Memory(
            libraries=count,
            small_items=small,
            large_items=large,
            small=middle - before,
            large=after - middle,
            small_served=small_served,
            large_served=large_served,
        )


def _ms(seconds: float) -> str:
    """Return seconds as milliseconds, one decimal."""
    return f"{1000 * seconds:.1f} ms"


def _p95(values: list[float]) -> float:
    """Return the 95th percentile (the largest value below 20 samples)."""
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20)[-1]


def _summary(values: list[float]) -> str:
    """Return median, p95 and max of latencies."""
    if not values:
        return "none measured"
    return (
        f"median {_ms(statistics.median(values))}, p95 {_ms(_p95(values))}, "
        f"max {_ms(max(values))}"
    )


@dataclass
class Results:
    """Everything one run measured."""

    notifications: Timing
    events: Timing
    idle: Idle
    posters: Posters
    memory: Memory


async def _measure(
    connection: Connection, token: str, uuid: str, args: argparse.Namespace
) -> Results:
    """Start Home Assistant, link, measure, stop it."""
    hass = await _start_home_assistant(CONFIG_DIR)
    try:
        bench = Bench(hass, connection, token, uuid)
        await bench.link(events=False)
        await bench.new_films("notification", 2)  # warm-up
        notifications = await bench.new_films("notification", args.notifications)
        await bench.events_on()
        await bench.new_films("webhook", 2)  # warm-up
        events = await bench.new_films("webhook", args.events)
        idle = await bench.idle(args.polls, args.idle)
        posters = await bench.posters(args.requests)
        small, large = args.items
        memory = await bench.memory(args.libraries, small, large)
    finally:
        await hass.async_stop()
    return Results(notifications, events, idle, posters, memory)


def _report(results: Results) -> None:
    """Print what was measured, and the targets."""
    notifications, events, idle = results.notifications, results.events, results.idle
    posters, memory = results.posters, results.memory
    print(
        "\nLibraries in Home Assistant (started as by hass), "
        "stand-ins in a process of their own, all on loopback\n"
    )
    for label, timing in (
        (
            "the server's notifications alone (events off; the scan's `activity` and "
            "`timeline` messages)",
            notifications,
        ),
        ("a `library.new` webhook post (events on; no websocket message)", events),
    ):
        films = len(timing.latencies) + timing.lost
        print(
            f"{films} new films, told by {label}, to the recently added sensor's "
            "state with the film first:"
        )
        print(
            f"  {_summary(timing.latencies)}; {timing.lost} lost; "
            f"{timing.reads / films if films else 0:.1f} library requests per film"
        )
    print(
        f"Library requests idle ({idle.servers} server): "
        f"{idle.poll_reads} for {idle.polls} safety polls of the libraries "
        f"({LIBRARY_POLLS_AN_HOUR:.0f} an hour), "
        f"{idle.plex_tv_reads} for an hour of plex.tv refreshes "
        f"({PLEX_TV_REFRESHES_AN_HOUR}), {idle.activity_reads} for an hour of "
        f"activity safety polls ({ACTIVITY_POLLS_AN_HOUR}), {idle.idle_reads} in "
        f"{idle.seconds:.0f} s of real time"
    )
    print(f"  an hour: {idle.an_hour:.1f} library requests per server")
    print(
        f"{posters.requests} requests of one signed poster URL (Plex Link's view): "
        f"{posters.view_fetches} image request(s) at the server; HTTP "
        f"{', '.join(str(s) for s in sorted(posters.view_statuses))}; first "
        f"{_ms(posters.first)}, the others {_summary(posters.others)}"
    )
    print(
        f"  the Movies image entity's picture, {posters.requests} times through Home "
        f"Assistant's image proxy: {posters.entity_fetches} more (HTTP "
        f"{', '.join(str(s) for s in sorted(posters.entity_statuses))}); without the "
        f"signature: HTTP {posters.unsigned}; the signature on another URL: HTTP "
        f"{posters.tampered}"
    )
    print(
        f"Memory (tracemalloc) as the server gains {memory.libraries} libraries "
        "(movies, shows, music in turn) with their sensors and images:"
    )
    for items, grown, served in (
        (memory.small_items, memory.small, memory.small_served),
        (memory.large_items, memory.large, memory.large_served),
    ):
        print(
            f"  {items:>7,} items each ({memory.libraries * items:,} in all): "
            f"{grown / 1024:.1f} KB, {grown / memory.libraries / 1024:.1f} KB per "
            f"library; {served} items sent by the server"
        )
    print(
        f"  {memory.large_items:,} items over {memory.small_items:,}: "
        f"x{memory.ratio:.2f}"
    )
    print("\nTargets")
    for name, timing in (("library.new post", events), ("notification", notifications)):
        if latencies := timing.latencies:
            print_target(
                f"p95 <= 100 ms from {name} to recently added",
                f"{_ms(_p95(latencies))} over {len(latencies)}",
                _p95(latencies) <= 0.1,
            )
    print_target(
        "<= 4 library requests an hour per idle server",
        f"{idle.an_hour:.1f}",
        idle.an_hour <= 4,
    )
    print_target(
        f"1 image request for {posters.requests} requests of one poster",
        f"{posters.view_fetches}",
        posters.view_fetches == 1 and posters.view_statuses == {200},
    )
    print_target(
        "posters refused without a valid signature, no Plex token in their URLs",
        f"HTTP {posters.unsigned} and {posters.tampered}; token in a URL: "
        f"{'yes' if posters.token_in_url else 'no'}",
        posters.unsigned == posters.tampered == 401 and not posters.token_in_url,
    )
    print_target(
        "memory independent of the item count",
        f"x{memory.ratio:.2f} for {memory.large_items // memory.small_items:,} "
        "times the items",
        memory.ratio <= 1.5,
    )
    lost = notifications.lost + events.lost
    print_target("no new film lost", f"{lost} lost", lost == 0)


def main() -> None:
    """Start the stand-ins' process, point Plex Link at it and measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--notifications",
        type=int,
        default=40,
        help="new films told by notification alone",
    )
    parser.add_argument(
        "--events", type=int, default=40, help="new films told by library.new posts"
    )
    parser.add_argument(
        "--polls", type=int, default=10, help="safety polls of the libraries counted"
    )
    parser.add_argument(
        "--idle", type=float, default=30, help="seconds of real idle time counted"
    )
    parser.add_argument(
        "--requests", type=int, default=100, help="requests of one poster"
    )
    parser.add_argument(
        "--libraries", type=int, default=10, help="libraries added for the memory"
    )
    parser.add_argument(
        "--items",
        type=int,
        nargs=2,
        default=[100, 100_000],
        metavar=("SMALL", "LARGE"),
        help="items of each small, then each large, library",
    )
    args = parser.parse_args()
    with standins_in_a_process(_serve_standins, config_dir=CONFIG_DIR) as (
        connection,
        (_, token, uuid),
    ):
        results = asyncio.run(_measure(connection, token, uuid, args))
    _report(results)


if __name__ == "__main__":
    main()
