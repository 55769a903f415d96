"""Constants for Plex Link."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "plex_link"
LOGGER = logging.getLogger(__package__)

CONF_CLIENT_IDENTIFIER: Final = "client_identifier"

PLEX_TV_URL_ENV: Final = "PLEX_LINK_PLEX_TV_URL"
PRODUCT: Final = "Plex Link for Home Assistant"
MANUFACTURER: Final = "Plex"

CONF_EVENTS: Final = "events"
CONF_REMOTE_SERVER: Final = "remote_server"

CONF_RECENTLY_ADDED: Final = "recently_added"
DEFAULT_RECENTLY_ADDED: Final = 10
MAX_RECENTLY_ADDED: Final = 50
