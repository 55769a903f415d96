"""Posters and background art of the libraries, served by Home Assistant without a Plex token.

A card cannot send Home Assistant's authorization header with an image, so
the URLs Plex Link hands out carry a signature of Home Assistant's own
(`authSig`, from `async_sign_path`) that expires after two days; Plex Link
signs each URL anew once it is twelve hours old, so a card that is left open
always holds a valid one. The view fetches the image from the server with
the server's token in a header, resized by the server, checks that it is an
image, and keeps the last ones in a small cache: a poster a hundred browsers
ask for is fetched once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime, timedelta
import hashlib
from http import HTTPStatus
from typing import TYPE_CHECKING, Final

from aiohttp import hdrs, web
from homeassistant.components.http import KEY_HASS
from homeassistant.components.http.auth import async_sign_path
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .plexserver import (
    LibraryItem,
    PlexServerClient,
    PlexServerError,
    PlexServerResponseError,
)

if TYPE_CHECKING:
    from .libraries import PlexLinkLibraryCoordinator

IMAGE_URL: Final = (
    f"/api/{DOMAIN}/images/{{entry_id}}/{{machine_identifier}}/{{rating_key}}/{{kind}}"
)
# Each kind's default size: a poster as the card shows it, art as a backdrop.
KINDS: Final = {"poster": (400, 600), "fanart": (1280, 720)}
MAX_SIDE: Final = 2000
URL_LIFETIME: Final = timedelta(days=2)
RESIGN_AFTER: Final = timedelta(hours=12)
BROWSER_MAX_AGE: Final = 24 * 60 * 60
CACHE_IMAGES: Final = 64
CACHE_BYTES: Final = 32 * 1024 * 1024
CACHE_ITEMS: Final = 256
MAX_SIGNED: Final = 1024

type _ImageKey = tuple[str, int, int]


class PlexLinkImageCache:
    """One server's images as last fetched, by path and size, and the items looked up.

    Bounded: at most CACHE_IMAGES images and CACHE_BYTES bytes, the least
    recently used going first; at most CACHE_ITEMS items. fetches counts
    the images asked of the server.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._images: OrderedDict[_ImageKey, tuple[bytes, str]] = OrderedDict()
        self._bytes = 0
        self._items: OrderedDict[str, LibraryItem] = OrderedDict()
        self._signed: dict[tuple[str, str, str], tuple[str, datetime]] = {}
        self._fetching: dict[_ImageKey, asyncio.Lock] = {}
        self.fetches = 0

    def clear(self) -> None:
        """Forget every image and item: the server's token changed."""
        self._images.clear()
        self._bytes = 0
        self._items.clear()

    async def async_image(
        self, client: PlexServerClient, path: str, width: int, height: int
    ) -> tuple[bytes, str]:
        """Return an image of the server and its content type, fetched once per size."""
        key = (path, width, height)
        if (found := self._cached(key)) is not None:
            return found
        lock = self._fetching.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if (found := self._cached(key)) is not None:
                    return found
                self.fetches += 1
                body, content_type = await client.get_image(
                    path, width=width, height=height
                )
                self._store(key, body, content_type)
                return body, content_type
        finally:
            if not lock.locked():
                self._fetching.pop(key, None)

    def _cached(self, key: _ImageKey) -> tuple[bytes, str] | None:
        """Return a cached image, now the most recently used, or None."""
        if (found := self._images.get(key)) is not None:
            self._images.move_to_end(key)
        return found

    def _store(self, key: _ImageKey, body: bytes, content_type: str) -> None:
        """Keep an image, dropping the least recently used beyond the bounds."""
        self._images[key] = (body, content_type)
        self._bytes += len(body)
        while len(self._images) > CACHE_IMAGES or (
            self._bytes > CACHE_BYTES and len(self._images) > 1
        ):
            _, (dropped, _) = self._images.popitem(last=False)
            self._bytes -= len(dropped)

    async def async_item(
        self, client: PlexServerClient, rating_key: str
    ) -> LibraryItem:
        """Return an item of the server, read once."""
        if (item := self._items.get(rating_key)) is not None:
            self._items.move_to_end(rating_key)
            return item
        item = await client.get_item(rating_key)
        self._items[rating_key] = item
        while len(self._items) > CACHE_ITEMS:
            self._items.popitem(last=False)
        return item

    def signed(
        self,
        hass: HomeAssistant,
        url: str,
        key: tuple[str, str, str],
    ) -> str:
        """Return url signed, the same until it is RESIGN_AFTER old, then signed anew."""
        now = dt_util.utcnow()
        found = self._signed.get(key)
        if found is not None and now - found[1] < RESIGN_AFTER:
            return found[0]
        if len(self._signed) >= MAX_SIGNED:
            self._signed = {
                k: v for k, v in self._signed.items() if now - v[1] < RESIGN_AFTER
            }
        signed = async_sign_path(hass, url, URL_LIFETIME, use_content_user=True)
        self._signed[key] = (signed, now)
        return signed


