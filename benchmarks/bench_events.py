"""Plex events in Home Assistant: from the server's POST to the event entity's new state.

Home Assistant starts as bench_setup starts it (as the hass command does, http
on a free loopback port that is also its internal URL, quiet logger, configuration in
artifacts/bench-events-home-assistant) with one Plex Link entry for the demo
account, events on. The plex.tv stand-in and the Plex Media Server stand-in of
the demo server serve from a process of their own, as a real server is one;
the server posts real multipart playback events (payload and, for some, a
poster) to the webhook Plex Link registered at plex.tv.

Latency is from the moment the server starts its POST to the moment the
Playback entity's new state is written (a state_changed listener in Home
Assistant's process); both read the same monotonic clock. Each event carries
its own title, so every state is matched to its post and none is lost unseen.

    python -m benchmarks.bench_events [--events 200] [--burst 400] [--rates 100 400 1600 3200]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import itertools
from multiprocessing.connection import Connection
from pathlib import Path
import statistics
import time
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID, EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback

from benchmarks import print_target
from benchmarks.bench_setup import (
    _start_home_assistant,
    linked_entry,
    standins_in_a_process,
)
from custom_components.plex_link.plexserver import webhook as plexserver_webhook
from tests.live import ROOT, StandInThread
from tests.standin.server import PlexMediaServerStandIn, StandInItem, item_metadata

CONFIG_DIR = ROOT / "artifacts" / "bench-events-home-assistant"
CLIENT_IDENTIFIER = "bench-plex-link-events"
PLAYBACK = "event.media_shelf_playback"
# Every event the Playback entity reports, in a fixed order; media.play,
# media.rate and playback.started carry a poster part, as a real server's do.
PLAYBACK_EVENTS = tuple(sorted(plexserver_webhook.PLAYBACK_EVENTS))
POLL_INTERVAL = 30.0  # seconds, what a Tautulli-style poller waits between looks
WARM_UP = 5
# (title, when the POST started, HTTP status Home Assistant answered)
Post = tuple[str, float, int]


async def _post_one(server: PlexMediaServerStandIn, event: str, title: str) -> Post:
    """Post one event for a new item called title; return when the POST started."""
    metadata = item_metadata(StandInItem(title=title))
    started = time.monotonic()
    statuses = await server.post_event(event, metadata=metadata)
    assert len(statuses) == 1, f"expected one webhook at plex.tv, posted to {statuses}"
    return title, started, statuses[0]


async def _post_all(
    server: PlexMediaServerStandIn, titles: list[str], rate: float | None
) -> list[Post]:
    """Post one event per title: one after another (rate None), or started rate per second."""
    events = itertools.cycle(PLAYBACK_EVENTS)
    if rate is None:
        return [await _post_one(server, next(events), title) for title in titles]
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for number, title in enumerate(titles):
        await asyncio.sleep(max(0.0, start + number / rate - loop.time()))
        tasks.append(asyncio.create_task(_post_one(server, next(events), title)))
    return list(await asyncio.gather(*tasks))


def _serve_standins(connection: Connection) -> None:
    """Serve plex.tv and the demo server; post events when told to, until told to stop.

    Sends the plex.tv URL, a token for the demo account and its uuid first;
    then answers ("webhooks",) with the account's webhook list and
    ("post", titles, rate) with the posts made.
    """
    with StandInThread() as standins:
        demo = standins.standin.demo_account
        token = standins.call(
            lambda: standins.standin.issue_token(demo, CLIENT_IDENTIFIER)
        )
        connection.send((standins.url, token, demo.uuid))
        while (command := connection.recv()) is not None:
            if command[0] == "webhooks":
                connection.send(standins.call(lambda: list(demo.webhooks)))
            else:
                _, titles, rate = command
                connection.send(
                    standins.run(_post_all(standins.server, titles, rate), None)
                )


@dataclass
class Phase:
    """What one series of posts measured."""

    posts: list[Post]
    arrivals: dict[str, float]
    states: int

    @property
    def latencies(self) -> list[float]:
        """Return seconds from each POST's start to its state, for the posts that arrived."""
        return [
            self.arrivals[title] - started
            for title, started, _ in self.posts
            if title in self.arrivals
        ]

    @property
    def lost(self) -> int:
        """Return how many posts got no answer 200 or no state of their own."""
        return sum(
            1
            for title, _, status in self.posts
            if status != 200 or title not in self.arrivals
        )

    @property
    def handled_rate(self) -> float:
        """Return the states written per second, first state to last."""
        return _rate(list(self.arrivals.values()))

    @property
    def post_rate(self) -> float:
        """Return the POSTs started per second (what the server managed to offer)."""
        return _rate([started for _, started, _ in self.posts])


