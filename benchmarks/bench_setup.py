"""Plex Link inside Home Assistant: setup time, memory per entry, plex.tv requests per hour.

The requests are counted with events on (the stand-in's accounts have Plex
Pass), with Home Assistant's scheduler run through a simulated hour.

Home Assistant starts as the hass command starts it (bootstrap, frontend, http
on a free loopback port, configuration in artifacts/bench-home-assistant). The plex.tv
stand-in serves from a process of its own, so its memory is not counted.

    python -m benchmarks.bench_setup [--timed 10] [--entries 1 10 100]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator
import contextlib
from datetime import timedelta
import gc
import multiprocessing
from multiprocessing.connection import Connection
import os
from pathlib import Path
import shutil
import socket
import statistics
import time
import tracemalloc
from types import MappingProxyType
from typing import Any

from homeassistant import bootstrap
from homeassistant.components.webhook import async_generate_id
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.runner import RuntimeConfig

from benchmarks import print_target
from custom_components.plex_link.config_flow import PlexLinkConfigFlow
from custom_components.plex_link.const import (
    CONF_CLIENT_IDENTIFIER,
    DOMAIN,
    PLEX_TV_URL_ENV,
)
from custom_components.plex_link.coordinator import UPDATE_INTERVAL
from custom_components.plex_link.webhooks import SYNC_INTERVAL
from tests.live import ROOT, StandInThread, write_configuration
from tests.standin import StandInServer

CONFIG_DIR = ROOT / "artifacts" / "bench-home-assistant"
# bootstrap always sets up Home Assistant's default integrations (frontend and
# what it pulls in); two of them log tracebacks about optional system libraries
# (ffmpeg, libturbojpeg) that have nothing to do with Plex Link or the numbers.
BENCH_CONFIGURATION = """\
logger:
  default: warning
  logs:
    haffmpeg: critical
    homeassistant.components.camera.img_util: critical
"""
Account = tuple[str, dict[str, Any]]


def _serve_standin(connection: Connection, accounts: int) -> None:
    """Serve the stand-in with extra accounts; answer request counts until told to stop.

    Sends the URL and a (token, account) pair per account first, then answers
    each endpoint name received ("" for all) with its request count.
    """
    with StandInThread() as plex_tv:

        def provision() -> list[Account]:
            made = []
            for number in range(accounts):
                username = f"bench{number}"
                account = plex_tv.standin.add_account(
                    username=username,
                    title=f"Bench {number}",
                    email=f"{username}@example.invalid",
                )
                # A friend's server: the account part of the cost alone; following
                # an owned server's activity is measured by bench_activity.
                account.servers.append(
                    StandInServer(name=f"Shelf {number}", owned=False)
                )
                made.append(
                    (
                        plex_tv.standin.issue_token(account),
                        {"id": account.id, "uuid": account.uuid, "username": username},
                    )
                )
            return made

        def count(endpoint: str) -> int:
            if endpoint:
                return plex_tv.standin.count(endpoint)
            return len(plex_tv.standin.requests)

        connection.send((plex_tv.url, plex_tv.call(provision)))
        while (endpoint := connection.recv()) is not None:
            connection.send(plex_tv.call(lambda: count(endpoint)))


def linked_entry(
    title: str,
    uuid: str,
    token: str,
    client_identifier: str = "bench-plex-link",
    options: dict[str, Any] | None = None,
) -> ConfigEntry:
    """Return a Plex Link entry of the current version, as the link flow creates it."""
    return ConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=uuid,
        data={
            CONF_TOKEN: token,
            CONF_CLIENT_IDENTIFIER: client_identifier,
            CONF_WEBHOOK_ID: async_generate_id(),
        },
        discovery_keys=MappingProxyType({}),
        minor_version=PlexLinkConfigFlow.MINOR_VERSION,
        options=options or {},
        source=SOURCE_USER,
        subentries_data=None,
        version=PlexLinkConfigFlow.VERSION,
    )


async def _start_home_assistant(config_dir: Path) -> HomeAssistant:
    """Start Home Assistant as the hass command does, on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_configuration(config_dir, port, BENCH_CONFIGURATION)
    (config_dir / "custom_components").symlink_to(ROOT / "custom_components")
    hass = await bootstrap.async_setup_hass(
        RuntimeConfig(config_dir=str(config_dir), skip_pip=True)
    )
    assert hass is not None, "Home Assistant did not start"
    await hass.async_start()
    return hass


class Entries:
    """Plex Link entries for the stand-in's accounts, added to one Home Assistant."""

    def __init__(
        self, hass: HomeAssistant, connection: Connection, accounts: list[Account]
    ) -> None:
        """Keep Home Assistant, the stand-in's connection and its accounts."""
        self.hass = hass
        self._connection = connection
        self._accounts = iter(accounts)
        self.loaded = 0

    def requests(self, endpoint: str = "") -> int:
        """Return how many requests the stand-in received at an endpoint ("" for all)."""
        self._connection.send(endpoint)
        count: int = self._connection.recv()
        return count

    async def add(self) -> float:
        """Add the next account's entry, set it up and return how long that took."""
        token, account = next(self._accounts)
        entry = linked_entry(account["username"], account["uuid"], token)
        start = time.perf_counter()
        await self.hass.config_entries.async_add(entry)
        assert entry.state is ConfigEntryState.LOADED
        self.loaded += 1
        return time.perf_counter() - start


