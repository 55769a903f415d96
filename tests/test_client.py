"""Tests of how Home Assistant's plex.tv client is built."""

from __future__ import annotations

import logging
from unittest.mock import patch
import uuid

from homeassistant.core import HomeAssistant
from homeassistant.helpers import instance_id
import pytest

from custom_components.plex_link.client import async_client_identifier, plex_tv_base_url
from custom_components.plex_link.const import PLEX_TV_URL_ENV


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "https://plex.tv"),
        ("", "https://plex.tv"),
        ("http://127.0.0.1:8124", "http://127.0.0.1:8124"),
        ("https://plex.example.test/prefix", "https://plex.example.test/prefix"),
    ],
)
def test_base_url(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str
) -> None:
    """PLEX_LINK_PLEX_TV_URL points the client at another plex.tv."""
    if value is None:
        monkeypatch.delenv(PLEX_TV_URL_ENV, raising=False)
    else:
        monkeypatch.setenv(PLEX_TV_URL_ENV, value)
    assert plex_tv_base_url() == expected


@pytest.mark.parametrize(
    "value",
    [
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "127.0.0.1:8124",
        "http://[::1",
        "javascript:alert(1)",
    ],
)
def test_base_url_refuses_anything_but_http(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    """Anything but an http(s) URL is refused with a clear log line."""
    monkeypatch.setenv(PLEX_TV_URL_ENV, value)
    with caplog.at_level(logging.ERROR):
        assert plex_tv_base_url() == "https://plex.tv"
    assert f"Ignoring {PLEX_TV_URL_ENV}" in caplog.text


async def test_client_identifier_is_stable_and_private(hass: HomeAssistant) -> None:
    """One identifier per installation, derived from but not equal to the instance id."""
    first = await async_client_identifier(hass)
    assert first == await async_client_identifier(hass)
    instance = await instance_id.async_get(hass)
    assert uuid.UUID(first).hex != uuid.UUID(instance).hex
    assert instance not in first.replace("-", "")
    with patch("homeassistant.helpers.instance_id.async_get", return_value="0" * 32):
        assert await async_client_identifier(hass) not in (first, "0" * 32)
