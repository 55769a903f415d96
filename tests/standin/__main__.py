"""Run the plex.tv stand-in on its own: python -m tests.standin [--port N]."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from . import PlexTvStandIn


async def _serve(
    host: str, port: int, pin_lifetime: float, state_file: Path | None
) -> None:
    """Serve until interrupted, printing where to find the link page."""
    standin = PlexTvStandIn(pin_lifetime=pin_lifetime, state_file=state_file)
    url = await standin.start(host, port)
    print(f"plex.tv stand-in on {url}", flush=True)
    print(
        f"Link page: {url}/link (approves codes for {standin.demo_account.title})",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await standin.stop()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument("--pin-lifetime", type=float, default=900, help="seconds")
    parser.add_argument(
        "--state-file", type=Path, help="keep issued tokens here across restarts"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.pin_lifetime, args.state_file))


if __name__ == "__main__":
    main()
