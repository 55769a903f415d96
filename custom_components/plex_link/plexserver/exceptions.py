"""Errors raised by the Plex Media Server client.

No message names a token or a server address: they end up in logs and repairs.
"""

from __future__ import annotations


class PlexServerError(Exception):
    """Base error for everything that can go wrong talking to a Plex Media Server."""


class PlexServerConnectionError(PlexServerError):
    """No connection of the server answered: refused, reset, TLS failure or timeout."""


class PlexServerAuthenticationError(PlexServerError):
    """The server refused the token (401 or 403), e.g. a shared server hiding activity."""


class PlexServerResponseError(PlexServerError):
    """The server answered something unexpected: a status, a body, a shape or a redirect."""

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep the HTTP status of the unexpected answer, when there was one."""
        super().__init__(message)
        self.status = status


class PlexServerServerError(PlexServerResponseError):
    """The server failed on its side (5xx): worth trying again later."""


class PlexServerCommandError(PlexServerError):
    """A player refused a command sent through the server, or did not answer it in time.

    The server stays reachable: this says nothing about its other requests.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep the HTTP status of the refusal (None when the player did not answer)."""
        super().__init__(message)
        self.status = status
