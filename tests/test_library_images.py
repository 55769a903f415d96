"""Posters without a token: the signed image view, its cache, and the library image entities.

The recently added sensor's posters point at Plex Link's view in Home
Assistant, signed by Home Assistant; the view fetches each image from the
server stand-in (`/photo/:/transcode`, token in a header) once, and refuses
what is unsigned, expired, unknown or not an image.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.plex_link.const import DOMAIN
from custom_components.plex_link.libraries import PlexLinkLibraryCoordinator

from .conftest import wait_for
from .standin import Fault, PlexTvStandIn
from .standin.server import PlexMediaServerStandIn

pytestmark = pytest.mark.usefixtures("home_assistant_url")

RECENT = "sensor.media_shelf_recently_added"
NEWEST_FILM = "image.media_shelf_newest_in_movies"
JPEG = b"\xff\xd8\xff"


@pytest.fixture(autouse=True)
def server_timeouts(fast_servers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Time server requests out after 2 s, so that a fault's 3 s stall is a timeout."""
    monkeypatch.setattr(PlexLinkLibraryCoordinator, "request_timeout", 2.0)
    monkeypatch.setattr(PlexLinkLibraryCoordinator, "connect_timeout", 2.0)


@pytest.fixture
async def linked(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> MockConfigEntry:
    """Set up the demo account with its server's libraries read."""
    caplog.set_level(logging.DEBUG)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await wait_for(lambda: hass.states.get(RECENT) is not None)
    await wait_for(lambda: hass.states.get(RECENT).state != "unavailable")
    await hass.async_block_till_done(wait_background_tasks=True)
    return mock_config_entry


def items(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Return the recently added sensor's items (without the card's defaults)."""
    data: list[dict[str, Any]] = hass.states.get(RECENT).attributes["data"]
    return data[1:]


def transcodes(server: PlexMediaServerStandIn) -> int:
    """Return how many images the server was asked for."""
    return server.count("photo_transcode")


async def test_a_signed_poster_is_served_once_from_the_server(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """A signed URL works without a login; 100 requests of it fetch it from the server once."""
    client = await hass_client_no_auth()
    poster = items(hass)[0]["poster"]
    for secret in (*plex_tv.issued_tokens, plex_server.server.access_token):
        assert secret[:8] not in poster
    before = transcodes(plex_server)
    response = await client.get(poster)
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    assert (await response.read()).startswith(JPEG)

    statuses = await asyncio.gather(
        *(client.get(poster) for _ in range(100)), return_exceptions=False
    )
    assert {response.status for response in statuses} == {200}
    assert transcodes(plex_server) - before == 1
    request = next(r for r in plex_server.requests if r.endpoint == "photo_transcode")
    assert request.headers["X-Plex-Token"] == plex_server.server.access_token
    assert "X-Plex-Token" not in request.query


async def test_every_poster_of_the_card_loads(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    linked: MockConfigEntry,
) -> None:
    """Films' and episodes' posters and art all load through their signed URLs."""
    client = await hass_client_no_auth()
    urls = [item[kind] for item in items(hass) for kind in ("poster", "fanart")]
    assert all(urls)
    for url in urls:
        response = await client.get(url)
        assert response.status == 200, url
        assert response.content_type == "image/jpeg"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda url: url.with_query({"v": url.query["v"]}), id="unsigned"),
        pytest.param(
            lambda url: url.update_query(authSig=url.query["authSig"][:-4] + "AAAA"),
            id="tampered",
        ),
        pytest.param(
            lambda url: url.with_path(url.path.replace("/poster", "/fanart")),
            id="other-kind",
        ),
        pytest.param(lambda url: url.update_query(v="0"), id="other-version"),
    ],
)
async def test_unsigned_or_altered_urls_are_refused(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    change: Any,
) -> None:
    """Without a valid signature for exactly that path, 401, and nothing is fetched."""
    client = await hass_client_no_auth()
    url = URL(items(hass)[0]["poster"])
    before = transcodes(plex_server)
    response = await client.get(str(change(url)))
    assert response.status == 401
    assert transcodes(plex_server) == before


async def test_urls_expire_and_are_signed_anew_before_they_do(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    linked: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A URL works for two days; twelve hours on, the sensor holds a new one that outlives it."""
    client = await hass_client_no_auth()
    first = items(hass)[0]["poster"]
    assert (await client.get(first)).status == 200

    freezer.tick(timedelta(hours=12, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    second = items(hass)[0]["poster"]
    assert second != first
    assert URL(second).path == URL(first).path

    freezer.tick(timedelta(days=1, hours=12))
    assert (await client.get(first)).status == 401, "the first expired"
    assert (await client.get(second)).status == 200, "the second holds"


async def test_a_url_stays_the_same_between_refreshes(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """A refresh with nothing new leaves the URLs (and so the state) as they were."""
    first = [item["poster"] for item in items(hass)]
    coordinator: PlexLinkLibraryCoordinator = linked.runtime_data.libraries[
        plex_server.server.machine_identifier
    ]
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert [item["poster"] for item in items(hass)] == first


async def test_what_the_entry_does_not_reach_is_not_found(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """Signed in: unknown entries, servers, items and kinds are 404, and nothing is fetched."""
    client = await hass_client()
    machine_identifier = plex_server.server.machine_identifier
    rating_key = plex_server.entry("A Film", "movie").rating_key
    base = f"/api/{DOMAIN}/images"
    assert (
        await client.get(
            f"{base}/{linked.entry_id}/{machine_identifier}/{rating_key}/poster"
        )
    ).status == 200
    before = transcodes(plex_server)
    for path in (
        f"{base}/nope/{machine_identifier}/{rating_key}/poster",
        f"{base}/{linked.entry_id}/{'0' * 40}/{rating_key}/poster",
        f"{base}/{linked.entry_id}/{machine_identifier}/987654/poster",
        f"{base}/{linked.entry_id}/{machine_identifier}/{rating_key}/banner",
        f"{base}/{linked.entry_id}/{machine_identifier}/1%2F2/poster",
    ):
        response = await client.get(path)
        assert response.status == 404, path
    assert transcodes(plex_server) == before


async def test_sizes_are_bounded(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """width and height go to the server within 1..2000; anything but digits is 400."""
    client = await hass_client()
    machine_identifier = plex_server.server.machine_identifier
    rating_key = plex_server.entry("A Film", "movie").rating_key
    path = f"/api/{DOMAIN}/images/{linked.entry_id}/{machine_identifier}/{rating_key}/poster"
    assert (await client.get(f"{path}?width=100&height=150")).status == 200
    assert (await client.get(f"{path}?width=99999&height=0")).status == 200
    asked = [
        (r.query["width"], r.query["height"])
        for r in plex_server.requests
        if r.endpoint == "photo_transcode"
    ]
    assert asked[-2:] == [("100", "150"), ("2000", "1")]
    assert (await client.get(f"{path}?width=abc")).status == 400
    assert (await client.get(f"{path}?width=-5")).status == 400


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        pytest.param(
            Fault(status=200, body="<html>Plex</html>", content_type="text/html"),
            502,
            id="html",
        ),
        pytest.param(Fault(status=503), 502, id="5xx"),
        pytest.param(
            Fault(
                status=200, body=b"x" * (11 * 1024 * 1024), content_type="image/jpeg"
            ),
            502,
            id="oversized",
        ),
        pytest.param(Fault(status=401), 502, id="refused"),
        pytest.param(Fault(status=404), 404, id="gone"),
        pytest.param(Fault(delay=3.0, then_answer=True), 502, id="timeout"),
    ],
)
async def test_only_images_are_forwarded(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    status: int,
) -> None:
    """A server that answers anything but an image: an error status, none of its body; then the image."""
    client = await hass_client_no_auth()
    poster = items(hass)[0]["poster"]
    plex_server.inject("photo_transcode", fault)
    response = await client.get(poster)
    assert response.status == status
    body = await response.read()
    assert b"Plex" not in body
    assert b"xxxx" not in body
    response = await client.get(poster)
    assert response.status == 200
    assert (await response.read()).startswith(JPEG)
    for secret in (*plex_tv.issued_tokens, plex_server.server.access_token):
        assert secret[:8] not in caplog.text


async def test_the_image_entity_shows_the_newest_poster(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
) -> None:
    """Each library's image is its newest item's poster; a new film moves it."""
    films = sorted(
        plex_server.entries("Movies", "movie"), key=lambda e: e.added_at, reverse=True
    )
    assert hass.states.get(NEWEST_FILM).state == (
        dt_util.utc_from_timestamp(films[0].added_at).isoformat()
    )
    client = await hass_client()
    response = await client.get(f"/api/image_proxy/{NEWEST_FILM}")
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    assert (await response.read()).startswith(JPEG)
    asked = [
        r.query["url"] for r in plex_server.requests if r.endpoint == "photo_transcode"
    ]
    assert asked[-1].startswith(f"/library/metadata/{films[0].rating_key}/thumb/")

    before = hass.states.get(NEWEST_FILM).state
    new = await plex_server.add_item("Movies", title="Newer Still", notifications=())
    await wait_for(lambda: hass.states.get(NEWEST_FILM).state != before)
    response = await client.get(f"/api/image_proxy/{NEWEST_FILM}")
    assert response.status == 200
    asked = [
        r.query["url"] for r in plex_server.requests if r.endpoint == "photo_transcode"
    ]
    assert asked[-1].startswith(f"/library/metadata/{new.rating_key}/thumb/")
    shows = hass.states.get("image.media_shelf_newest_in_tv_shows")
    assert shows.attributes["friendly_name"] == "Media Shelf Newest in TV Shows"
