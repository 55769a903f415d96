"""Who is watching what: from a session change at the server to the activity sensors' new state.

Home Assistant starts as bench_setup starts it (as the hass command does, http
on a free loopback port, quiet logger, configuration in
artifacts/bench-activity-home-assistant) with one Plex Link entry for the demo
account. The plex.tv stand-in and the Plex Media Server stand-ins (the demo
server "Media Shelf", then 9 more servers the account owns) serve from a
process of their own, as real servers are. By default events are off and the
servers post no webhook: the sensors follow the servers' notification
websockets alone, as on an account without Plex Pass (--webhooks: events on,
and every change is also posted as a Plex Pass server does).

Latency is from the moment the stand-in changes a session (start, pause,
resume, stop; it then sends its `playing` notification) to the moment the
Watching sensor's new state is written (a state_changed listener in Home
Assistant's process); both read the same monotonic clock. Changes are spaced
so that Plex Link's one-second refresh cooldown never merges them (each waits
for the last one's state, then for the cooldown); quick successions, 100 ms
apart, show what the cooldown costs when it does merge them.

Requests are counted at the stand-ins. Idle, only the 5-minute safety poll
reads: it is scaled down (the followed servers' poll interval set to 5 min /
--scale for about --idle seconds, whole intervals) and the reads are scaled
back up to an hour. Busy
is real time: each server's session pauses or resumes every --busy-every
seconds for --busy seconds. Steady playback is real time too: one film plays
on the demo server while its player reports its timeline (a `playing`
notification with nothing changed) every --steady-every seconds, --steady
times; the reads it cost are scaled up to an hour. CPU is Home Assistant's process time from each
round of changes to its last state, less Home Assistant's idle rate (measured
before any server is followed) and the benchmark's own cost of a round.
Memory is tracemalloc's growth while Plex Link starts following servers
whose devices are already there (plex.tv lists them without their access
token until then): first the demo server, then 9 more.

    python -m benchmarks.bench_activity [--changes 60] [--quick 5] [--servers 1 10]
        [--steady 10] [--steady-every 1]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
import gc
from multiprocessing.connection import Connection
import statistics
import time
import tracemalloc
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID, EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from benchmarks import print_target
from benchmarks.bench_setup import (
    _start_home_assistant,
    linked_entry,
    standins_in_a_process,
)
from custom_components.plex_link import activity
from custom_components.plex_link.const import CONF_EVENTS, DOMAIN
from tests.live import ROOT, StandInThread
from tests.standin import StandInServer
from tests.standin.server import PlexMediaServerStandIn

CONFIG_DIR = ROOT / "artifacts" / "bench-activity-home-assistant"
CLIENT_IDENTIFIER = "bench-plex-link-activity"
CYCLE = ("start", "pause", "resume", "stop")
POLL_INTERVAL = 30.0  # seconds, what a Tautulli-style poller waits between looks
BANDWIDTH = 3000  # kbit/s of each session, transcoded for a player outside the home
WAIT = 15.0  # seconds a change may take to show before it counts as lost
HOUR = timedelta(hours=1)
# One server's step: (index of the server, action, title of the film it starts).
Step = tuple[int, str, str]


# -- The stand-ins' process ---------------------------------------------------


class Servers:
    """The Plex Media Server stand-ins, driven on the stand-ins' loop."""

    def __init__(self, standins: StandInThread, webhooks: bool) -> None:
        """Start from the demo server, its access token held back until follow()."""
        self.standins = standins
        self.webhooks = webhooks
        self.servers: list[PlexMediaServerStandIn] = []
        self.sessions: list[str | None] = []
        self._held: dict[int, str | None] = {}
        self._serve(standins.server)

    def _serve(self, standin: PlexMediaServerStandIn) -> None:
        """Take a server on, holding its access token back.

        plex.tv then lists it without one: Plex Link shows its device and
        entities but does not follow its activity.
        """
        standin.auto_webhooks = self.webhooks
        self._held[len(self.servers)] = standin.server.access_token
        standin.server.access_token = None
        self.servers.append(standin)
        self.sessions.append(None)

    def follow(self) -> None:
        """Let plex.tv list the held tokens again, so Plex Link follows those servers."""
        for index, token in self._held.items():
            self.servers[index].server.access_token = token
        self._held.clear()

    async def add(self, count: int) -> list[str]:
        """Serve count more servers the demo account owns, tokens held back; return their names."""
        demo = self.standins.standin.demo_account
        names = []
        for _ in range(count):
            server = StandInServer(name=f"Bench Shelf {len(self.servers) + 1}")
            standin = PlexMediaServerStandIn(
                self.standins.standin,
                server,
                owner=demo,
            )
            await standin.start()
            self._serve(standin)
            demo.servers.append(server)
            names.append(server.name)
        return names

    async def change(self, index: int, action: str, title: str) -> float:
        """Change one server's session; return the moment the change began."""
        server = self.servers[index]
        moment = time.monotonic()
        if action == "start":
            self.sessions[index] = await server.start_session(
                user="Sam",
                player="Phone",
                title=title,
                transcode=True,
                location="wan",
                bandwidth=BANDWIDTH,
            )
            return moment
        session = self.sessions[index]
        assert session is not None, f"nothing plays on server {index}"
        if action == "stop":
            self.sessions[index] = None
            await server.stop_session(session)
        else:
            await getattr(server, action)(session)
        return moment

    async def changes(self, steps: list[Step], gap: float) -> list[float]:
        """Make the changes gap seconds apart (0: one after another); return their moments."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        moments = []
        for number, step in enumerate(steps):
            await asyncio.sleep(max(0.0, start + number * gap - loop.time()))
            moments.append(await self.change(*step))
        return moments

    async def busy(self, every: float, duration: float) -> int:
        """Pause, then resume, each playing session every `every` seconds; return the changes."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        made = 0
        for tick in range(max(1, round(duration / every))):
            await asyncio.sleep(max(0.0, start + tick * every - loop.time()))
            action = "pause" if tick % 2 == 0 else "resume"
            for index, session in enumerate(self.sessions):
                if session is not None:
                    await self.change(index, action, "")
                    made += 1
        await asyncio.sleep(max(0.0, start + duration - loop.time()))
        return made

    async def steady(self, reports: int, every: float) -> int:
        """Report the demo server's sessions' timelines reports times, every seconds; return the rounds."""
        server = self.servers[0]
        before = server.timeline_reports
        server.start_timelines(every, limit=reports)
        assert server.timeline_task is not None
        await server.timeline_task
        return server.timeline_reports - before

    def counts(self) -> list[tuple[int, int]]:
        """Return each server's (sessions reads, websocket opens) so far."""
        return [
            (server.count("sessions"), server.count("websocket"))
            for server in self.servers
        ]