def image_path(item: LibraryItem, kind: str) -> str | None:
    """Return the server's path of an item's poster or art."""
    return item.poster if kind == "poster" else item.fanart


@callback
def async_image_url(
    hass: HomeAssistant,
    coordinator: PlexLinkLibraryCoordinator,
    item: LibraryItem,
    kind: str,
) -> str | None:
    """Return the signed URL of an item's poster or art in Home Assistant, or None without one.

    The URL names the entry, the server and the item, and a version that
    changes with the server's image path; never a token or an address.
    """
    if (path := image_path(item, kind)) is None:
        return None
    version = hashlib.sha256(path.encode()).hexdigest()[:12]
    url = IMAGE_URL.format(
        entry_id=coordinator.config_entry.entry_id,
        machine_identifier=coordinator.machine_identifier,
        rating_key=item.rating_key,
        kind=kind,
    )
    return coordinator.images.signed(
        hass, f"{url}?v={version}", (item.rating_key, kind, version)
    )


def _side(request: web.Request, name: str, default: int) -> int | None:
    """Return a side the request asks for, within 1..MAX_SIDE, the default if absent, None if not a number."""
    if (value := request.query.get(name)) is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 5:
        return None
    return min(max(int(value), 1), MAX_SIDE)


class PlexLinkImageView(HomeAssistantView):
    """Serves the posters and art of the libraries' items to signed or signed-in requests."""

    url = IMAGE_URL
    name = f"api:{DOMAIN}:images"
    requires_auth = True

    async def get(
        self,
        request: web.Request,
        entry_id: str,
        machine_identifier: str,
        rating_key: str,
        kind: str,
    ) -> web.Response:
        """Return the image; 404 for what the entry does not reach, 502 when the server fails."""
        hass = request.app[KEY_HASS]
        if kind not in KINDS or not (rating_key.isascii() and rating_key.isalnum()):
            return _status(HTTPStatus.NOT_FOUND)
        entry = hass.config_entries.async_get_entry(entry_id)
        if (
            entry is None
            or entry.domain != DOMAIN
            or entry.state is not ConfigEntryState.LOADED
            or (coordinator := entry.runtime_data.libraries.get(machine_identifier))
            is None
        ):
            return _status(HTTPStatus.NOT_FOUND)
        default_width, default_height = KINDS[kind]
        width = _side(request, "width", default_width)
        height = _side(request, "height", default_height)
        if width is None or height is None:
            return _status(HTTPStatus.BAD_REQUEST)
        try:
            item = (
                coordinator.data.find(rating_key) if coordinator.data else None
            ) or await coordinator.images.async_item(coordinator.client, rating_key)
            if (path := image_path(item, kind)) is None:
                return _status(HTTPStatus.NOT_FOUND)
            body, content_type = await coordinator.images.async_image(
                coordinator.client, path, width, height
            )
        except PlexServerResponseError as err:
            if err.status == HTTPStatus.NOT_FOUND:
                return _status(HTTPStatus.NOT_FOUND)
            return _status(HTTPStatus.BAD_GATEWAY)
        except PlexServerError:
            return _status(HTTPStatus.BAD_GATEWAY)
        return web.Response(
            body=body,
            content_type=content_type,
            headers={
                hdrs.CACHE_CONTROL: f"private, max-age={BROWSER_MAX_AGE}",
                "X-Content-Type-Options": "nosniff",
            },
        )


def _status(status: HTTPStatus) -> web.Response:
    """Return an empty answer with a status."""
    return web.Response(status=status)
