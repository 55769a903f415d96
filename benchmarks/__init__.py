"""Benchmarks of Plex Link, run with scripts/bench."""


def print_target(target: str, measured: str, met: bool) -> None:
    """Print a target beside what was measured, and whether it was met."""
    print(f"  {'met   ' if met else 'MISSED'} {target}: {measured}")
