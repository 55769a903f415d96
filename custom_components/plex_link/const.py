"""Constants for Plex Link."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "plex_link"
LOGGER = logging.getLogger(__package__)

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
CONF_CLIENT_IDENTIFIER: Final = "client_identifier"
CONF_ACCOUNT_ID: Final = "account_id"
CONF_ACCOUNT_UUID: Final = "account_uuid"

PLEX_TV_URL_ENV: Final = "PLEX_LINK_PLEX_TV_URL"
PRODUCT: Final = "Plex Link for Home Assistant"
MANUFACTURER: Final = "Plex"
