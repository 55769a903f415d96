"""Run a real Home Assistant with Plex Link from this checkout, beside the stand-ins.

One way to start them, shared by `scripts/develop --offline` and the end-to-end
tests: python -m tests.live [--offline] [--config DIR] [--port 8123]. Offline,
the plex.tv stand-in and a Plex Media Server stand-in for the demo account's
server run beside Home Assistant, all on loopback; the server posts its
webhook events to Home Assistant's internal URL, http://127.0.0.1:<port>.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
import contextlib
import json
import os
from pathlib import Path
import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import IO, Any, Self
import urllib.error
import urllib.request

from .standin import PlexTvStandIn
from .standin.server import PlexMediaServerStandIn

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION_HEADER = "# Written by tests/live.py"
CONFIGURATION = f"""\
{CONFIGURATION_HEADER}: the smallest Home Assistant that serves the UI,
# automations and history.
# The HTTP server (127.0.0.1 and the port) is in .storage/http, where
# Home Assistant 2026.11 keeps it: an http: block here would be imported as
# an unconfirmed trial that Home Assistant reverts (and restarts) after 5 minutes.
frontend:
config:
# Automations made in Settings > Automations & scenes are kept here.
automation: !include automations.yaml
# An entity's history and logbook (they set up the recorder, in home-assistant_v2.db).
history:
logbook:
logger:
  default: info
  logs:
    custom_components.plex_link: debug
"""

# The offline demo's dashboard ("Plex demo" in the sidebar), for the stand-in's demo account once
# it is linked: the libraries' newest posters, what was added last, and the TV.
DEMO_DASHBOARD_FILE = "plex-demo-dashboard.yaml"
DEMO_CONFIGURATION = f"""\
# The offline demo's dashboard (scripts/develop --offline), in {DEMO_DASHBOARD_FILE}.
lovelace:
  dashboards:
    plex-demo:
      mode: yaml
      filename: {DEMO_DASHBOARD_FILE}
      title: Plex demo
      icon: mdi:plex
      show_in_sidebar: true
"""
DEMO_DASHBOARD = f"""\
{CONFIGURATION_HEADER} for scripts/develop --offline; link the demo account first.
views:
  - title: Libraries
    cards:
      - type: vertical-stack
        cards:
          - type: grid
            columns: 3
            square: false
            cards:
              - type: picture-entity
                entity: image.media_shelf_newest_in_movies
                name: Movies
                show_state: false
              - type: picture-entity
                entity: image.media_shelf_newest_in_tv_shows
                name: TV Shows
                show_state: false
              - type: picture-entity
                entity: image.media_shelf_newest_in_music
                name: Music
                show_state: false
          - type: markdown
            title: Recently added
            content: >-
              {{% for item in (state_attr('sensor.media_shelf_recently_added', 'data')
              or [])[1:9] %}}<img src="{{{{ item.poster }}}}" alt="{{{{ item.title }}}}"
              title="{{{{ item.title }}}} {{{{ item.number }}}}" width="96" height="144">
              {{% endfor %}}
          - type: entities
            entities:
              - sensor.media_shelf_movies
              - sensor.media_shelf_tv_shows
              - sensor.media_shelf_music
              - sensor.media_shelf_recently_added
      - type: media-control
        entity: media_player.living_room_tv
"""


def write_demo_dashboard(config_dir: Path) -> None:
    """Write the offline demo's dashboard, unless someone changed the file since."""
    dashboard = config_dir / DEMO_DASHBOARD_FILE
    if not dashboard.exists() or dashboard.read_text("utf-8").startswith(
        CONFIGURATION_HEADER
    ):
        config_dir.mkdir(parents=True, exist_ok=True)
        dashboard.write_text(DEMO_DASHBOARD, "utf-8")