async def _memory_per_entry(entries: Entries, counts: list[int]) -> dict[int, float]:
    """Return traced bytes per entry once 1, 10, 100 ... more entries are loaded."""
    await entries.hass.async_block_till_done()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    memory = {}
    added = 0
    for count in sorted(counts):
        for _ in range(count - added):
            await entries.add()
        added = count
        await entries.hass.async_block_till_done()
        gc.collect()
        memory[count] = (tracemalloc.get_traced_memory()[0] - before) / count
    tracemalloc.stop()
    return memory


def _run_timers_due_by(hass: HomeAssistant, offset: timedelta) -> None:
    """Run the event loop's timers that are due within offset from now, as if time had passed.

    The coordinator and the daily ping reschedule themselves from the real
    loop time, so stepping the offset by one interval at a time runs each
    timer once per interval.
    """
    deadline = hass.loop.time() + offset.total_seconds()
    for handle in list(hass.loop._scheduled):
        if not handle.cancelled() and handle.when() <= deadline:
            handle._run()
            handle.cancel()


async def _requests_per_account(entries: Entries) -> tuple[float, float]:
    """Run the scheduler through an hour, then a day; return requests per account.

    Returns the plex.tv requests per hour and the pings in the first day.
    """
    hass = entries.hass
    # Nothing may be in flight: running the timers fires pending request timeouts too.
    await hass.async_block_till_done(wait_background_tasks=True)
    before = entries.requests()
    for step in range(1, 13):
        _run_timers_due_by(hass, step * UPDATE_INTERVAL)
        await hass.async_block_till_done(wait_background_tasks=True)
    hourly = (entries.requests() - before) / entries.loaded
    _run_timers_due_by(hass, timedelta(days=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    return hourly, entries.requests("ping") / entries.loaded


async def _measure(
    config_dir: Path,
    connection: Connection,
    accounts: list[Account],
    args: argparse.Namespace,
) -> None:
    """Start Home Assistant, measure, print the results and stop it."""
    hass = await _start_home_assistant(config_dir)
    entries = Entries(hass, connection, accounts)
    try:
        times = [await entries.add() for _ in range(args.timed + 1)]
        memory = await _memory_per_entry(entries, args.entries)
        hourly, pings = await _requests_per_account(entries)
    finally:
        await hass.async_stop()

    setup = statistics.median(times[1:])
    print("\nPlex Link in Home Assistant (started as by hass), stand-in on loopback\n")
    print(f"async_setup of an entry, {args.timed + 1} one after another:")
    print(
        f"  first (imports the integration and sets up its platforms): "
        f"{1000 * times[0]:.1f} ms"
    )
    print(
        f"  each further entry: median {1000 * setup:.1f} ms, "
        f"max {1000 * max(times[1:]):.1f} ms"
    )
    print("Memory per loaded entry (tracemalloc, entries added after those above):")
    for count, size in memory.items():
        print(f"  {count:>4} loaded: {size / 1024:.0f} KB per entry")
    print(
        f"plex.tv requests per account with events on ({entries.loaded} accounts): "
        f"{hourly:.1f} per hour (account and servers every "
        f"{UPDATE_INTERVAL.seconds // 60} min, the webhook list every "
        f"{SYNC_INTERVAL.seconds // 60} min), {pings:.0f} ping in the first day"
    )
    worst = max(memory.values())
    print("\nTargets")
    print_target("async_setup_entry < 50 ms", f"{1000 * setup:.1f} ms", setup < 0.05)
    print_target(
        "< 200 KB of memory per loaded entry",
        f"{worst / 1024:.0f} KB at most",
        worst < 200 * 1024,
    )


@contextlib.contextmanager
def standins_in_a_process(
    serve: Callable[..., None], *args: Any, config_dir: Path
) -> Iterator[tuple[Connection, tuple[Any, ...]]]:
    """Serve the stand-ins in a process of their own and point Plex Link at them.

    serve gets its end of a pipe and args, and first sends a tuple that starts
    with plex.tv's URL. Yields this end of the pipe and that tuple, with a
    fresh config_dir; at the end tells the process to stop and waits for it.
    """
    spawn = multiprocessing.get_context("spawn")
    connection, standins_end = spawn.Pipe()
    standins = spawn.Process(target=serve, args=(standins_end, *args), daemon=True)
    standins.start()
    ready: tuple[Any, ...] = connection.recv()
    os.environ[PLEX_TV_URL_ENV] = ready[0]
    shutil.rmtree(config_dir, ignore_errors=True)
    config_dir.mkdir(parents=True)
    try:
        yield connection, ready
    finally:
        connection.send(None)
        standins.join(timeout=10)


def main() -> None:
    """Start the stand-in process, point Plex Link at it and measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--timed", type=int, default=10, help="entries timed after the first"
    )
    parser.add_argument(
        "--entries", type=int, nargs="+", default=[1, 10, 100], help="entry counts"
    )
    args = parser.parse_args()
    with standins_in_a_process(
        _serve_standin, args.timed + 1 + max(args.entries), config_dir=CONFIG_DIR
    ) as (connection, (_, accounts)):
        asyncio.run(_measure(CONFIG_DIR, connection, accounts, args))


if __name__ == "__main__":
    main()