def _rate(moments: list[float]) -> float:
    """Return how many per second happened at these moments (intervals over the span)."""
    if len(moments) < 2:
        return 0.0
    return (len(moments) - 1) / max(max(moments) - min(moments), 1e-9)


class Bench:
    """One Home Assistant with one Plex Link entry, and the stand-ins' process."""

    def __init__(self, hass: HomeAssistant, connection: Connection) -> None:
        """Listen for the Playback entity's states, recording when each title arrives."""
        self.hass = hass
        self._connection = connection
        self._arrivals: dict[str, float] = {}
        self._states = 0
        self._titles = (f"bench {number}" for number in itertools.count())

        @callback
        def arrived(event: Event[EventStateChangedData]) -> None:
            now = time.monotonic()
            new_state = event.data["new_state"]
            if new_state is None:
                return
            title = new_state.attributes.get("title")
            if isinstance(title, str) and title.startswith("bench "):
                self._states += 1
                self._arrivals.setdefault(title, now)

        @callback
        def playback_only(data: EventStateChangedData) -> bool:
            return data["entity_id"] == PLAYBACK

        hass.bus.async_listen(EVENT_STATE_CHANGED, arrived, event_filter=playback_only)

    async def ask(self, *command: Any) -> Any:
        """Send the stand-ins' process a command and wait for its answer off the loop."""
        self._connection.send(command)
        return await self.hass.async_add_executor_job(self._connection.recv)

    async def wait_for(
        self, check: Callable[[], Any], message: str, within: float = 30
    ) -> None:
        """Let Home Assistant run until check() is truthy; fail after within seconds."""
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(message)
            await asyncio.sleep(0.05)

    async def link(self, token: str, uuid: str) -> str:
        """Add the demo account's entry, events on by default; return its webhook URL."""
        entry = linked_entry("Demo Person", uuid, token, CLIENT_IDENTIFIER)
        await self.hass.config_entries.async_add(entry)
        assert entry.state is ConfigEntryState.LOADED, entry.state
        await self.wait_for(
            lambda: self.hass.states.get(PLAYBACK) is not None,
            f"{PLAYBACK} did not appear",
        )
        path = webhook.async_generate_path(entry.data[CONF_WEBHOOK_ID])
        deadline = time.monotonic() + 30
        while not [url for url in await self.ask("webhooks") if url.endswith(path)]:
            if time.monotonic() > deadline:
                raise TimeoutError("Plex Link did not register its webhook at plex.tv")
            await asyncio.sleep(0.1)
        return f"{self.hass.config.internal_url}{path}"

    async def run(self, count: int, rate: float | None) -> Phase:
        """Have the server post count events (one after another, or at rate per second)."""
        titles = [next(self._titles) for _ in range(count)]
        states_before = self._states
        posts: list[Post] = await self.ask("post", titles, rate)
        # Home Assistant answers after writing the state; allow for stragglers anyway.
        answered = [title for title, _, status in posts if status == 200]
        with contextlib.suppress(TimeoutError):  # counted as lost
            await self.wait_for(
                lambda: all(title in self._arrivals for title in answered),
                "answered events without a state",
                within=5,
            )
        return Phase(
            posts=posts,
            arrivals={t: self._arrivals[t] for t in titles if t in self._arrivals},
            states=self._states - states_before,
        )