def http_store(port: int) -> dict[str, Any]:
    """Return .storage/http with the server on 127.0.0.1:port.

    Written in the storage's first version (the shape of the old http: YAML),
    which Home Assistant migrates itself to its current one as the stable,
    confirmed configuration.
    """
    return {
        "version": 1,
        "minor_version": 1,
        "key": "http",
        "data": {"server_host": ["127.0.0.1"], "server_port": port},
    }


def core_config_store(previous: dict[str, Any] | None, port: int) -> dict[str, Any]:
    """Return .storage/core.config with the internal URL http://127.0.0.1:port.

    Everything else the last run stored (location, units, language) stays; a
    new store is written in the version Home Assistant 2026.11 keeps it in.
    The webhook Plex Link gives plex.tv is on the internal URL, and the Plex
    Media Server stand-in posts only to loopback addresses.
    """
    store = previous or {
        "version": 1,
        "minor_version": 4,
        "key": "core.config",
        "data": {"radius": 100},
    }
    store["data"] = {**store["data"], "internal_url": f"http://127.0.0.1:{port}"}
    return store


def write_configuration(
    config_dir: Path,
    port: int,
    configuration: str | None = CONFIGURATION,
    *,
    internal_url: bool = True,
) -> None:
    """Write configuration.yaml (unless None) and the stores for 127.0.0.1:port.

    The HTTP store (and, with internal_url, the internal URL) is written on
    every start, so the server is always on 127.0.0.1:port with nothing left
    to confirm, whatever the last run stored (a configuration.yaml of earlier
    releases had an http: block), and its internal URL is that address.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    if configuration is not None:
        (config_dir / "configuration.yaml").write_text(configuration, "utf-8")
    automations = config_dir / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n", "utf-8")
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    (storage / "http").write_text(json.dumps(http_store(port)), "utf-8")
    if internal_url:
        core_config = storage / "core.config"
        previous = (
            json.loads(core_config.read_text("utf-8")) if core_config.exists() else None
        )
        core_config.write_text(json.dumps(core_config_store(previous, port)), "utf-8")


class LoopThread:
    """An asyncio event loop in its own thread, driven from other threads."""

    def __init__(self) -> None:
        """Prepare the loop and its thread."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Self:
        """Start the loop."""
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the loop and end the thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def run[T](
        self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 30
    ) -> T:
        """Run a coroutine on the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def call[T](self, function: Callable[[], T]) -> T:
        """Run a plain function on the loop, where the state it touches lives."""

        async def run() -> T:
            return function()

        return self.run(run())


class StandInThread(LoopThread):
    """The plex.tv stand-in and the demo server's stand-in, served from one thread and loop.

    The Plex Media Server stand-in plays the demo account's server "Media
    Shelf" and posts media.play/pause/resume/stop to the account's webhooks
    whenever a session starts or changes (auto_webhooks), as a real server
    with a Plex Pass owner does; its control page is at server_url + "/demo".
    """

    def __init__(
        self, *, port: int = 0, server_port: int = 0, state_file: Path | None = None
    ) -> None:
        """Prepare the stand-ins on loopback ports (0 picks a free one)."""
        super().__init__()
        self.standin = PlexTvStandIn(state_file=state_file)
        self.server = PlexMediaServerStandIn(self.standin, auto_webhooks=True)
        self._port = port
        self._server_port = server_port
        self.url = ""
        self.server_url = ""

    def __enter__(self) -> Self:
        """Start serving."""
        super().__enter__()
        try:
            self.url = self.run(self.standin.start(port=self._port))
            self.server_url = self.run(self.server.start(port=self._server_port))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving and end the thread."""
        try:
            self.run(self.server.stop())
            self.run(self.standin.stop())
        finally:
            super().__exit__(exc_type, exc, traceback)


