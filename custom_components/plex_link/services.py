"""Actions of Plex Link: the token and the servers, as data for automations."""

from __future__ import annotations

from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID, CONF_TOKEN
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import UnknownUser
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util.json import JsonObjectType
import probatio

from .access import async_get_entry, entry_headers
from .const import CONF_CLIENT_IDENTIFIER, DOMAIN
from .plextv import Server

SERVICE_GET_TOKEN = "get_token"  # noqa: S105  # the action's name
SERVICE_GET_SERVERS = "get_servers"
SERVICE_SCHEMA = probatio.Schema({probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions, once for all entries; get_token for administrators only."""
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_GET_TOKEN,
        _async_get_token,
        schema=SERVICE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_SERVERS,
        _async_get_servers,
        schema=SERVICE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


async def _async_caller_is_admin(call: ServiceCall) -> bool:
    """Tell whether the caller is an administrator, or Home Assistant itself.

    Calls without a user (automations, scripts) count as Home Assistant's own,
    as they do for Home Assistant's admin-only actions.
    """
    if call.context.user_id is None:
        return True
    user = await call.hass.auth.async_get_user(call.context.user_id)
    if user is None:
        raise UnknownUser(context=call.context)
    return user.is_admin


async def _async_get_token(call: ServiceCall) -> ServiceResponse:
    """Return the token and the headers to use it with."""
    entry = async_get_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    account = entry.runtime_data.coordinator.data.account
    headers: JsonObjectType = dict(entry_headers(entry))
    return {
        "token": entry.data[CONF_TOKEN],
        "client_identifier": entry.data[CONF_CLIENT_IDENTIFIER],
        "id": account.id,
        "uuid": account.uuid,
        "username": account.username,
        "headers": headers,
    }


async def _async_get_servers(call: ServiceCall) -> ServiceResponse:
    """Return the servers; each server's access token only to administrators."""
    entry = async_get_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    with_tokens = await _async_caller_is_admin(call)
    servers = entry.runtime_data.coordinator.data.servers.values()
    return {"servers": [_server_response(server, with_tokens) for server in servers]}


def _server_response(server: Server, with_token: bool) -> dict[str, Any]:
    """Describe a server for an action response."""
    best = server.best_connection
    response: dict[str, Any] = {
        "name": server.name,
        "machine_identifier": server.machine_identifier,
        "product": server.product,
        "version": server.version,
        "owned": server.owned,
        "online": server.online,
        "uri": best.uri if best else None,
        "connections": [
            {
                "uri": connection.uri,
                "protocol": connection.protocol,
                "local": connection.local,
                "relay": connection.relay,
            }
            for connection in server.connections
        ],
    }
    if with_token:
        response["access_token"] = server.access_token
    return response