def _serve_standins(connection: Connection, webhooks: bool) -> None:
    """Serve plex.tv and the servers; do what Home Assistant's process asks, until told to stop.

    Sends the plex.tv URL, a token for the demo account, its uuid and the demo
    server's name first, then answers each (command, *arguments) tuple.
    """
    with StandInThread() as standins:
        demo = standins.standin.demo_account
        token = standins.call(
            lambda: standins.standin.issue_token(demo, CLIENT_IDENTIFIER)
        )
        servers = standins.call(lambda: Servers(standins, webhooks))
        connection.send((standins.url, token, demo.uuid, standins.server.server.name))
        while (command := connection.recv()) is not None:
            name, *arguments = command
            if name == "follow":
                connection.send(standins.call(servers.follow))
            elif name == "add":
                connection.send(standins.run(servers.add(*arguments)))
            elif name == "changes":
                connection.send(standins.run(servers.changes(*arguments), None))
            elif name == "busy":
                connection.send(standins.run(servers.busy(*arguments), None))
            elif name == "steady":
                connection.send(standins.run(servers.steady(*arguments), None))
            elif name == "counts":
                connection.send(standins.call(servers.counts))
            elif name == "webhooks":
                connection.send(standins.call(lambda: list(demo.webhooks)))
            else:
                raise ValueError(f"unknown command {name}")
        for extra in servers.servers[1:]:  # the demo server stops with the thread
            standins.run(extra.stop())


# -- Home Assistant's process -------------------------------------------------


