"""Link latency and plex.tv cost: Plex Link's PIN linker beside python-plexapi and python-plexauth.

One plex.tv stand-in serves all three clients. Links start interleaved (A B C A
B C ...) and run at the same time, so the machine's noise hits all alike. The
stand-in approves each PIN at a random moment 2 to 10 s after it was created,
the same moment for each client's n-th link: how long a client then takes
depends on where the approval falls between its polls, so moments that differ
per client would compare luck rather than clients.
The asyncio clients share one event loop and aiohttp session, as inside Home
Assistant. CPU time and peak memory are measured per client in a process of its own.

    python -m benchmarks.bench_link [--links 30] [--cancel 5] [--cost-links 5]
                                    [--answer-delay 0.15]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from typing import Any

import aiohttp
import plexapi.myplex
import plexauth

from benchmarks import print_target
from custom_components.plex_link.plextv import PinLinker, PlexTvClient, PlexTvIdentity
from tests.live import ROOT, LoopThread, StandInThread
from tests.standin import Fault

IDENTITY = PlexTvIdentity(
    client_identifier="bench-plex-link",
    product="Plex Link bench",
    version="1",
    platform="bench",
    platform_version="1",
    device="bench",
    device_name="bench",
)
CLIENTS = ("plex_link", "plexapi", "plexauth")
NOTES = {
    "plex_link": "4-character code, about 1 poll/s",
    "plexapi": "MyPlexPinLogin, 4-character code, XML, 1 poll/s in a thread",
    "plexauth": "PlexAuth, strong PIN (approved the same way), 1 poll/3 s",
}


@dataclass
class Link:
    """One link: its PIN, when it was created, approved and finished, and its token."""

    client: str
    pin_id: int = 0
    created: float = 0.0
    approved: float = 0.0
    finished: float = 0.0
    token: str | None = None
    cancelled_at: float | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    def started(self, pin_id: int) -> None:
        """Note that the client has its PIN, so the approver can schedule it."""
        self.pin_id, self.created = pin_id, time.monotonic()
        self.ready.set()

    def linked(self, token: str | None) -> None:
        """Note the token and when it arrived."""
        self.token, self.finished = token, time.monotonic()


@dataclass
class Harness:
    """Where the clients run: the stand-in, and one event loop and aiohttp session.

    The asyncio clients share them, as integrations share Home Assistant's.
    """

    url: str
    loop: LoopThread
    session: aiohttp.ClientSession


@contextmanager
def start_harness(url: str) -> Iterator[Harness]:
    """Start an event loop with one aiohttp session for the clients to share."""

    async def new_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    with LoopThread() as loop:
        session = loop.run(new_session())
        try:
            yield Harness(url, loop, session)
        finally:
            loop.run(session.close())


async def _wait_or_cancel(
    link: Link, waiting: Coroutine[Any, Any, str | None], cancel_after: float | None
) -> None:
    """Wait for an asyncio client's token, or cancel the wait after cancel_after seconds."""
    task = asyncio.create_task(waiting)
    if cancel_after is None:
        link.linked(await task)
        return
    await asyncio.sleep(cancel_after)
    task.cancel()
    link.cancelled_at = time.monotonic()


def _plex_link(link: Link, harness: Harness, cancel_after: float | None) -> None:
    """Link with Plex Link's PinLinker on the shared loop and session."""

    async def run() -> None:
        client = PlexTvClient(harness.session, IDENTITY, base_url=harness.url)
        linker = await PinLinker.create(client)
        link.started(linker.pin.id)
        await _wait_or_cancel(link, linker.wait_for_token(), cancel_after)

    harness.loop.run(run(), timeout=None)


def _plexapi(link: Link, harness: Harness, cancel_after: float | None) -> None:
    """Link with python-plexapi's MyPlexPinLogin, which polls in a thread of its own."""
    plexapi.myplex.MyPlexPinLogin.PINS = f"{harness.url}/api/v2/pins"
    login = plexapi.myplex.MyPlexPinLogin(
        headers={"X-Plex-Client-Identifier": "bench-plexapi"}
    )
    login.run(timeout=60)
    link.started(int(login._id))
    if cancel_after is None:
        login.waitForLogin()
        link.linked(login.token)
        return
    time.sleep(cancel_after)
    login.stop()
    link.cancelled_at = time.monotonic()


def _plexauth(link: Link, harness: Harness, cancel_after: float | None) -> None:
    """Link with python-plexauth's PlexAuth (strong PIN, polls every 3 s).

    It gets the shared session, as in Home Assistant's core Plex integration.
    """
    plexauth.CODES_URL = f"{harness.url}/api/v2/pins.json?strong=true"
    plexauth.TOKEN_URL = f"{harness.url}/api/v2/pins/{{}}"

    async def run() -> None:
        payload = {"X-Plex-Product": "bench"}
        async with plexauth.PlexAuth(payload, harness.session) as auth:
            await auth.initiate_auth()
            link.started(int(auth._identifier))
            await _wait_or_cancel(link, auth.token(timeout=60), cancel_after)

    harness.loop.run(run(), timeout=None)


