"""Link latency and plex.tv cost: Plex Link's PIN linker beside python-plexapi and python-plexauth.

One plex.tv stand-in serves all three clients. Links start interleaved (A B C A
B C ...) and run at the same time, so the machine's noise hits all alike; the
stand-in approves each PIN at a random moment 2 to 10 s after it was created.

    python -m benchmarks.bench_link [--links 30] [--cancel 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
import random
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import aiohttp
import plexapi.myplex
import plexauth

from custom_components.plex_link.plextv import PinLinker, PlexTvClient, PlexTvIdentity
from tests.live import ROOT, StandInThread

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
    """One link: when it was created, approved and finished, and what it cost."""

    client: str
    pin_id: int = 0
    created: float = 0.0
    approved: float = 0.0
    finished: float = 0.0
    cpu: float = 0.0
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


def _plex_link(link: Link, base_url: str, cancel_after: float | None) -> None:
    """Link with Plex Link's PinLinker on its own event loop."""

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            linker = await PinLinker.create(
                PlexTvClient(session, IDENTITY, base_url=base_url)
            )
            link.started(linker.pin.id)
            await _wait_or_cancel(link, linker.wait_for_token(), cancel_after)

    asyncio.run(run())


def _plexapi(link: Link, base_url: str, cancel_after: float | None) -> None:
    """Link with python-plexapi's MyPlexPinLogin, polling in its own thread."""
    plexapi.myplex.MyPlexPinLogin.PINS = f"{base_url}/api/v2/pins"
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


def _plexauth(link: Link, base_url: str, cancel_after: float | None) -> None:
    """Link with python-plexauth's PlexAuth (strong PIN, polls every 3 s)."""
    plexauth.CODES_URL = f"{base_url}/api/v2/pins.json?strong=true"
    plexauth.TOKEN_URL = f"{base_url}/api/v2/pins/{{}}"

    async def run() -> None:
        async with plexauth.PlexAuth({"X-Plex-Product": "bench"}) as auth:
            await auth.initiate_auth()
            link.started(int(auth._identifier))
            await _wait_or_cancel(link, auth.token(timeout=60), cancel_after)

    asyncio.run(run())


RUNNERS: dict[str, Callable[[Link, str, float | None], None]] = {
    "plex_link": _plex_link,
    "plexapi": _plexapi,
    "plexauth": _plexauth,
}


def _run(link: Link, base_url: str, cancel_after: float | None) -> None:
    """Run one link in this thread and keep the thread's CPU time."""
    start = time.thread_time()
    RUNNERS[link.client](link, base_url, cancel_after)
    link.cpu = time.thread_time() - start


def _approve_later(standin: StandInThread, link: Link, rng: random.Random) -> None:
    """Approve the link's PIN 2 to 10 s after it was created."""
    link.ready.wait(30)
    delay = rng.uniform(2, 10)
    time.sleep(max(link.created + delay - time.monotonic(), 0))
    pin = standin.call(lambda: standin.standin.pins[link.pin_id])
    standin.call(lambda: standin.standin.approve(pin.code))
    link.approved = time.monotonic()


def _polls(standin: StandInThread, link: Link, after: float = 0.0) -> int:
    """Count the polls of the link's PIN that the stand-in received after a moment."""
    path = f"/api/v2/pins/{link.pin_id}"
    return len(
        [
            r
            for r in standin.call(lambda: list(standin.standin.requests))
            if r.path == path and r.at > after
        ]
    )


def _start(
    links: list[Link], base_url: str, cancel_after: float | None
) -> list[threading.Thread]:
    """Start the links a fifth of a second apart, in the order given."""
    threads = []
    for link in links:
        thread = threading.Thread(target=_run, args=(link, base_url, cancel_after))
        thread.start()
        threads.append(thread)
        time.sleep(0.2)
    return threads


def _percentile(values: list[float], share: float) -> float:
    """Return the value below which the given share of values lies."""
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def _import_time() -> float:
    """Return the cumulative import time of the integration package in ms."""
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import custom_components.plex_link",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    for line in result.stderr.splitlines():
        if line.rstrip().endswith("| custom_components.plex_link"):
            return int(line.split("|")[1]) / 1000
    raise RuntimeError("custom_components.plex_link not in the import-time report")


def main() -> None:
    """Run the links, the cancellations and the import timing, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=30, help="links per client")
    parser.add_argument(
        "--cancel", type=int, default=5, help="cancelled links per client"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with StandInThread() as standin:
        links = [Link(client) for _ in range(args.links) for client in CLIENTS]
        approvers = [
            threading.Thread(target=_approve_later, args=(standin, link, rng))
            for link in links
        ]
        for approver in approvers:
            approver.start()
        for thread in _start(links, standin.url, None):
            thread.join()
        for approver in approvers:
            approver.join()

        cancelled = [Link(client) for _ in range(args.cancel) for client in CLIENTS]
        for thread in _start(cancelled, standin.url, 3.0):
            thread.join()
        time.sleep(3.5)  # long enough for a plexauth poll that was still due

        print(
            f"Link latency and plex.tv cost, {args.links} links per client, "
            f"{len(links) + len(cancelled)} in all, on {standin.url}\n"
        )
        header = (
            f"{'client':<10} {'median s':>9} {'p95 s':>7} {'max s':>7} {'req/link':>9} "
            f"{'req/s waited':>13} {'after cancel':>13} {'CPU ms/link':>12}  notes"
        )
        print(header)
        print("-" * len(header))
        summary: dict[str, dict[str, float]] = {}
        for client in CLIENTS:
            done = [link for link in links if link.client == client]
            assert all(link.token for link in done), f"{client} did not link every time"
            latency = [link.finished - link.approved for link in done]
            requests = [_polls(standin, link) + 1 for link in done]
            waited = [link.finished - link.created for link in done]
            after = sum(
                _polls(standin, link, (link.cancelled_at or 0) + 0.05)
                for link in cancelled
                if link.client == client
            )
            summary[client] = {
                "median": statistics.median(latency),
                "rate": sum(r - 1 for r in requests) / sum(waited),
            }
            print(
                f"{client:<10} {statistics.median(latency):>9.2f} {_percentile(latency, 0.95):>7.2f} "
                f"{max(latency):>7.2f} {statistics.mean(requests):>9.1f} "
                f"{summary[client]['rate']:>13.2f} {after:>13d} "
                f"{1000 * statistics.mean(link.cpu for link in done):>12.1f}  {NOTES[client]}"
            )

    ours = summary["plex_link"]
    print("\nRatios (Plex Link / peer)")
    for peer in ("plexapi", "plexauth"):
        print(
            f"  latency vs {peer}: {ours['median'] / summary[peer]['median']:.2f}   "
            f"requests per second waited vs {peer}: {ours['rate'] / summary[peer]['rate']:.2f}"
        )
    import_ms = _import_time()
    print("\nTargets")
    print(
        f"  median latency <= plexapi's ({summary['plexapi']['median']:.2f} s) and <= half of "
        f"plexauth's ({summary['plexauth']['median'] / 2:.2f} s): {ours['median']:.2f} s"
    )
    print(f"  <= 1.1 plex.tv requests per second waited: {ours['rate']:.2f}")
    print(
        f"  import of the integration package < 100 ms cumulative: {import_ms:.0f} ms "
        "(includes the Home Assistant modules it imports)"
    )


if __name__ == "__main__":
    main()
