"""Run the stand-ins on their own: python -m tests.standin [--port N] [--server-port M].

Serves the plex.tv stand-in and one Plex Media Server stand-in for the demo
account's server "Media Shelf", with a control page at <server>/demo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from . import PlexTvStandIn
from .server import PlexMediaServerStandIn


async def _serve(
    host: str,
    port: int,
    server_port: int,
    pin_lifetime: float,
    state_file: Path | None,
) -> None:
    """Serve until interrupted, printing where to find the link and demo pages."""
    standin = PlexTvStandIn(pin_lifetime=pin_lifetime, state_file=state_file)
    url = await standin.start(host, port)
    server = PlexMediaServerStandIn(standin, auto_webhooks=True)
    server_url = await server.start(port=server_port)
    print(f"plex.tv stand-in on {url}", flush=True)
    print(
        f"Link page: {url}/link (approves codes for {standin.demo_account.title})",
        flush=True,
    )
    print(
        f"Plex Media Server stand-in '{server.server.name}' on {server_url}", flush=True
    )
    print(f"Demo controls: {server_url}/demo", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
        await standin.stop()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument(
        "--server-port",
        type=int,
        default=8125,
        help="the Plex Media Server stand-in's port (not 32400, to leave a real Plex alone)",
    )
    parser.add_argument("--pin-lifetime", type=float, default=900, help="seconds")
    parser.add_argument(
        "--state-file", type=Path, help="keep issued tokens here across restarts"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _serve(
                args.host,
                args.port,
                args.server_port,
                args.pin_lifetime,
                args.state_file,
            )
        )


if __name__ == "__main__":
    main()
