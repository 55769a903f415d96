"""Fixtures shared by the Plex Link tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import hashlib
import logging
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.setup import async_setup_component
from hypothesis import settings
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.plex_link import activity, libraries, players
from custom_components.plex_link.client import async_client_identifier
from custom_components.plex_link.config_flow import PlexLinkConfigFlow
from custom_components.plex_link.const import (
    CONF_CLIENT_IDENTIFIER,
    DOMAIN,
    PLEX_TV_URL_ENV,
)
from custom_components.plex_link.plexserver import NotificationListener
from custom_components.plex_link.plextv import PinLinker, PlexTvClient

from .standin import PlexTvStandIn, StandInAccount
from .standin.server import PlexMediaServerStandIn

# Property-based tests: at least 2,000 examples per parser in CI;
# `pytest --hypothesis-profile=long` for a longer local run.
settings.register_profile("ci", max_examples=2_000, deadline=None)
settings.register_profile("long", max_examples=50_000, deadline=None)
settings.load_profile("ci")


async def wait_for(condition: Callable[[], object], seconds: float = 30.0) -> None:
    """Let the event loop run until condition holds; fail after a deadline.

    The deadline only ends a wait that would never end: no verdict depends
    on how fast the machine is.
    """
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return an entity's state, or None when it does not exist."""
    current = hass.states.get(entity_id)
    return current.state if current is not None else None


def attribute(hass: HomeAssistant, entity_id: str, name: str) -> Any:
    """Return one attribute of an entity's state; the entity must exist."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.attributes.get(name)


@pytest.fixture
def fast_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Follow Plex Media Servers without waiting on timers: tests wait for what they check.

    The websocket reconnects within 50 ms and sends no pings (moving the
    clock to fire a poll must not also fire a ping's timeout); reads are
    debounced 50 ms. Requests keep their own time limits, and plex.tv gets
    5 s: a loaded machine must not fail a read that a test expects to succeed.
    """
    monkeypatch.setattr(NotificationListener, "initial_backoff", 0.01)
    monkeypatch.setattr(NotificationListener, "max_backoff", 0.05)
    monkeypatch.setattr(NotificationListener, "heartbeat", 3600.0)
    monkeypatch.setattr(activity, "REFRESH_COOLDOWN", 0.05)
    monkeypatch.setattr(libraries, "REFRESH_COOLDOWN", 0.05)
    monkeypatch.setattr(players, "UNKNOWN_PLAYER_COOLDOWN", 0.05)
    monkeypatch.setattr(PlexTvClient, "request_timeout", 5.0)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialize Home Assistant objects the way core's snapshots do."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components."""


@pytest.fixture(autouse=True)
def fast_plex_tv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll every 10 ms and time requests out after 0.2 s, so tests run quickly."""
    monkeypatch.setattr(PinLinker, "poll_interval", 0.01)
    monkeypatch.setattr(PinLinker, "max_backoff", 0.05)
    monkeypatch.setattr(PinLinker, "max_retry_after", 0.05)
    monkeypatch.setattr(PlexTvClient, "request_timeout", 0.2)


@pytest.fixture
async def plex_tv(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[PlexTvStandIn]:
    """Serve the plex.tv stand-in on loopback and point the integration at it."""
    standin = PlexTvStandIn()
    monkeypatch.setenv(PLEX_TV_URL_ENV, await standin.start())
    yield standin
    await standin.stop()


@pytest.fixture(autouse=True)
def fixed_instance_id() -> Iterator[None]:
    """Give Home Assistant one instance id in every test, so snapshots hold."""
    with patch(
        "homeassistant.helpers.instance_id.async_get",
        return_value="5e6fa6d2b6cf4c2b8f0d2d1e2c3b4a59",
    ):
        yield


@pytest.fixture
async def client_identifier(hass: HomeAssistant) -> str:
    """Return the client identifier Plex Link presents to plex.tv in this Home Assistant."""
    return await async_client_identifier(hass)


@pytest.fixture
def token(plex_tv: PlexTvStandIn, client_identifier: str) -> str:
    """Return a valid token of the demo account, issued to this Home Assistant."""
    return plex_tv.issue_token(plex_tv.demo_account, client_identifier)


def linked_entry(
    plex_tv: PlexTvStandIn,
    account: StandInAccount,
    client_identifier: str,
    token: str | None = None,
    **kwargs: Any,
) -> MockConfigEntry:
    """Return an entry for account holding a token plex.tv issued to this Home Assistant."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=account.title,
        unique_id=account.uuid,
        version=PlexLinkConfigFlow.VERSION,
        minor_version=PlexLinkConfigFlow.MINOR_VERSION,
        data={
            CONF_TOKEN: token or plex_tv.issue_token(account, client_identifier),
            CONF_CLIENT_IDENTIFIER: client_identifier,
            CONF_WEBHOOK_ID: hashlib.sha256(account.uuid.encode()).hexdigest(),
        },
        **kwargs,
    )


