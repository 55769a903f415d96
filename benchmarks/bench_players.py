"""Media players: from a server's notification or an action to the media player's state.

Home Assistant starts as bench_setup starts it (as the hass command does, http
on a free loopback port that is also its internal URL, quiet logger,
configuration in artifacts/bench-players-home-assistant) with one Plex Link
entry for the demo account, events off, so the server's notification
websocket alone carries the news. The plex.tv stand-in and the Plex Media
Server stand-in of the demo server ("Media Shelf", whose players are "Living
room TV", which takes playback commands, and "Phone") serve from a process of
their own, as a real server is one.

- Session changes: the stand-in starts a film on the TV, pauses, resumes and
  stops it (each change sends its `playing` notification); the time runs to
  the TV's media player's new state (a state_changed listener in Home
  Assistant's process; both read the same monotonic clock). Each change
  waits for the last one's state and Plex Link's one-second read cooldown.
- Seeks: while the film plays, the player jumps a minute ahead (a `playing`
  notification whose position is off the clock's course, which asks for a
  read); the time runs to the state with the new position.
- Commands: media_player.media_pause and media_play in turn, from the action
  call to the stand-in's receipt of /player/playback/* and on to the new
  state (which the server's notification brings).
- Reads per hour: the film plays with a position report every second (a
  `playing` notification with nothing new) for --timelines seconds (at most
  290, so that the five-minute safety poll, just reset, does not fall in
  it); the reads of /status/sessions counted then are scaled up to an hour
  and the safety poll's 12 added. The states written meanwhile are counted
  too.
- Artwork: a new film's picture rendered --renders times through Home
  Assistant's media player proxy (the URL in entity_picture), counting the
  image requests the server receives.
- Memory: tracemalloc's growth while --players more players, listed by the
  server's /clients, get their media players and devices.

    python -m benchmarks.bench_players [--changes 40] [--seeks 20] [--commands 20]
        [--timelines 60] [--renders 100] [--players 50]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
from functools import partial
import gc
import itertools
from multiprocessing.connection import Connection
import statistics
import time
import tracemalloc
from typing import Any

import aiohttp
from homeassistant.components.media_player import DOMAIN as MEDIA_PLAYER_DOMAIN
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, ATTR_ENTITY_PICTURE, EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from benchmarks import print_target
from benchmarks.bench_setup import (
    _start_home_assistant,
    linked_entry,
    standins_in_a_process,
)
from custom_components.plex_link import activity
from custom_components.plex_link.const import CONF_EVENTS
from tests.live import ROOT, StandInThread
from tests.standin.server import PlexMediaServerStandIn

CONFIG_DIR = ROOT / "artifacts" / "bench-players-home-assistant"
CLIENT_IDENTIFIER = "bench-plex-link-players"
PLAYER = "Living room TV"
TV = "media_player.living_room_tv"
CYCLE = (("start", "playing"), ("pause", "paused"), ("resume", "playing"))
CYCLE_END = ("stop", "idle")
SEEK_MS = 60_000  # how far each seek jumps
WAIT = 15.0  # seconds a change may take to show before it counts as lost
HOUR = 3600.0
SAFETY_POLLS_AN_HOUR = HOUR / activity.POLL_INTERVAL.total_seconds()


# -- The stand-ins' process ---------------------------------------------------


class Server:
    """The demo server's stand-in, driven on the stand-ins' loop."""

    def __init__(self, standin: PlexMediaServerStandIn) -> None:
        """Post no webhook: the websocket alone tells Plex Link."""
        self.standin = standin
        standin.auto_webhooks = False
        self.session: str | None = None
        self._titles = (f"bench film {number}" for number in itertools.count(1))

    async def change(self, action: str) -> tuple[float, str, float]:
        """Change the TV's session; return the moment the change began, the film and position."""
        standin = self.standin
        moment = time.monotonic()
        if action == "start":
            title = next(self._titles)
            self.session = await standin.start_session(player=PLAYER, title=title)
            return moment, title, 0.0
        assert self.session is not None, "nothing plays"
        session = standin.sessions[self.session]
        if action == "stop":
            self.session = None
            await standin.stop_session(session.id)
        elif action == "seek":
            await standin.seek(session.id, session.view_offset + SEEK_MS)
        else:
            await getattr(standin, action)(session.id)
        return moment, session.item.title, session.offset / 1000

    async def timelines(self, every: float, seconds: float) -> tuple[int, float]:
        """Report the session's position every `every` seconds; return the rounds and the time."""
        before = self.standin.timeline_reports
        start = time.monotonic()
        self.standin.start_timelines(every, limit=max(1, round(seconds / every)))
        assert self.standin.timeline_task is not None
        await self.standin.timeline_task
        return self.standin.timeline_reports - before, time.monotonic() - start

    def counts(self) -> dict[str, int]:
        """Return the requests the server received, by endpoint."""
        return {
            endpoint: self.standin.count(endpoint)
            for endpoint in ("sessions", "clients", "websocket", "photo_transcode")
        } | {"images": self.standin.image_requests}

    def received(self, since: float) -> list[tuple[str, float]]:
        """Return the player commands received after a moment: (path, when)."""
        return [
            (request.path, request.at)
            for request in self.standin.requests_since(since)
            if request.endpoint == "player_command"
        ]

    def add_players(self, count: int) -> str:
        """Add count players the server lists (they take commands); return the first's name."""
        names = [f"Bench player {len(self.standin.players) + n}" for n in range(count)]
        for name in names:
            self.standin.add_player(name)
        return names[0]

    async def play_on(self, player: str) -> None:
        """Start a film on a player, so that Plex Link reads the server's players again."""
        self.session = await self.standin.start_session(player=player)

    async def stop(self) -> None:
        """Stop what plays."""
        if self.session is not None:
            await self.standin.stop_session(self.session)
            self.session = None


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
            if name == "change":
                connection.send(standins.run(server.change(*arguments)))
            elif name == "timelines":
                connection.send(standins.run(server.timelines(*arguments), None))
            elif name == "counts":
                connection.send(standins.call(server.counts))
            elif name == "received":
                connection.send(standins.call(partial(server.received, *arguments)))
            elif name == "add_players":
                connection.send(standins.call(partial(server.add_players, *arguments)))
            elif name == "play_on":
                connection.send(standins.run(server.play_on(*arguments)))
            elif name == "stop":
                connection.send(standins.run(server.stop()))
            else:
                raise ValueError(f"unknown command {name}")