@dataclass(frozen=True)
class Record:
    """A Watching or Transcoding state as it was written."""

    at: float
    state: str
    sessions: tuple[tuple[str, str], ...]  # (title, state) of each session


@dataclass(frozen=True)
class Expected:
    """What a change at a server should show, and on which sensor."""

    entity_id: str
    moment: float
    matches: Callable[[Record], bool]


@dataclass
class Followed:
    """A server Plex Link follows: its sensors."""

    name: str
    watching: str
    transcoding: str


@dataclass
class Timing:
    """Latencies of a series of changes, by kind, and the CPU they took."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    lost: int = 0
    changes: int = 0
    cpu: float = (
        0.0  # process seconds from each change to its state, idle rate deducted
    )

    def add(self, kind: str, latency: float | None) -> None:
        """Count one change, and its latency unless it was lost."""
        self.changes += 1
        if latency is None:
            self.lost += 1
        else:
            self.latencies.setdefault(kind, []).append(latency)

    @property
    def all(self) -> list[float]:
        """Return every latency of the series."""
        return [value for values in self.latencies.values() for value in values]


@dataclass
class Steady:
    """Steady playback: timeline reports with nothing changed, and the reads they cost."""

    reports: int
    seconds: float  # of real time the reports took
    reads: int
    moved: float  # seconds the session's position moved meanwhile

    @property
    def reads_an_hour(self) -> float:
        """Return the reads the reports cost, scaled up to an hour."""
        return self.reads / self.seconds * 3600 if self.seconds else 0.0


@dataclass
class Quick:
    """Quick successions: start, pause, resume, pause, 100 ms apart."""

    from_last: list[float] = field(default_factory=list)
    from_held: list[float] = field(default_factory=list)  # from the 2nd change
    lost: int = 0
    reads: list[int] = field(default_factory=list)
    states: list[int] = field(default_factory=list)


class Bench:
    """One Home Assistant with the demo account's entry, and the stand-ins' process."""

    def __init__(
        self, hass: HomeAssistant, connection: Connection, uuid: str, webhooks: bool
    ) -> None:
        """Record every state the activity sensors write, on the shared monotonic clock."""
        self.hass = hass
        self._connection = connection
        self._uuid = uuid
        self._webhooks = webhooks
        self.records: dict[str, list[Record]] = {}
        self.followed: list[Followed] = []
        self.idle_rate = 0.0  # Home Assistant's process seconds per second, idle
        self.round_cost = 0.0  # process seconds this benchmark spends on a round itself
        self._written = asyncio.Event()
        self._titles = 0
        self.playing: dict[int, str] = {}  # the film each server plays
        self.entry: ConfigEntry[Any] | None = None

        @callback
        def written(event: Event[EventStateChangedData]) -> None:
            now = time.monotonic()
            new_state = event.data["new_state"]
            records = self.records.get(event.data["entity_id"])
            if new_state is None or records is None:
                return
            sessions = tuple(
                (str(session.get("title")), str(session.get("state")))
                for session in new_state.attributes.get("sessions", ())
            )
            records.append(Record(now, new_state.state, sessions))
            self._written.set()

        @callback
        def activity_only(data: EventStateChangedData) -> bool:
            return data["entity_id"] in self.records

        hass.bus.async_listen(EVENT_STATE_CHANGED, written, event_filter=activity_only)

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
                    # Woken by each state, and every 0.1 s for what is not a state.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.1):
                            await self._written.wait()
        except TimeoutError:
            raise TimeoutError(message) from None

    @property
    def coordinators(self) -> list[activity.PlexLinkActivityCoordinator]:
        """Return the entry's activity coordinators."""
        assert self.entry is not None
        return list(self.entry.runtime_data.activity.values())

    def title(self) -> str:
        """Return a new film title, so that each start is told apart."""
        self._titles += 1
        return f"bench {self._titles}"

    async def link(self, token: str) -> None:
        """Add the demo account's entry (events as asked); no server is followed yet."""
        entry = linked_entry(
            "Demo Person",
            self._uuid,
            token,
            CLIENT_IDENTIFIER,
            {CONF_EVENTS: self._webhooks},
        )
        self.entry = entry
        await self.hass.config_entries.async_add(entry)
        assert entry.state is ConfigEntryState.LOADED, entry.state
        if self._webhooks:
            path = webhook.async_generate_path(entry.data[CONF_WEBHOOK_ID])
            deadline = time.monotonic() + 30
            while not [u for u in await self.ask("webhooks") if u.endswith(path)]:
                if time.monotonic() > deadline:
                    raise TimeoutError("Plex Link did not register its webhook")
                await asyncio.sleep(0.1)
        await self.hass.async_block_till_done()
        assert not self.coordinators, "a server is followed before follow()"

    async def add(self, count: int) -> list[str]:
        """Have the account own count more servers, not followed yet: their devices show."""
        assert self.entry is not None
        names: list[str] = await self.ask("add", count)
        await self.entry.runtime_data.coordinator.async_refresh()
        await self.hass.async_block_till_done()
        assert not set(names) & {c.server_name for c in self.coordinators}
        return names

    async def follow(self, names: Sequence[str]) -> None:
        """Refresh plex.tv's list now; wait until these servers' sensors show and their websockets are open."""
        assert self.entry is not None
        await self.ask("follow")
        await self.entry.runtime_data.coordinator.async_refresh()
        registry = er.async_get(self.hass)

        def ready() -> bool:
            by_name = {c.server_name: c for c in self.coordinators}
            return all(
                name in by_name
                and by_name[name].listening
                and by_name[name].update_interval == activity.POLL_INTERVAL
                and registry.async_get_entity_id(
                    "sensor",
                    DOMAIN,
                    f"{self._uuid}_{by_name[name].machine_identifier}_watching",
                )
                for name in names
            )

        await self.wait_for(ready, f"{names} were not followed", within=60)
        by_name = {c.server_name: c for c in self.coordinators}
        known = {followed.name for followed in self.followed}
        for name in names:  # in the stand-ins' order
            if name in known:
                continue
            coordinator = by_name[name]
            # The class Home Assistant loaded is the one this benchmark patches.
            assert isinstance(coordinator, activity.PlexLinkActivityCoordinator)

            def entity(key: str, machine: str = coordinator.machine_identifier) -> str:
                entity_id = registry.async_get_entity_id(
                    "sensor", DOMAIN, f"{self._uuid}_{machine}_{key}"
                )
                assert entity_id is not None
                return entity_id

            followed = Followed(name, entity("watching"), entity("transcoding"))
            self.followed.append(followed)
            self.records[followed.watching] = []
            self.records[followed.transcoding] = []
        await self.hass.async_block_till_done()
        await self.wait_for(
            lambda: all(
                self.hass.states.get(f.watching) is not None
                and self.hass.states.get(f.watching).state == "0"  # type: ignore[union-attr]
                for f in self.followed
            ),
            "the Watching sensors did not show 0",
        )
        # Each new socket's first message is followed by a read and its cooldown.
        await asyncio.sleep(activity.REFRESH_COOLDOWN + 0.2)

    def arrival(self, expected: Expected) -> float | None:
        """Return when the state a change should show was first written after it."""
        return next(
            (
                record.at
                for record in self.records[expected.entity_id]
                if record.at >= expected.moment and expected.matches(record)
            ),
            None,
        )

    def expectations(
        self, step: Step, moment: float, playing: dict[int, str]
    ) -> dict[str, Expected]:
        """Return what a change should show on Watching, and on Transcoding for a start or stop."""
        index, action, title = step
        followed = self.followed[index]
        if action == "start":
            playing[index] = title
        film = playing[index]
        if action == "stop":
            del playing[index]
            return {
                "watching": Expected(
                    followed.watching, moment, lambda r: r.state == "0"
                ),
                "transcoding": Expected(
                    followed.transcoding, moment, lambda r: r.state == "0"
                ),
            }
        state = "paused" if action == "pause" else "playing"
        watching = Expected(
            followed.watching, moment, lambda r: r.sessions == ((film, state),)
        )
        if action != "start":
            return {"watching": watching}
        return {
            "watching": watching,
            "transcoding": Expected(
                followed.transcoding, moment, lambda r: r.state == "1"
            ),
        }

    async def measure_idle_rate(self, seconds: float) -> None:
        """Measure Home Assistant's process seconds per second with nothing to do."""
        await self.hass.async_block_till_done()
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        self.idle_rate = (time.process_time() - cpu) / (time.monotonic() - wall)

    async def measure_round_cost(self, rounds: int = 20) -> None:
        """Measure what a round costs the benchmark itself: asking the stand-ins, waiting."""
        costs = []
        for _ in range(rounds):
            cpu, wall = time.process_time(), time.monotonic()
            await self.ask("changes", [], 0.0)
            await self.wait_for(lambda: True, "")
            costs.append(self.net_cpu(cpu, wall))
        self.round_cost = statistics.median(costs)

    def net_cpu(self, cpu: float, wall: float) -> float:
        """Return the process seconds since (cpu, wall), less the idle rate over the time."""
        return time.process_time() - cpu - self.idle_rate * (time.monotonic() - wall)

    async def run(self, rounds: list[list[Step]]) -> tuple[Timing, Timing]:
        """Make each round's changes, wait for their states, then for the cooldown.

        Returns the Watching and the Transcoding timings, by change; the CPU
        is counted from each round's changes to its last state.
        """
        watching, transcoding = Timing(), Timing()
        for steps in rounds:
            cpu, wall = time.process_time(), time.monotonic()
            moments: list[float] = await self.ask("changes", steps, 0.0)
            # (sensor, change, what it should show)
            expected = [
                (sensor, step[1], expectation)
                for step, moment in zip(steps, moments, strict=True)
                for sensor, expectation in self.expectations(
                    step, moment, self.playing
                ).items()
            ]
            with contextlib.suppress(TimeoutError):  # counted as lost
                await self.wait_for(
                    lambda pending=expected: all(  # type: ignore[misc]
                        self.arrival(e) is not None for _, _, e in pending
                    ),
                    "changes without their state",
                    within=WAIT,
                )
            watching.cpu += self.net_cpu(cpu, wall) - self.round_cost
            for sensor, change, expectation in expected:
                arrived = self.arrival(expectation)
                (transcoding if sensor == "transcoding" else watching).add(
                    change, None if arrived is None else arrived - expectation.moment
                )
            await self.settle()
        return watching, transcoding

    async def settle(self) -> None:
        """Wait past the refresh cooldown, so that the next change is read at once."""
        await asyncio.sleep(activity.REFRESH_COOLDOWN + 0.2)

    async def quick(self, successions: int) -> Quick:
        """Start, pause, resume and pause again 100 ms apart; time the last state.

        The first change is read at once; the cooldown holds the others back
        to one read at its end, which shows the last.
        """
        quick = Quick()
        watching = self.followed[0].watching
        for _ in range(successions):
            before = (await self.counts())[0][0]
            written = len(self.records[watching])
            title = self.title()
            steps: list[Step] = [
                (0, "start", title),
                (0, "pause", ""),
                (0, "resume", ""),
                (0, "pause", ""),
            ]
            moments: list[float] = await self.ask("changes", steps, 0.1)
            expected = Expected(
                watching, moments[-1], lambda r, t=title: r.sessions == ((t, "paused"),)
            )
            with contextlib.suppress(TimeoutError):  # counted as lost
                await self.wait_for(
                    lambda e=expected: self.arrival(e) is not None,  # type: ignore[misc]
                    "the succession's last state did not show",
                    within=WAIT,
                )
            if (arrived := self.arrival(expected)) is None:
                quick.lost += 1
            else:
                quick.from_last.append(arrived - moments[-1])
                quick.from_held.append(arrived - moments[1])
            await self.settle()
            quick.reads.append((await self.counts())[0][0] - before)
            quick.states.append(len(self.records[watching]) - written)
            self.playing[0] = title
            await self.run([[(0, "stop", "")]])
        return quick

    async def steady(self, reports: int, every: float) -> Steady:
        """Play a film on the demo server while its player reports its timeline; count the reads.

        A read first puts the safety poll 5 minutes off, so that a run shorter
        than that counts no poll.
        """
        await self.run([[(0, "start", self.title())]])
        coordinator = next(
            c for c in self.coordinators if c.server_name == self.followed[0].name
        )
        await coordinator.async_refresh()
        await self.settle()
        offset = coordinator.data[0].view_offset_ms or 0
        before = (await self.counts())[0][0]
        wall = time.monotonic()
        sent: int = await self.ask("steady", reports, every)
        elapsed = time.monotonic() - wall
        await self.settle()  # a read a report asked for shows by now
        reads = (await self.counts())[0][0] - before
        moved = ((coordinator.data[0].view_offset_ms or 0) - offset) / 1000
        await self.run([[(0, "stop", "")]])
        return Steady(reports=sent, seconds=elapsed, reads=reads, moved=moved)

    async def counts(self) -> list[tuple[int, int]]:
        """Return each server's (sessions reads, websocket opens) at the stand-ins."""
        counts: list[tuple[int, int]] = await self.ask("counts")
        return counts

    async def idle(self, seconds: float, scale: float) -> tuple[float, int]:
        """Run the safety poll scale times faster for about seconds; return reads an hour per server.

        The reads are counted over whole poll intervals (from a read until
        half an interval past the last one counted), then scaled back up.
        Also returns the websockets opened meanwhile (none, when all goes well).
        """
        coordinators = self.coordinators
        interval = activity.POLL_INTERVAL / scale
        intervals = max(1, round(seconds / interval.total_seconds()))
        for coordinator in coordinators:
            assert coordinator.update_interval == activity.POLL_INTERVAL
            coordinator.update_interval = interval
            # A read now schedules the next poll on the new interval.
            await coordinator.async_refresh()
        before = await self.counts()
        await asyncio.sleep((intervals + 0.5) * interval.total_seconds())
        after = await self.counts()
        for coordinator in coordinators:
            coordinator.update_interval = activity.POLL_INTERVAL
            await coordinator.async_refresh()
        reads = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
        opened = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
        hours = intervals * activity.POLL_INTERVAL.total_seconds() / 3600
        return reads / len(coordinators) / hours, opened

    async def busy(self, every: float, seconds: float) -> tuple[float, float, int]:
        """Start a film on every server, pause or resume it every `every` seconds for seconds.

        Returns per server: reads an hour, changes an hour, and the
        websockets opened meanwhile.
        """
        servers = range(len(self.followed))
        await self.run([[(index, "start", self.title()) for index in servers]])
        await self.settle()  # past a second read's cooldown too (a webhook's)
        before = await self.counts()
        wall = time.monotonic()
        made: int = await self.ask("busy", every, seconds)
        elapsed = time.monotonic() - wall
        after = await self.counts()
        await self.run([[(index, "stop", "") for index in servers]])
        reads = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
        opened = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
        hour = 3600 / elapsed / len(servers)
        return reads * hour, made * hour, opened


