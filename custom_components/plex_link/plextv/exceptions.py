"""Errors raised by the plex.tv client."""

from __future__ import annotations


class PlexTvError(Exception):
    """Base error for everything that can go wrong talking to plex.tv."""


class PlexTvConnectionError(PlexTvError):
    """plex.tv could not be reached, or did not answer in time."""


class PlexTvAuthenticationError(PlexTvError):
    """plex.tv rejected the token (401, or 422 "Invalid token")."""


class PlexTvPinExpiredError(PlexTvError):
    """The PIN expired or is unknown to plex.tv (404, error code 1020)."""


class PlexTvRateLimitedError(PlexTvError):
    """plex.tv asked the client to slow down (429)."""

    def __init__(self, retry_after: float | None) -> None:
        """Keep the wait plex.tv asked for, in seconds, when it named one."""
        super().__init__("plex.tv rate limited the request")
        self.retry_after = retry_after


class PlexTvResponseError(PlexTvError):
    """plex.tv answered something unexpected: a status, a body or a shape."""

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep the HTTP status of the unexpected answer, when there was one."""
        super().__init__(message)
        self.status = status


class PlexTvServerError(PlexTvResponseError):
    """plex.tv failed on its side (5xx): worth trying again later."""


class PlexTvPlexPassRequiredError(PlexTvResponseError):
    """plex.tv refused the account's webhooks: they need an active Plex Pass.

    No public source records the status plex.tv gives an account without Plex
    Pass (python-plexapi's tests only expect an error): 403 is taken to mean
    this. A 400 or 422 stays a plain PlexTvResponseError, as it may also be a
    malformed request.
    """
