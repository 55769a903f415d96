"""Tests of the get_token and get_servers actions and of the Python API."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.plex_link import (
    async_get_account,
    async_get_headers,
    async_get_servers,
    async_get_token,
)
from custom_components.plex_link.const import DOMAIN

from .conftest import linked_entry
from .standin import PlexTvStandIn, StandInAccount


@pytest.fixture
def snapshot_without_secrets(
    snapshot: SnapshotAssertion, plex_tv: PlexTvStandIn
) -> SnapshotAssertion:
    """A snapshot that refuses to store anything holding a token."""

    def check(response: Any) -> bool:
        text = repr(response)
        secrets = [
            *plex_tv.issued_tokens,
            *(s.access_token for s in plex_tv.demo_account.servers),
        ]
        assert not any(secret[:8] in text for secret in secrets)
        return bool(response == snapshot)

    return check  # type: ignore[return-value]


async def _call(
    hass: HomeAssistant, action: str, context: Context | None = None, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN, action, data, blocking=True, return_response=True, context=context
    )


async def test_get_token_for_admin(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    hass_admin_user: MockUser,
    token: str,
    client_identifier: str,
) -> None:
    """An administrator gets the token and headers ready for a RESTful command."""
    response = await _call(
        hass,
        "get_token",
        Context(user_id=hass_admin_user.id),
        config_entry_id=init_integration.entry_id,
    )
    seen_by_plex_tv = plex_tv.requests[-1].headers
    assert seen_by_plex_tv["X-Plex-Token"] == token
    assert response == {
        "token": token,
        "client_identifier": client_identifier,
        "id": plex_tv.demo_account.id,
        "uuid": plex_tv.demo_account.uuid,
        "username": "demo",
        "headers": {
            key: value
            for key, value in seen_by_plex_tv.items()
            if key == "Accept" or key.startswith("X-Plex-")
        },
    }
    assert response["headers"]["X-Plex-Client-Identifier"] == client_identifier
    assert response["headers"]["X-Plex-Product"] == "Plex Link for Home Assistant"
    assert await _call(hass, "get_token") == response


async def test_get_token_refused_to_non_admin(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_read_only_user: MockUser,
) -> None:
    """A user who is not an administrator gets Unauthorized, and no token."""
    with pytest.raises(Unauthorized):
        await _call(hass, "get_token", Context(user_id=hass_read_only_user.id))
    with pytest.raises(UnknownUser):
        await _call(hass, "get_token", Context(user_id="no-such-user"))


async def test_get_token_over_websocket(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    token: str,
) -> None:
    """Over the websocket API, an administrator gets the token and a non-admin does not."""
    admin = await hass_ws_client(hass)
    read_only = await hass_ws_client(hass, hass_read_only_access_token)
    for client, allowed in ((admin, True), (read_only, False)):
        await client.send_json_auto_id(
            {
                "type": "call_service",
                "domain": DOMAIN,
                "service": "get_token",
                "service_data": {},
                "return_response": True,
            }
        )
        message = await client.receive_json()
        assert message["success"] is allowed
        assert (token in repr(message)) is allowed
        assert (token[:8] in repr(message)) is allowed


@pytest.mark.parametrize("admin", [True, False], ids=["admin", "non-admin"])
async def test_get_servers(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
    snapshot_without_secrets: SnapshotAssertion,
    admin: bool,
) -> None:
    """Servers with the best address first; access tokens only for administrators."""
    user = hass_admin_user if admin else hass_read_only_user
    response = await _call(hass, "get_servers", Context(user_id=user.id))
    server = response["servers"][0]
    assert server["uri"] == server["connections"][0]["uri"]
    assert server["connections"][0]["local"] is True
    assert server["connections"][0]["protocol"] == "http"
    assert server["connections"][-1]["relay"] is True
    access_token = plex_tv.demo_account.servers[0].access_token
    assert server.get("access_token") == (access_token if admin else None)
    if admin:
        server["access_token"] = "<the server's access token>"
    assert snapshot_without_secrets(response)


async def test_entry_must_be_given_when_several(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    sam: StandInAccount,
    client_identifier: str,
) -> None:
    """With two linked accounts, the action needs to know which."""
    second = linked_entry(plex_tv, sam, client_identifier)
    second.add_to_hass(hass)
    await hass.config_entries.async_setup(second.entry_id)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, "get_servers")
    assert caught.value.translation_domain == "homeassistant"
    assert (
        caught.value.translation_key == "service_found_multiple_config_entry_for_domain"
    )
    response = await _call(hass, "get_servers", config_entry_id=second.entry_id)
    assert response == {"servers": []}


@pytest.mark.parametrize("action", ["get_token", "get_servers"])
async def test_missing_or_unloaded_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry, action: str
) -> None:
    """Unknown, foreign or unloaded entries are clear, translated errors."""
    foreign = MockConfigEntry(domain="other")
    foreign.add_to_hass(hass)

    async def refused(**data: Any) -> str:
        with pytest.raises(ServiceValidationError) as caught:
            await _call(hass, action, **data)
        assert caught.value.translation_domain == "homeassistant"
        return str(caught.value.translation_key)

    assert await refused(config_entry_id="nope") == "service_config_entry_not_found"
    assert (
        await refused(config_entry_id=foreign.entry_id)
        == "service_config_entry_wrong_domain"
    )
    await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    for data in ({"config_entry_id": init_integration.entry_id}, {}):
        assert await refused(**data) == "service_config_entry_not_loaded"
    await hass.config_entries.async_remove(init_integration.entry_id)
    assert await refused() == "service_found_no_config_entry_for_domain"


async def test_python_api(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    init_integration: MockConfigEntry,
    token: str,
) -> None:
    """Other integrations read the token, headers, account and servers."""
    assert async_get_token(hass) == token
    assert async_get_token(hass, init_integration.entry_id) == token
    assert async_get_headers(hass)["X-Plex-Token"] == token
    assert async_get_account(hass).uuid == plex_tv.demo_account.uuid
    servers = async_get_servers(hass)
    assert [server.name for server in servers] == ["Media Shelf"]
    assert servers[0].best_connection is not None
    assert token not in repr(servers)
    assert str(servers[0].access_token) not in repr(servers)

    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError):
        async_get_token(hass)