def _cycles(servers: int, changes: int, title: Callable[[], str]) -> list[list[Step]]:
    """Return rounds of start, pause, resume, stop on every server at once (whole cycles)."""
    cycles = -(-changes // len(CYCLE))
    return [
        [(index, action, name) for index in range(servers)]
        for _ in range(cycles)
        for action, name in zip(CYCLE, (title(), "", "", ""), strict=True)
    ]


async def _follow_with_memory(bench: Bench, names: Sequence[str]) -> float:
    """Follow more servers; return tracemalloc's growth in bytes."""
    await bench.hass.async_block_till_done()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        await bench.follow(names)
        await bench.hass.async_block_till_done()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@dataclass
class AtScale:
    """What one number of followed servers measured."""

    servers: int
    memory: float  # bytes per followed server
    watching: Timing
    transcoding: Timing
    idle_reads: float  # an hour, per server
    busy_reads: float
    busy_changes: float
    reconnects: int

    @property
    def cpu_per_change(self) -> float:
        """Return process seconds per change of one server's session."""
        return self.watching.cpu / max(self.watching.changes, 1)


async def _measure_at(
    bench: Bench, servers: int, memory: float, args: argparse.Namespace
) -> AtScale:
    """Time changes on every followed server, then count reads idle and busy."""
    rounds = -(-args.changes // servers)  # at least as many changes in all
    watching, transcoding = await bench.run(_cycles(servers, rounds, bench.title))
    idle_reads, idle_opened = await bench.idle(args.idle, args.scale)
    busy_reads, busy_changes, busy_opened = await bench.busy(args.busy_every, args.busy)
    return AtScale(
        servers=servers,
        memory=memory / servers,
        watching=watching,
        transcoding=transcoding,
        idle_reads=idle_reads,
        busy_reads=busy_reads,
        busy_changes=busy_changes,
        reconnects=idle_opened + busy_opened,
    )


async def _measure(
    connection: Connection,
    token: str,
    uuid: str,
    demo_server: str,
    args: argparse.Namespace,
) -> None:
    """Start Home Assistant, link, follow 1 then 10 servers, print the results and stop it."""
    hass = await _start_home_assistant(CONFIG_DIR)
    results: list[AtScale] = []
    quick: Quick | None = None
    steady: Steady | None = None
    try:
        bench = Bench(hass, connection, uuid, args.webhooks)
        await bench.link(token)
        await asyncio.sleep(2)  # what Home Assistant still does after starting
        await bench.measure_idle_rate(args.baseline)
        await bench.measure_round_cost()
        memory = await _follow_with_memory(bench, [demo_server])
        await bench.run(_cycles(1, len(CYCLE), bench.title))  # warm-up
        for servers in sorted(args.servers):
            if servers > len(bench.followed):
                names = await bench.add(servers - len(bench.followed))
                memory += await _follow_with_memory(
                    bench, [f.name for f in bench.followed] + names
                )
            if servers == 1 and args.quick:
                quick = await bench.quick(args.quick)
            if servers == 1 and args.steady:
                steady = await bench.steady(args.steady, args.steady_every)
            results.append(await _measure_at(bench, servers, memory, args))
    finally:
        await hass.async_stop()
    _report(results, quick, steady, bench, args)


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
    return (
        f"median {_ms(statistics.median(values))}, p95 {_ms(_p95(values))}, "
        f"max {_ms(max(values))}"
    )


def _report(
    results: list[AtScale],
    quick: Quick | None,
    steady: Steady | None,
    bench: Bench,
    args: argparse.Namespace,
) -> None:
    """Print what was measured, and the targets."""
    path = (
        "the notification websockets and the servers' webhook posts (events on)"
        if args.webhooks
        else "the notification websockets alone (events off, no webhook post)"
    )
    print(
        "\nWho is watching what in Home Assistant (started as by hass), "
        "stand-ins in a process of their own, all on loopback"
    )
    print(f"Plex Link follows {path}.")
    print(
        f"Deducted from the CPU below: Home Assistant's own when idle, "
        f"{_ms(bench.idle_rate)} a second, and this benchmark's own per round of "
        f"changes (asking the stand-ins' process, waiting), {_ms(bench.round_cost)}\n"
    )
    for result in results:
        timing = result.watching
        servers = f"{result.servers} server{'s' if result.servers > 1 else ''}"
        together = "" if result.servers == 1 else f", on all {servers} at once"
        print(
            f"{servers}: {timing.changes} changes (start, pause, resume, stop in "
            f"turn{together}), from the change at the server to the Watching "
            "sensor's new state:"
        )
        if latencies := timing.all:
            median, p95 = statistics.median(latencies), _p95(latencies)
            print(f"  {_summary(latencies)}; {timing.lost} lost")
            print(
                "  medians by change: "
                + ", ".join(
                    f"{kind} {_ms(statistics.median(values))}"
                    for kind, values in timing.latencies.items()
                )
            )
            if result.transcoding.all:
                print(
                    f"  to the Transcoding sensor's (start, stop): "
                    f"{_summary(result.transcoding.all)}; {result.transcoding.lost} lost"
                )
            poll_median, poll_p95 = POLL_INTERVAL / 2, 0.95 * POLL_INTERVAL
            print(
                f"  a {POLL_INTERVAL:.0f} s poll (a poll-based tool) shows a change at a "
                f"random moment after {poll_median:.1f} s median, {poll_p95:.1f} s p95 "
                f"({POLL_INTERVAL:.0f} s at worst): {poll_median / median:,.0f}x and "
                f"{poll_p95 / p95:,.0f}x these"
            )
        else:
            print(f"  no change showed; {timing.lost} lost")
        if result.servers == 1 and quick is not None:
            print(
                f"  {len(quick.reads)} quick successions (start, pause, resume, pause "
                "100 ms apart; the 1 s cooldown holds all but the first back): "
                "the last state shows "
                + (
                    f"{_summary(quick.from_last)} after the last change, "
                    f"{_summary(quick.from_held)} after the 2nd"
                    if quick.from_last
                    else "never"
                )
                + f"; {quick.lost} lost; {statistics.mean(quick.reads):.1f} reads and "
                f"{statistics.mean(quick.states):.1f} states each"
            )
        if result.servers == 1 and steady is not None:
            print(
                f"  steady playback, the player reporting its timeline every "
                f"{args.steady_every:g} s with nothing changed ({steady.reports} "
                f"reports in {steady.seconds:.1f} s): {steady.reads} reads while the "
                f"position Plex Link shows moved {steady.moved:.1f} s; "
                f"/status/sessions reads an hour: {steady.reads_an_hour:,.0f} from the "
                f"reports, plus {HOUR / activity.POLL_INTERVAL:.0f} from the 5-minute "
                "safety poll"
            )
        print(
            f"  requests per server and hour at the server: idle "
            f"{result.idle_reads:.1f} reads (the 5 min poll run {args.scale:g}x faster "
            f"for {args.idle:g} s, reads scaled back), busy {result.busy_reads:.0f} "
            f"reads for {result.busy_changes:.0f} changes (one every "
            f"{args.busy_every:g} s for {args.busy:g} s, real time); "
            f"{result.reconnects} websockets reopened; besides, 120 websocket pings "
            "an hour (30 s heartbeat)"
        )
        per_change = result.cpu_per_change
        print(
            f"  per followed server: memory {result.memory / 1024:.0f} KB "
            f"(tracemalloc), CPU {_ms(per_change)} per change (process time from "
            f"the changes to their states); an hour, at that CPU per read: idle "
            f"{_ms(result.idle_reads * per_change)}, busy "
            f"{_ms(result.busy_reads * per_change)}"
        )
    print("\nTargets")
    for result in results:
        if latencies := result.watching.all:
            print_target(
                f"p95 < 2 s from the change to the state ({result.servers} server"
                f"{'s' if result.servers > 1 else ''})",
                f"{_ms(_p95(latencies))} over {len(latencies)} changes",
                _p95(latencies) < 2,
            )
    if steady is not None:
        print_target(
            "steady playback costs no more reads than the safety poll",
            f"{steady.reads_an_hour:,.0f} reads an hour besides it",
            steady.reads == 0,
        )
    lost = sum(r.watching.lost + r.transcoding.lost for r in results)
    lost += quick.lost if quick else 0
    print_target("no change lost", f"{lost} lost", lost == 0)


def main() -> None:
    """Start the stand-ins' process, point Plex Link at it and measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--changes", type=int, default=60, help="changes timed one after another"
    )
    parser.add_argument(
        "--quick",
        type=int,
        default=5,
        help="quick successions (4 changes 100 ms apart)",
    )
    parser.add_argument(
        "--servers", type=int, nargs="+", default=[1, 10], help="servers followed"
    )
    parser.add_argument(
        "--baseline", type=float, default=5, help="seconds of Home Assistant idle"
    )
    parser.add_argument(
        "--idle", type=float, default=30, help="seconds of the scaled idle run"
    )
    parser.add_argument(
        "--scale", type=float, default=100, help="how much faster the idle poll runs"
    )
    parser.add_argument(
        "--busy", type=float, default=60, help="seconds of the busy run (real time)"
    )
    parser.add_argument(
        "--busy-every", type=float, default=10, help="seconds between busy changes"
    )
    parser.add_argument(
        "--steady",
        type=int,
        default=10,
        help="timeline reports of steady playback (0: none)",
    )
    parser.add_argument(
        "--steady-every",
        type=float,
        default=1.0,
        help="seconds between timeline reports (1: a chatty player)",
    )
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="events on, and the servers post every change as a Plex Pass server does",
    )
    args = parser.parse_args()
    with standins_in_a_process(
        _serve_standins, args.webhooks, config_dir=CONFIG_DIR
    ) as (connection, (_, token, uuid, demo_server)):
        asyncio.run(_measure(connection, token, uuid, demo_server, args))


if __name__ == "__main__":
    main()
