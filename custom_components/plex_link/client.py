"""Builds the plex.tv client the way Home Assistant should present itself."""

from __future__ import annotations

import os
import uuid

from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.helpers import instance_id
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.loader import async_get_integration
from yarl import URL

from .const import DOMAIN, LOGGER, PLEX_TV_URL_ENV, PRODUCT
from .plexserver import PlexServerClient
from .plextv import (
    DEFAULT_BASE_URL,
    PlexTvAuthenticationError,
    PlexTvClient,
    PlexTvError,
    PlexTvIdentity,
    Server,
)

_CLIENT_IDENTIFIER_NAMESPACE = uuid.UUID("6b0f8a52-8d0e-4b5c-9a43-2f1e64e3c1d7")


async def async_client_identifier(hass: HomeAssistant) -> str:
    """Return this installation's client identifier, the same for every link.

    It is derived from Home Assistant's instance id, so Plex lists Home
    Assistant once among the account's authorized devices, without exposing
    the instance id itself to plex.tv.
    """
    return str(
        uuid.uuid5(_CLIENT_IDENTIFIER_NAMESPACE, await instance_id.async_get(hass))
    )


async def async_create_client(
    hass: HomeAssistant, client_identifier: str | None = None
) -> PlexTvClient:
    """Return a plex.tv client on Home Assistant's shared aiohttp session."""
    integration = await async_get_integration(hass, DOMAIN)
    identity = PlexTvIdentity(
        client_identifier=client_identifier or await async_client_identifier(hass),
        product=PRODUCT,
        version=str(integration.version),
        platform="Home Assistant",
        platform_version=ha_version,
        device="Home Assistant",
        device_name=hass.config.location_name,
    )
    return PlexTvClient(
        async_get_clientsession(hass), identity, base_url=plex_tv_base_url()
    )


def create_server_client(
    hass: HomeAssistant,
    plex_tv: PlexTvClient,
    server: Server,
    *,
    request_timeout: float,
    connect_timeout: float,
) -> PlexServerClient:
    """Return a client for a Plex Media Server with its own access token, on the shared session."""
    return PlexServerClient(
        async_get_clientsession(hass),
        identity_headers=plex_tv.headers(),
        access_token=server.access_token or "",
        connections=[connection.uri for connection in server.connections],
        request_timeout=request_timeout,
        connect_timeout=connect_timeout,
    )


def plex_tv_base_url() -> str:
    """Return plex.tv's address, or the http(s) URL set in PLEX_LINK_PLEX_TV_URL."""
    override = os.environ.get(PLEX_TV_URL_ENV)
    if not override:
        return DEFAULT_BASE_URL
    try:
        url = URL(override)
    except ValueError:
        url = URL()
    if url.scheme in ("http", "https") and url.host:
        return str(url)
    LOGGER.error(
        "Ignoring %s: %r is not an http(s) URL; using %s",
        PLEX_TV_URL_ENV,
        override,
        DEFAULT_BASE_URL,
    )
    return DEFAULT_BASE_URL


async def async_sign_out(client: PlexTvClient, token: str, account: str) -> None:
    """Sign a token out at plex.tv, best effort: a failure is logged, never raised."""
    try:
        await client.sign_out(token)
    except PlexTvAuthenticationError:
        LOGGER.debug("The token of %s was already revoked at plex.tv", account)
    except PlexTvError as err:
        LOGGER.warning(
            "Could not sign %s out of plex.tv; revoke Home Assistant under "
            "Authorized Devices in your Plex account instead: %s",
            account,
            err,
        )