@pytest.fixture
def sam(plex_tv: PlexTvStandIn) -> StandInAccount:
    """Return a second Plex account at the stand-in."""
    return plex_tv.add_account(username="sam", title="Sam", email="sam@example.invalid")


@pytest.fixture
def mock_config_entry(
    plex_tv: PlexTvStandIn, token: str, client_identifier: str
) -> MockConfigEntry:
    """Return a config entry that holds a valid token of the demo account."""
    return linked_entry(
        plex_tv,
        plex_tv.demo_account,
        client_identifier,
        token,
        entry_id="01JPLEXLINK0TEST0ENTRY00000",
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> MockConfigEntry:
    """Set up Plex Link with the mock config entry.

    plex.tv gets 5 s during the setup, so that a loaded machine does not fail
    it; then the tests' own short time limit again.
    """
    mock_config_entry.add_to_hass(hass)
    with monkeypatch.context() as patched:
        patched.setattr(PlexTvClient, "request_timeout", 5.0)
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
async def plex_server(plex_tv: PlexTvStandIn) -> AsyncIterator[PlexMediaServerStandIn]:
    """Serve a Plex Media Server stand-in for the demo account's server on loopback."""
    server = PlexMediaServerStandIn(plex_tv)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def home_assistant_url(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> str:
    """Serve Home Assistant's HTTP API on loopback, as its internal URL, with Plex Link set up.

    Plex Link and the media player and image components are set up first, so
    their views (the webhook's, the media player and image proxies') exist
    before the server starts.
    """
    assert await async_setup_component(hass, DOMAIN, {})
    assert await async_setup_component(hass, "media_player", {})
    assert await async_setup_component(hass, "image", {})
    client = await hass_client_no_auth()
    hass.config.internal_url = f"http://127.0.0.1:{client.server.port}"
    return hass.config.internal_url


def assert_clean_log(caplog: pytest.LogCaptureFixture, plex_tv: PlexTvStandIn) -> None:
    """Nothing was logged as an unhandled error, and no token reached the log.

    asyncio's debug lines about the stand-in's own sockets (a client that hung
    up on purpose) are the stand-in's business, not Plex Link's; so is the
    coordinator's own debug record of the UpdateFailed Plex Link raised
    ("Full error:", since Home Assistant 2026.x).
    """
    for record in caplog.records:
        if record.name == "asyncio" and record.levelno < logging.WARNING:
            continue
        if record.msg == "Full error:" and record.exc_info:
            assert record.exc_info[0] is UpdateFailed
            continue
        message = record.getMessage()
        assert record.exc_info is None, message
        for marker in (
            "Unexpected error",
            "Error doing job",
            "never retrieved",
            "Traceback",
        ):
            assert marker not in message
    for token in plex_tv.issued_tokens:
        assert token not in caplog.text
        assert token[:8] not in caplog.text
