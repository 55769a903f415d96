"""A small async client for a Plex Media Server, free of Home Assistant."""

from .client import MAX_BODY_BYTES, PlexServerClient
from .exceptions import (
    PlexServerAuthenticationError,
    PlexServerConnectionError,
    PlexServerError,
    PlexServerResponseError,
    PlexServerServerError,
)
from .models import DIRECT_PLAY, Identity, PlaySession, sessions_from_json
from .notifications import NotificationListener

# Webhook names are re-exported below by the webhook module's owner.

__all__ = [
    "DIRECT_PLAY",
    "MAX_BODY_BYTES",
    "Identity",
    "NotificationListener",
    "PlaySession",
    "PlexServerAuthenticationError",
    "PlexServerClient",
    "PlexServerConnectionError",
    "PlexServerError",
    "PlexServerResponseError",
    "PlexServerServerError",
    "sessions_from_json",
]
