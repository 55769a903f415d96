"""Waits for a person to enter a link code at plex.tv/link."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import time

from .client import PlexTvClient
from .exceptions import (
    PlexTvConnectionError,
    PlexTvError,
    PlexTvPinExpiredError,
    PlexTvRateLimitedError,
    PlexTvResponseError,
    PlexTvServerError,
)
from .models import Pin


class PinLinker:
    """One link code and the polling that turns it into a token.

    plex.tv asks for one poll a second: polls start on that beat, so a slow
    answer does not stretch it. Failures that may pass (no connection, 5xx,
    429, a garbled body) are retried with exponential backoff, honouring
    Retry-After up to a minute (a day-long one would outlive the code);
    anything else ends the wait with its error.
    """

    poll_interval: float = 1.0
    max_backoff: float = 30.0
    max_retry_after: float = 60.0

    def __init__(self, client: PlexTvClient, pin: Pin) -> None:
        """Wait on a PIN that plex.tv just handed out."""
        self._client = client
        self.pin = pin
        self._deadline = time.monotonic() + pin.lifetime

    @classmethod
    async def create(cls, client: PlexTvClient, *, strong: bool = False) -> PinLinker:
        """Ask plex.tv for a new PIN (a link code, or strong) and return a linker for it."""
        return cls(client, await client.create_pin(strong=strong))

    @property
    def elapsed(self) -> float:
        """Return the share of the code's lifetime that has passed, from 0 to 1."""
        if self.pin.lifetime <= 0:
            return 1.0
        left = (self._deadline - time.monotonic()) / self.pin.lifetime
        return 1.0 - min(max(left, 0.0), 1.0)

    async def wait_for_token(
        self, on_progress: Callable[[float], None] | None = None
    ) -> str:
        """Poll until the person enters the code, then return the account token.

        Before a poll, on_progress gets the share of the code's lifetime that
        has passed (two decimals) whenever that share changed, so a dialog
        shows it within a beat without a message per poll. Raises PlexTvPinExpiredError when the code runs out, or the last
        error when plex.tv kept failing until then. Cancelling stops it at once.
        """
        failures = 0
        last_error: PlexTvError | None = None
        polled_at = time.monotonic()
        reported: float | None = None
        while True:
            if on_progress is not None and reported != (
                progress := round(self.elapsed, 2)
            ):
                reported = progress
                on_progress(progress)
            delay = self._delay(failures, last_error, time.monotonic() - polled_at)
            await asyncio.sleep(min(delay, self._deadline - time.monotonic()))
            if self._deadline <= time.monotonic():
                raise last_error or PlexTvPinExpiredError("The link code expired")
            polled_at = time.monotonic()
            try:
                polled = await self._client.get_pin(self.pin.id)
            except PlexTvError as err:
                if not _is_transient(err):
                    raise
                failures += 1
                last_error = err
                continue
            failures, last_error = 0, None
            if polled.auth_token is not None:
                return polled.auth_token

    def _delay(
        self, failures: int, error: PlexTvError | None, since_poll: float
    ) -> float:
        """Return the wait before the next poll.

        While plex.tv answers, the rest of the beat since the last poll started;
        after failures in a row, the backoff, counted from the failure.
        """
        if not failures:
            return max(self.poll_interval - since_poll, 0.0)
        delay = min(self.poll_interval * 2.0 ** min(failures - 1, 30), self.max_backoff)
        if isinstance(error, PlexTvRateLimitedError) and error.retry_after is not None:
            delay = max(delay, min(error.retry_after, self.max_retry_after))
        return delay


def _is_transient(error: PlexTvError) -> bool:
    """Tell whether a failed poll is worth trying again."""
    if isinstance(error, PlexTvServerError):
        return True
    if isinstance(error, PlexTvResponseError):
        return error.status is None
    return isinstance(error, PlexTvConnectionError | PlexTvRateLimitedError)
