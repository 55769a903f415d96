"""A small async client for a Plex Media Server, and its webhook posts, free of Home Assistant."""

from .client import (
    COMMAND_TIMEOUT,
    IMAGE_TYPES,
    MAX_BODY_BYTES,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE,
    PlexServerClient,
)
from .exceptions import (
    PlexServerAuthenticationError,
    PlexServerCommandError,
    PlexServerConnectionError,
    PlexServerError,
    PlexServerResponseError,
    PlexServerServerError,
)
from .models import DIRECT_PLAY, MediaItem, PlaySession, sessions_from_json
from .notifications import NotificationListener, PlayingNotification
from .players import PlexPlayer, players_from_json
from .webhook import WebhookEvent, WebhookPayloadError, read_webhook_payload

__all__ = [
    "COMMAND_TIMEOUT",
    "DIRECT_PLAY",
    "IMAGE_TYPES",
    "MAX_BODY_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE",
    "MediaItem",
    "NotificationListener",
    "PlaySession",
    "PlayingNotification",
    "PlexPlayer",
    "PlexServerAuthenticationError",
    "PlexServerClient",
    "PlexServerCommandError",
    "PlexServerConnectionError",
    "PlexServerError",
    "PlexServerResponseError",
    "PlexServerServerError",
    "WebhookEvent",
    "WebhookPayloadError",
    "players_from_json",
    "read_webhook_payload",
    "sessions_from_json",
]