class HomeAssistantProcess:
    """A real `hass` process on loopback with the integration from this checkout."""

    def __init__(
        self,
        config_dir: Path,
        *,
        port: int = 8123,
        plex_tv_url: str | None = None,
        log: IO[bytes] | None = None,
        extra_configuration: str = "",
    ) -> None:
        """Prepare Home Assistant on 127.0.0.1:port with its configuration in config_dir.

        extra_configuration follows the generated configuration.yaml (the
        offline demo's dashboard).
        """
        self.config_dir = config_dir
        self.port = port
        self._extra_configuration = extra_configuration
        self.url = f"http://127.0.0.1:{port}"
        self._plex_tv_url = plex_tv_url
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def restart(self) -> None:
        """Stop Home Assistant and start it again on the same config dir."""
        self.__exit__(None, None, None)
        self.__enter__()

    def __enter__(self) -> Self:
        """Start Home Assistant and wait until it serves its UI."""
        self._write_configuration()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
            ),
        }
        if self._plex_tv_url:
            env["PLEX_LINK_PLEX_TV_URL"] = self._plex_tv_url
        self._process = subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "--config", str(self.config_dir)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None,
        )
        self.wait_until_up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop Home Assistant, killing it if it does not stop in time."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _write_configuration(self) -> None:
        """Write configuration.yaml (unless someone else wrote it) and the stores.

        With the stand-ins, the internal URL is the loopback address, where
        the Plex Media Server stand-in posts its webhook events; against the
        real plex.tv, Home Assistant's own network settings stay as they are.
        """
        configuration = self.config_dir / "configuration.yaml"
        ours = not configuration.exists() or configuration.read_text(
            "utf-8"
        ).startswith(CONFIGURATION_HEADER)
        write_configuration(
            self.config_dir,
            self.port,
            CONFIGURATION + self._extra_configuration if ours else None,
            internal_url=self._plex_tv_url is not None,
        )

    def wait_until_up(self, timeout: float = 180) -> None:
        """Wait until the HTTP server answers, or fail if Home Assistant exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"Home Assistant exited with {self._process.returncode}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/manifest.json", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise TimeoutError(
            f"Home Assistant did not answer on {self.url} in {timeout:.0f} s"
        )

    def wait(self) -> int:
        """Wait until Home Assistant exits and return its exit code."""
        assert self._process is not None
        return self._process.wait()


def main() -> None:
    """Run Home Assistant (and the stand-ins with --offline) until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--offline",
        action="store_true",
        help="use the stand-ins: plex.tv and the demo account's Plex Media Server",
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--standin-port", type=int, default=8124)
    parser.add_argument(
        "--server-port", type=int, default=8125, help="the Plex Media Server stand-in"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        plex_tv_url = server_url = None
        if args.offline:
            args.config.mkdir(parents=True, exist_ok=True)
            standin = stack.enter_context(
                StandInThread(
                    port=args.standin_port,
                    server_port=args.server_port,
                    state_file=args.config / "plex-tv-standin.json",
                )
            )
            plex_tv_url = standin.url
            server_url = standin.server_url
            write_demo_dashboard(args.config)
        print("Starting Home Assistant; the first start takes a minute.", flush=True)
        hass = stack.enter_context(
            HomeAssistantProcess(
                args.config,
                port=args.port,
                plex_tv_url=plex_tv_url,
                extra_configuration=DEMO_CONFIGURATION if args.offline else "",
            )
        )
        print(f"\n  Home Assistant: {hass.url}", flush=True)
        print(
            "  Settings > Devices & services > Add integration > Plex Link", flush=True
        )
        if plex_tv_url:
            print(
                f"  plex.tv stand-in link page: {plex_tv_url}/link (type the code there)",
                flush=True,
            )
            print(
                f"  Plex Media Server stand-in (Media Shelf): {server_url}/demo "
                "(play, pause, add to library: posts to Home Assistant's webhook)",
                flush=True,
            )
            print(
                f"  Dashboard with the libraries' posters: {hass.url}/plex-demo/0\n",
                flush=True,
            )
        with contextlib.suppress(KeyboardInterrupt):
            hass.wait()


if __name__ == "__main__":
    main()