RUNNERS: dict[str, Callable[[Link, Harness, float | None], None]] = {
    "plex_link": _plex_link,
    "plexapi": _plexapi,
    "plexauth": _plexauth,
}


def _start(
    links: list[Link], harness: Harness, cancel_after: float | None, gap: float = 0.2
) -> list[threading.Thread]:
    """Start each link in a thread of its own, gap seconds apart, in the order given."""
    threads = []
    for link in links:
        thread = threading.Thread(
            target=RUNNERS[link.client], args=(link, harness, cancel_after)
        )
        thread.start()
        threads.append(thread)
        time.sleep(gap)
    return threads


def _approval_delays(count: int, rng: random.Random) -> list[float]:
    """Return count random moments in 2 to 10 s, one in each of count equal slices.

    A client's latency is where the approval falls between its polls; slices
    cover those phases evenly, so a small sample measures the client, not luck.
    """
    delays = [2 + 8 * (slice_ + rng.random()) / count for slice_ in range(count)]
    rng.shuffle(delays)
    return delays


def _approve(standin: StandInThread, pin_id: int) -> float:
    """Enter a PIN's code at the stand-in, as a person does, and return when."""
    plex_tv = standin.standin
    standin.call(lambda: plex_tv.approve(plex_tv.pins[pin_id].code))
    return time.monotonic()


def _approve_later(standin: StandInThread, link: Link, delay: float) -> None:
    """Approve the link's PIN delay seconds after it was created."""
    link.ready.wait(30)
    time.sleep(max(link.created + delay - time.monotonic(), 0))
    link.approved = _approve(standin, link.pin_id)


def _polls(standin: StandInThread, link: Link, after: float = 0.0) -> int:
    """Count the polls of the link's PIN that the stand-in received after a moment."""
    path = f"/api/v2/pins/{link.pin_id}"
    requests = standin.call(lambda: list(standin.standin.requests))
    return sum(1 for r in requests if r.path == path and r.at > after)


def _percentile(values: list[float], share: float) -> float:
    """Return the value below which the given share of values lies."""
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def _announced(link: Link, shared: Harness) -> threading.Thread:
    """Start a link and print its PIN id for the parent process to approve."""
    (thread,) = _start([link], shared, None, gap=0)
    link.ready.wait(30)
    print(f"pin {link.pin_id}", flush=True)
    return thread


def _measure_cost(client: str, url: str, links: int) -> None:
    """Measure one client in this process: CPU per link, then the peak memory of one link.

    Prints "pin <id>" for each link for the parent to approve, then "cost <json>".
    A first link, cancelled, warms up imports and connections.
    """
    with start_harness(url) as shared:
        RUNNERS[client](Link(client), shared, 0.5)
        batch = [Link(client) for _ in range(links)]
        cpu = time.process_time()
        for thread in [_announced(link, shared) for link in batch]:
            thread.join()
        cpu = (time.process_time() - cpu) / links

        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        last = Link(client)
        _announced(last, shared).join()
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
    assert all(link.token for link in [*batch, last]), f"{client} did not link"
    print("cost", json.dumps({"cpu": cpu, "peak": peak}), flush=True)


def _cost(standin: StandInThread, client: str, links: int) -> dict[str, float]:
    """Run _measure_cost in a fresh process, approving its links 2 to 10 s after creation."""
    delays = iter([2 + 8 * i / max(links - 1, 1) for i in range(links)] + [2.0])
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_link",
            "--cost",
            client,
            "--url",
            standin.url,
            "--cost-links",
            str(links),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    result: dict[str, float] = {}
    for line in process.stdout:
        kind, value = line.split(maxsplit=1)
        if kind == "pin":
            threading.Timer(next(delays), _approve, (standin, int(value))).start()
        elif kind == "cost":
            result = json.loads(value)
    if process.wait() or not result:
        raise RuntimeError(f"Measuring {client} failed")
    return result


def _import_ms(prelude: str) -> float:
    """Return the cumulative ms of importing the package and all its modules after prelude."""
    package = ROOT / "custom_components" / "plex_link"
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
    )
    code = "\n".join([prelude, *(f"import {module}" for module in modules)])
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    total = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if name.startswith(" custom_components"):
            total += int(cumulative)
    return total / 1000


