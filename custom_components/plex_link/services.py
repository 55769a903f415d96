"""Actions of Plex Link: the token, the servers, their sessions and what they added, for automations."""

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
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    UnknownUser,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util.json import JsonObjectType, JsonValueType
import probatio

from .access import async_get_entry, entry_headers
from .activity import PlexLinkActivityCoordinator, followed
from .const import CONF_CLIENT_IDENTIFIER, DOMAIN, MAX_RECENTLY_ADDED
from .libraries import (
    PlexLinkLibraryCoordinator,
    RecentItem,
    added_key,
    recently_added_count,
)
from .library_images import async_image_url
from .media import media_attributes
from .plexserver import PlaySession, PlexServerAuthenticationError, PlexServerError
from .plextv import Server

SERVICE_GET_TOKEN = "get_token"  # noqa: S105  # the action's name
SERVICE_GET_SERVERS = "get_servers"
SERVICE_GET_SESSIONS = "get_sessions"
SERVICE_STOP_SESSION = "stop_session"
SERVICE_GET_RECENTLY_ADDED = "get_recently_added"
ATTR_COUNT = "count"
ATTR_SERVER = "server"
ATTR_SESSION_ID = "session_id"
ATTR_REASON = "reason"
SERVICE_SCHEMA = probatio.Schema({probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})
GET_SESSIONS_SCHEMA = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_SERVER): cv.string,
    }
)
GET_RECENTLY_ADDED_SCHEMA = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_SERVER): cv.string,
        probatio.Optional(ATTR_COUNT): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=MAX_RECENTLY_ADDED)
        ),
    }
)
STOP_SESSION_SCHEMA = probatio.Schema(
    {
        probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_SESSION_ID): cv.string,
        probatio.Optional(ATTR_REASON): cv.string,
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions, once for all entries; get_token and stop_session for administrators only."""
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
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_SESSIONS,
        _async_get_sessions,
        schema=GET_SESSIONS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_RECENTLY_ADDED,
        _async_get_recently_added,
        schema=GET_RECENTLY_ADDED_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_STOP_SESSION,
        _async_stop_session,
        schema=STOP_SESSION_SCHEMA,
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


async def _async_get_sessions(call: ServiceCall) -> ServiceResponse:
    """Return what the account's own servers play; no token, no address.

    Servers that do not answer now are named in unavailable_servers.
    """
    entry = async_get_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    coordinators = [
        coordinator
        for coordinator in entry.runtime_data.activity.values()
        if not coordinator.refused
    ]
    if (machine_identifier := call.data.get(ATTR_SERVER)) is not None:
        coordinators = [
            coordinator
            for coordinator in coordinators
            if coordinator.machine_identifier == machine_identifier
        ]
        if not coordinators:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_server",
                translation_placeholders={"server": machine_identifier},
            )
    answering = followed(entry)
    return {
        "sessions": [
            _session_response(coordinator, session)
            for coordinator in coordinators
            if coordinator in answering
            for session in coordinator.data
        ],
        "unavailable_servers": [
            coordinator.server_name
            for coordinator in coordinators
            if coordinator not in answering
        ],
    }


def _session_response(
    coordinator: PlexLinkActivityCoordinator, session: PlaySession
) -> dict[str, Any]:
    """Describe a session for an action response; every key, None where it does not apply."""
    return {
        "server": coordinator.server_name,
        "machine_identifier": coordinator.machine_identifier,
        "session_id": session.session_id,
        "user": session.user,
        "player": session.player,
        "product": session.product,
        "platform": session.platform,
        "media_type": session.media_type,
        **media_attributes(session),
        "state": session.state,
        "progress": round(session.progress * 100, 1)
        if session.progress is not None
        else None,
        "video_decision": session.video_decision,
        "audio_decision": session.audio_decision,
        "transcoding": session.transcoding,
        "resolution": session.video_resolution,
        "video_codec": session.video_codec,
        "audio_codec": session.audio_codec,
        "location": session.location,
        "bandwidth": session.bandwidth_kbps,
    }


async def _async_stop_session(call: ServiceCall) -> None:
    """End a session on the server that plays it, with an optional reason for the viewer."""
    entry = async_get_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    session_id: str = call.data[ATTR_SESSION_ID]
    coordinator = next(
        (
            coordinator
            for coordinator in followed(entry)
            if any(session.session_id == session_id for session in coordinator.data)
        ),
        None,
    )
    if coordinator is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="session_not_found",
            translation_placeholders={"session_id": session_id},
        )
    placeholders = {"server": coordinator.server_name}
    try:
        await coordinator.client.terminate_session(
            session_id, call.data.get(ATTR_REASON)
        )
    except PlexServerAuthenticationError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="stop_session_refused",
            translation_placeholders=placeholders,
        ) from err
    except PlexServerError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="stop_session_failed",
            translation_placeholders={**placeholders, "error": str(err)},
        ) from None
    await coordinator.async_request_refresh()


async def _async_get_recently_added(call: ServiceCall) -> ServiceResponse:
    """Return the newest films and episodes of the account's servers, newest first.

    Each server's own newest, then all of them merged, up to count (the
    sensor's number unless given). Posters are signed Home Assistant URLs,
    no token. Servers that do not answer now are named in unavailable_servers.
    """
    entry = async_get_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    count: int = call.data.get(ATTR_COUNT) or recently_added_count(entry)
    coordinators = list(entry.runtime_data.libraries.values())
    if (server := call.data.get(ATTR_SERVER)) is not None:
        coordinators = [
            coordinator
            for coordinator in coordinators
            if server in (coordinator.machine_identifier, coordinator.server_name)
        ]
        if not coordinators:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_library_server",
                translation_placeholders={"server": server},
            )
    found: list[tuple[PlexLinkLibraryCoordinator, RecentItem]] = []
    unavailable: list[JsonValueType] = []
    for coordinator in coordinators:
        if not coordinator.answering:
            unavailable.append(coordinator.server_name)
            continue
        try:
            recent = await coordinator.async_recently_added(count)
        except PlexServerError:
            unavailable.append(coordinator.server_name)
            continue
        found.extend((coordinator, item) for item in recent)
    found.sort(key=lambda pair: added_key(pair[1]), reverse=True)
    return {
        "items": [
            _recent_response(call.hass, coordinator, recent)
            for coordinator, recent in found[:count]
        ],
        "unavailable_servers": unavailable,
    }


def _recent_response(
    hass: HomeAssistant, coordinator: PlexLinkLibraryCoordinator, recent: RecentItem
) -> dict[str, Any]:
    """Describe a recently added item for an action response; None where a key does not apply."""
    item = recent.item
    return {
        **media_attributes(item),
        "type": item.media_type,
        "added_at": item.added_at.isoformat() if item.added_at else None,
        "summary": item.summary,
        "poster": async_image_url(hass, coordinator, item, "poster"),
        "server": coordinator.server_name,
        "library": recent.library,
        "rating_key": item.rating_key,
    }