def _ms(seconds: float) -> str:
    """Return seconds as milliseconds, one decimal."""
    return f"{1000 * seconds:.1f} ms"


def _p95(values: list[float]) -> float:
    """Return the 95th percentile (the largest value below 20 samples)."""
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20)[-1]


async def _measure(
    config_dir: Path,
    connection: Connection,
    token: str,
    uuid: str,
    args: argparse.Namespace,
) -> None:
    """Start Home Assistant, link, post, print the results and stop it."""
    hass = await _start_home_assistant(config_dir)
    try:
        bench = Bench(hass, connection)
        url = await bench.link(token, uuid)
        await bench.run(WARM_UP, None)
        sequential = await bench.run(args.events, None)
        bursts = {rate: await bench.run(args.burst, rate) for rate in args.rates}
    finally:
        await hass.async_stop()

    latencies = sequential.latencies
    print(
        "\nPlex events in Home Assistant (started as by hass), "
        "stand-ins in a process of their own, all on loopback"
    )
    print(f"Webhook: {url.rsplit('/', 1)[0]}/<id> (Home Assistant's internal URL)\n")
    print(
        f"{args.events} events one after another "
        f"({', '.join(PLAYBACK_EVENTS)} in turn), "
        "from the server's POST to the Playback entity's new state:"
    )
    if latencies:
        median, p95 = statistics.median(latencies), _p95(latencies)
        print(
            f"  median {_ms(median)}, p95 {_ms(p95)}, max {_ms(max(latencies))}; "
            f"{sequential.lost} lost, {sequential.states} states for "
            f"{len(sequential.posts)} posts"
        )
        poll_median, poll_p95 = POLL_INTERVAL / 2, 0.95 * POLL_INTERVAL
        print(
            f"  a {POLL_INTERVAL:.0f} s poll (Tautulli-style) would add, for an event at "
            f"a random moment, {poll_median:.1f} s median and {poll_p95:.1f} s p95: "
            f"{poll_median / median:,.0f}x and {poll_p95 / p95:,.0f}x these"
        )
    else:
        print(f"  no event arrived; {sequential.lost} lost")
    print(f"Bursts of {args.burst} events, POSTs started at a fixed rate:")
    for rate, phase in bursts.items():
        burst_latencies = phase.latencies
        print(
            f"  {rate:>6g}/s offered: POSTs started at {phase.post_rate:.0f}/s, "
            f"states written at {phase.handled_rate:.0f}/s, {phase.lost} lost"
            + (
                f", median {_ms(statistics.median(burst_latencies))}, "
                f"p95 {_ms(_p95(burst_latencies))}, max {_ms(max(burst_latencies))}"
                if burst_latencies
                else ""
            )
        )
    lossless = [phase for phase in bursts.values() if phase.lost == 0]
    if lossless:
        best = max(phase.handled_rate for phase in lossless)
        print(f"  the most handled with none lost: {best:.0f} events/s")
    print("\nTargets")
    if latencies:
        print_target(
            "p95 < 50 ms from POST to state",
            f"{_ms(_p95(latencies))} over {len(latencies)} events",
            _p95(latencies) < 0.05,
        )
    print_target(
        "no event lost",
        f"{sequential.lost + sum(p.lost for p in bursts.values())} lost",
        sequential.lost + sum(p.lost for p in bursts.values()) == 0,
    )


def main() -> None:
    """Start the stand-ins' process, point Plex Link at it and measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--events", type=int, default=200, help="events posted one after another"
    )
    parser.add_argument("--burst", type=int, default=400, help="events per burst")
    parser.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=[100, 400, 1600, 3200],
        help="events per second offered in the bursts",
    )
    args = parser.parse_args()
    with standins_in_a_process(_serve_standins, config_dir=CONFIG_DIR) as (
        connection,
        (_, token, uuid),
    ):
        asyncio.run(_measure(CONFIG_DIR, connection, token, uuid, args))


if __name__ == "__main__":
    main()