def _parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=30, help="links per client")
    parser.add_argument(
        "--cancel", type=int, default=5, help="cancelled links per client"
    )
    parser.add_argument(
        "--cost-links", type=int, default=5, help="links per client for CPU time"
    )
    parser.add_argument(
        "--answer-delay",
        type=float,
        default=0.0,
        help="seconds plex.tv takes to answer a poll (its distance; 0: loopback)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cost", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parser.parse_args()


def _run_links(
    standin: StandInThread, args: argparse.Namespace
) -> tuple[list[Link], list[Link]]:
    """Run the approved links, then the cancelled ones; return both."""
    delays = _approval_delays(args.links, random.Random(args.seed))
    paired = [(Link(client), delay) for delay in delays for client in CLIENTS]
    approvers = [
        threading.Thread(target=_approve_later, args=(standin, link, delay))
        for link, delay in paired
    ]
    cancelled = [Link(client) for _ in range(args.cancel) for client in CLIENTS]
    with start_harness(standin.url) as shared:
        for approver in approvers:
            approver.start()
        for thread in _start([link for link, _ in paired], shared, None):
            thread.join()
        for approver in approvers:
            approver.join()
        for thread in _start(cancelled, shared, 3.0):
            thread.join()
        time.sleep(3.5)  # long enough for a plexauth poll that was still due
    return [link for link, _ in paired], cancelled


def _summarize(
    standin: StandInThread, links: list[Link], cancelled: list[Link], client: str
) -> dict[str, Any]:
    """Return one client's latencies, requests and requests after cancellation."""
    done = [link for link in links if link.client == client]
    assert all(link.token for link in done), f"{client} did not link every time"
    requests = [_polls(standin, link) + 1 for link in done]
    waited = [link.finished - link.created for link in done]
    return {
        "latency": [link.finished - link.approved for link in done],
        "requests": requests,
        "rate": sum(r - 1 for r in requests) / sum(waited),
        "after": sum(
            _polls(standin, link, (link.cancelled_at or 0) + 0.05)
            for link in cancelled
            if link.client == client
        ),
    }


def _print_table(
    args: argparse.Namespace,
    summary: dict[str, dict[str, Any]],
    costs: dict[str, dict[str, float]],
) -> None:
    """Print what the run did and one row per client."""
    print(
        f"\nLink latency and plex.tv cost. Links per client: {args.links} started "
        f"interleaved, {args.cancel} cancelled after 3 s. Polls answered after "
        f"{args.answer_delay:.2f} s.\n"
        f"CPU: {args.cost_links} more per client, in a process of its own; "
        "peak: traced memory while one more link runs (after a warm-up link); 256 KB\n"
        "of the asyncio clients' peak is asyncio's socket read buffer, shrunk after each read.\n"
    )
    header = (
        f"{'client':<10} {'median s':>9} {'p95 s':>6} {'max s':>6} {'req/link':>9} "
        f"{'req/s waited':>13} {'after cancel':>13} {'CPU ms/link':>12} "
        f"{'peak KB':>8}  notes"
    )
    print(header)
    print("-" * len(header))
    for client, row in summary.items():
        latency = row["latency"]
        print(
            f"{client:<10} {statistics.median(latency):>9.2f} "
            f"{_percentile(latency, 0.95):>6.2f} {max(latency):>6.2f} "
            f"{statistics.mean(row['requests']):>9.1f} {row['rate']:>13.2f} "
            f"{row['after']:>13d} {1000 * costs[client]['cpu']:>12.1f} "
            f"{costs[client]['peak'] / 1024:>8.0f}  {NOTES[client]}"
        )


def _print_targets(summary: dict[str, dict[str, Any]]) -> None:
    """Print the ratios against the peers, then each target, met or not."""
    median = {
        client: statistics.median(row["latency"]) for client, row in summary.items()
    }
    ours = summary["plex_link"]
    print("\nRatios (Plex Link / peer)")
    for peer in ("plexapi", "plexauth"):
        print(
            f"  latency vs {peer}: {median['plex_link'] / median[peer]:.2f}   "
            f"requests per second waited vs {peer}: {ours['rate'] / summary[peer]['rate']:.2f}"
        )
    running = _import_ms("import homeassistant.bootstrap")
    fresh = _import_ms("")
    print("\nTargets")
    print_target(
        f"median latency <= plexapi's ({median['plexapi']:.2f} s) and <= half "
        f"of plexauth's ({median['plexauth'] / 2:.2f} s)",
        f"{median['plex_link']:.2f} s",
        median["plex_link"] <= min(median["plexapi"], median["plexauth"] / 2),
    )
    print_target(
        "<= 1.1 plex.tv requests per second waited",
        f"{ours['rate']:.2f}",
        ours["rate"] <= 1.1,
    )
    print_target(
        "zero requests after cancellation", str(ours["after"]), not ours["after"]
    )
    print_target(
        "import of the package and its platforms < 100 ms cumulative, in a running "
        "Home Assistant",
        f"{running:.0f} ms (in a fresh interpreter, Home Assistant included: {fresh:.0f} ms)",
        running < 100,
    )


def main() -> None:
    """Run the links, the cancellations, the cost per client and the import timing."""
    args = _parse_args()
    if args.cost:
        _measure_cost(args.cost, args.url, args.cost_links)
        return
    with StandInThread() as standin:
        if args.answer_delay:
            slow = Fault(delay=args.answer_delay, then_answer=True)
            standin.call(lambda: standin.standin.inject("get_pin", slow, times=None))
        links, cancelled = _run_links(standin, args)
        costs = {client: _cost(standin, client, args.cost_links) for client in CLIENTS}
        summary = {
            client: _summarize(standin, links, cancelled, client) for client in CLIENTS
        }
    _print_table(args, summary, costs)
    _print_targets(summary)


if __name__ == "__main__":
    main()
