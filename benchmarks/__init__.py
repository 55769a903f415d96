"""Benchmarks of Plex Link, run with scripts/bench."""
