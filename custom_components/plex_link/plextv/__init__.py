"""A small async client for the plex.tv account API, free of Home Assistant."""

from .client import DEFAULT_BASE_URL, PlexTvClient
from .exceptions import (
    PlexTvAuthenticationError,
    PlexTvConnectionError,
    PlexTvError,
    PlexTvPinExpiredError,
    PlexTvPlexPassRequiredError,
    PlexTvRateLimitedError,
    PlexTvResponseError,
    PlexTvServerError,
)
from .linker import PinLinker
from .models import Account, Connection, Pin, PlexTvIdentity, Server

__all__ = [
    "DEFAULT_BASE_URL",
    "Account",
    "Connection",
    "Pin",
    "PinLinker",
    "PlexTvAuthenticationError",
    "PlexTvClient",
    "PlexTvConnectionError",
    "PlexTvError",
    "PlexTvIdentity",
    "PlexTvPinExpiredError",
    "PlexTvPlexPassRequiredError",
    "PlexTvRateLimitedError",
    "PlexTvResponseError",
    "PlexTvServerError",
    "Server",
]