# -- Home Assistant's process -------------------------------------------------


@dataclass(frozen=True)
class Record:
    """A state of the TV's media player as it was written."""

    at: float
    state: str
    title: str | None
    position: float | None


@dataclass
class Timing:
    """Latencies of a series, by kind, and how many were lost."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    lost: int = 0

    def add(self, kind: str, latency: float | None) -> None:
        """Count one change, and its latency unless it was lost."""
        if latency is None:
            self.lost += 1
        else:
            self.latencies.setdefault(kind, []).append(latency)

    @property
    def all(self) -> list[float]:
        """Return every latency of the series."""
        return [value for values in self.latencies.values() for value in values]


@dataclass
class Commands:
    """Actions from the call to the stand-in's receipt, the call's return and the new state."""

    to_receipt: list[float] = field(default_factory=list)
    to_return: list[float] = field(default_factory=list)
    to_state: list[float] = field(default_factory=list)
    lost: int = 0


@dataclass
class Steady:
    """One player playing with a position report every second."""

    reports: int
    seconds: float
    reads: int
    clients_reads: int
    states: int

    @property
    def reads_an_hour(self) -> float:
        """Return the reads an hour: the safety poll's, and the run's scaled up."""
        return SAFETY_POLLS_AN_HOUR + self.reads * HOUR / self.seconds


@dataclass
class Artwork:
    """Renders of one picture through the media player proxy."""

    renders: int
    fetches: int
    statuses: set[int]
    first: float
    others: list[float]


class Bench:
    """One Home Assistant with the demo account's entry, and the stand-ins' process."""

    def __init__(self, hass: HomeAssistant, connection: Connection) -> None:
        """Record every state the TV's media player writes, on the shared monotonic clock."""
        self.hass = hass
        self._connection = connection
        self.records: list[Record] = []
        self._written = asyncio.Event()
        self.entry: ConfigEntry[Any] | None = None

        @callback
        def written(event: Event[EventStateChangedData]) -> None:
            now = time.monotonic()
            if (new_state := event.data["new_state"]) is None:
                return
            self.records.append(
                Record(
                    now,
                    new_state.state,
                    new_state.attributes.get("media_title"),
                    new_state.attributes.get("media_position"),
                )
            )
            self._written.set()

        @callback
        def tv_only(data: EventStateChangedData) -> bool:
            return data["entity_id"] == TV

        hass.bus.async_listen(EVENT_STATE_CHANGED, written, event_filter=tv_only)

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
    def coordinator(self) -> activity.PlexLinkActivityCoordinator:
        """Return the demo server's activity coordinator."""
        assert self.entry is not None
        (coordinator,) = self.entry.runtime_data.activity.values()
        return coordinator

    def state(self, entity_id: str = TV) -> str | None:
        """Return an entity's state, if it has one."""
        current = self.hass.states.get(entity_id)
        return current.state if current is not None else None

    def media_players(self) -> int:
        """Return how many media players the entry has."""
        assert self.entry is not None
        return sum(
            1
            for entity in er.async_entries_for_config_entry(
                er.async_get(self.hass), self.entry.entry_id
            )
            if entity.domain == MEDIA_PLAYER_DOMAIN
        )

    async def link(self, token: str, uuid: str) -> None:
        """Add the demo account's entry, events off; wait until the TV is idle and heard."""
        self.entry = linked_entry(
            "Demo Person", uuid, token, CLIENT_IDENTIFIER, {CONF_EVENTS: False}
        )
        await self.hass.config_entries.async_add(self.entry)
        assert self.entry.state is ConfigEntryState.LOADED, self.entry.state
        await self.wait_for(
            lambda: self.state() == "idle"
            and self.entry is not None
            and self.entry.runtime_data.activity
            and self.coordinator.listening,
            f"{TV} did not become idle",
            within=60,
        )
        await self.settle()

    def arrival(self, moment: float, matches: Callable[[Record], bool]) -> float | None:
        """Return when the first state after a moment that matches was written."""
        return next(
            (r.at for r in self.records if r.at >= moment and matches(r)),
            None,
        )

    async def arrive(
        self, moment: float, matches: Callable[[Record], bool]
    ) -> float | None:
        """Wait for the first state after a moment that matches; return its latency."""
        with contextlib.suppress(TimeoutError):  # counted as lost
            await self.wait_for(
                lambda: self.arrival(moment, matches) is not None,
                "no state",
                within=WAIT,
            )
        arrived = self.arrival(moment, matches)
        return None if arrived is None else arrived - moment

    async def settle(self) -> None:
        """Wait past the read cooldown, so that the next change is read at once."""
        await asyncio.sleep(activity.REFRESH_COOLDOWN + 0.2)

    async def change(self, action: str, expected: str, timing: Timing) -> None:
        """Make one change at the server and time its state."""
        moment, title, _ = await self.ask("change", action)

        def matches(record: Record) -> bool:
            return record.state == expected and (
                expected == "idle" or record.title == title
            )

        timing.add(action, await self.arrive(moment, matches))
        await self.settle()

    async def changes(self, count: int) -> Timing:
        """Start, pause, resume and stop in turn, count changes in whole cycles."""
        timing = Timing()
        for _ in range(max(1, -(-count // (len(CYCLE) + 1)))):
            for action, expected in (*CYCLE, CYCLE_END):
                await self.change(action, expected, timing)
        return timing

    async def seeks(self, count: int) -> tuple[Timing, int]:
        """Time seeks of a playing film; return them and the reads they caused."""
        await self.change("start", "playing", Timing())
        timing = Timing()
        before = (await self.ask("counts"))["sessions"]
        for _ in range(count):
            moment, _, position = await self.ask("change", "seek")
            timing.add(
                "seek",
                await self.arrive(
                    moment,
                    lambda r, p=position: r.state == "playing"
                    and r.position is not None
                    and abs(r.position - p) < 2,
                ),
            )
            await self.settle()
        reads = (await self.ask("counts"))["sessions"] - before
        return timing, reads

    async def commands(self, count: int) -> Commands:
        """Pause and play in turn through the media player's actions; time each."""
        result = Commands()
        for number in range(count):
            service, expected = (
                ("media_pause", "paused")
                if number % 2 == 0
                else ("media_play", "playing")
            )
            moment = time.monotonic()
            await self.hass.services.async_call(
                MEDIA_PLAYER_DOMAIN, service, {ATTR_ENTITY_ID: TV}, blocking=True
            )
            returned = time.monotonic()
            latency = await self.arrive(moment, lambda r, e=expected: r.state == e)
            received: list[tuple[str, float]] = await self.ask("received", moment)
            if latency is None or len(received) != 1:
                result.lost += 1
            else:
                result.to_receipt.append(received[0][1] - moment)
                result.to_return.append(returned - moment)
                result.to_state.append(latency)
            await self.settle()
        if self.state() == "paused":
            await self.hass.services.async_call(
                MEDIA_PLAYER_DOMAIN, "media_play", {ATTR_ENTITY_ID: TV}, blocking=True
            )
            await self.wait_for(lambda: self.state() == "playing", "no play")
            await self.settle()
        return result

    async def steady(self, seconds: float) -> Steady:
        """Play with a position report every second; count the reads and states meanwhile."""
        # A read now puts the next safety poll five minutes off.
        await self.coordinator.async_refresh()
        await self.hass.async_block_till_done()
        before = await self.ask("counts")
        states = len(self.records)
        reports, elapsed = await self.ask("timelines", 1.0, seconds)
        await asyncio.sleep(activity.REFRESH_COOLDOWN)  # a read it asked for, late
        after = await self.ask("counts")
        return Steady(
            reports=reports,
            seconds=elapsed,
            reads=after["sessions"] - before["sessions"],
            clients_reads=after["clients"] - before["clients"],
            states=len(self.records) - states,
        )

    async def artwork(self, renders: int) -> Artwork:
        """Render a new film's picture renders times through the media player proxy."""
        await self.change("stop", "idle", Timing())
        await self.change("start", "playing", Timing())
        current = self.hass.states.get(TV)
        assert current is not None
        picture = current.attributes[ATTR_ENTITY_PICTURE]
        url = f"{self.hass.config.internal_url}{picture}"
        before = (await self.ask("counts"))["images"]
        times: list[float] = []
        statuses: set[int] = set()
        async with aiohttp.ClientSession() as session:
            for _ in range(renders):
                start = time.monotonic()
                async with session.get(url) as response:
                    await response.read()
                    statuses.add(response.status)
                times.append(time.monotonic() - start)
        after = (await self.ask("counts"))["images"]
        return Artwork(renders, after - before, statuses, times[0], times[1:])

    async def memory(self, players: int) -> float:
        """Return tracemalloc's growth per media player while players more get theirs."""
        await self.ask("stop")
        await self.wait_for(lambda: self.state() == "idle", "the TV did not stop")
        await self.settle()
        existing = self.media_players()
        await self.hass.async_block_till_done()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            first = await self.ask("add_players", players)
            # A session on a player Plex Link does not know has it read /clients again.
            await self.ask("play_on", first)
            await self.wait_for(
                lambda: self.media_players() == existing + players,
                f"{players} media players did not appear",
                within=60,
            )
            await self.ask("stop")
            await self.settle()
            await self.hass.async_block_till_done()
            gc.collect()
            return (tracemalloc.get_traced_memory()[0] - before) / players
        finally:
            tracemalloc.stop()


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

    changes: Timing
    seeks: Timing
    seek_reads: int
    commands: Commands
    steady: Steady
    artwork: Artwork
    memory: float


async def _measure(
    connection: Connection, token: str, uuid: str, args: argparse.Namespace
) -> Results:
    """Start Home Assistant, link, measure, stop it."""
    hass = await _start_home_assistant(CONFIG_DIR)
    try:
        bench = Bench(hass, connection)
        await bench.link(token, uuid)
        await bench.changes(len(CYCLE) + 1)  # warm-up
        changes = await bench.changes(args.changes)
        seeks, seek_reads = await bench.seeks(args.seeks)
        commands = await bench.commands(args.commands)
        steady = await bench.steady(min(args.timelines, 290))
        artwork = await bench.artwork(args.renders)
        memory = await bench.memory(args.players)
    finally:
        await hass.async_stop()
    return Results(changes, seeks, seek_reads, commands, steady, artwork, memory)


def _report(results: Results, args: argparse.Namespace) -> None:
    """Print what was measured, and the targets."""
    changes, seeks, commands = results.changes, results.seeks, results.commands
    steady, artwork = results.steady, results.artwork
    print(
        "\nMedia players in Home Assistant (started as by hass), "
        "stand-ins in a process of their own, all on loopback"
    )
    print("Plex Link follows the server's notification websocket (events off).\n")
    print(
        f"{len(changes.all) + changes.lost} session changes (start, pause, resume, stop "
        "in turn), from the server's notification to the media player's new state "
        "(each asks for one read of the sessions):"
    )
    print(f"  {_summary(changes.all)}; {changes.lost} lost")
    if changes.latencies:
        print(
            "  medians by change: "
            + ", ".join(
                f"{kind} {_ms(statistics.median(values))}"
                for kind, values in changes.latencies.items()
            )
        )
    print(
        f"{len(seeks.all) + seeks.lost} seeks of a playing film ({SEEK_MS // 1000} s "
        "ahead, at the player), to the state with the new position:"
    )
    print(
        f"  {_summary(seeks.all)}; {seeks.lost} lost; "
        f"{results.seek_reads} reads of the sessions"
    )
    print(
        f"{len(commands.to_state) + commands.lost} commands (media_pause, media_play "
        "in turn), from the action call:"
    )
    print(
        f"  to the server's receipt of /player/playback/*: {_summary(commands.to_receipt)}"
    )
    print(f"  to the action's return: {_summary(commands.to_return)}")
    print(f"  to the new state: {_summary(commands.to_state)}; {commands.lost} lost")
    print(
        f"One film playing, a position report every second for {steady.seconds:.0f} s "
        f"({steady.reports} reports): {steady.reads} reads of /status/sessions, "
        f"{steady.clients_reads} of /clients, {steady.states} states written (a report "
        "that agrees with the clock is no news)"
    )
    print(
        f"  an hour: {steady.reads_an_hour:.0f} reads of the sessions "
        f"({SAFETY_POLLS_AN_HOUR:.0f} by the 5-minute safety poll, "
        f"{steady.reads_an_hour - SAFETY_POLLS_AN_HOUR:.0f} for the reports), "
        f"{SAFETY_POLLS_AN_HOUR:.0f} of the players (/clients, the same poll); "
        f"{HOUR:.0f} reports"
    )
    print(
        f"{artwork.renders} renders of one film's artwork through Home Assistant's "
        f"media player proxy: {artwork.fetches} image request(s) at the server; "
        f"HTTP {', '.join(str(s) for s in sorted(artwork.statuses))}; first render "
        f"{_ms(artwork.first)}, the others {_summary(artwork.others)}"
    )
    print(
        f"Memory per media player (tracemalloc, {args.players} players added, with "
        f"their devices): {results.memory / 1024:.1f} KB"
    )
    print("\nTargets")
    for name, timing in (("session change", changes), ("seek", seeks)):
        if latencies := timing.all:
            print_target(
                f"p95 <= 20 ms from notification to state ({name})",
                f"{_ms(_p95(latencies))} over {len(latencies)}",
                _p95(latencies) <= 0.02,
            )
    print_target(
        "reads an hour: no more than the safety poll plus one per real change",
        f"{steady.reads_an_hour:.0f} for 0 changes (the safety poll: "
        f"{SAFETY_POLLS_AN_HOUR:.0f})",
        steady.reads == 0,
    )
    print_target(
        f"1 image request for {artwork.renders} renders",
        f"{artwork.fetches}",
        artwork.fetches == 1 and artwork.statuses == {200},
    )
    lost = changes.lost + seeks.lost + commands.lost
    print_target("no change or command lost", f"{lost} lost", lost == 0)


def main() -> None:
    """Start the stand-ins' process, point Plex Link at it and measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--changes", type=int, default=40, help="session changes (whole cycles of 4)"
    )
    parser.add_argument("--seeks", type=int, default=20, help="seeks timed")
    parser.add_argument(
        "--commands", type=int, default=20, help="pause and play actions timed"
    )
    parser.add_argument(
        "--timelines",
        type=float,
        default=60,
        help="seconds of one report a second, for the reads an hour (at most 290)",
    )
    parser.add_argument(
        "--renders", type=int, default=100, help="renders of one picture"
    )
    parser.add_argument(
        "--players", type=int, default=50, help="players added for the memory"
    )
    args = parser.parse_args()
    with standins_in_a_process(_serve_standins, config_dir=CONFIG_DIR) as (
        connection,
        (_, token, uuid),
    ):
        results = asyncio.run(_measure(connection, token, uuid, args))
    _report(results, args)


if __name__ == "__main__":
    main()
