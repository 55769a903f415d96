"""A small async client for a Plex Media Server, and its webhook posts, free of Home Assistant."""

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
from .webhook import WebhookEvent, WebhookPayloadError, read_webhook_payload

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
    "WebhookEvent",
    "WebhookPayloadError",
    "read_webhook_payload",
    "sessions_from_json",
]
