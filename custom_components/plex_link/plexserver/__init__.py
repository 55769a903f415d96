"""A small async client for a Plex Media Server, and its webhook posts, free of Home Assistant."""

from .client import (
    COMMAND_TIMEOUT,
    IMAGE_TYPES,
    MAX_BODY_BYTES,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE,
    PAGE_SIZE,
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
from .library import ITEM_TYPES, LibraryItem, LibraryPage, LibrarySection, PlayQueue
from .models import DIRECT_PLAY, MediaItem, PlaySession, sessions_from_json
from .notifications import (
    LibraryChange,
    NotificationListener,
    PlayingNotification,
    library_change,
)
from .players import PlexPlayer, players_from_json
from .webhook import WebhookEvent, WebhookPayloadError, read_webhook_payload

__all__ = [
    "COMMAND_TIMEOUT",
    "DIRECT_PLAY",
    "IMAGE_TYPES",
    "ITEM_TYPES",
    "MAX_BODY_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE",
    "PAGE_SIZE",
    "LibraryChange",
    "LibraryItem",
    "LibraryPage",
    "LibrarySection",
    "MediaItem",
    "NotificationListener",
    "PlayQueue",
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
    "library_change",
    "players_from_json",
    "read_webhook_payload",
    "sessions_from_json",
]
