"""The page Plex's sign-in sends the browser back to: it only closes the tab.

The flow never depends on it. Home Assistant may not know an address the
browser can reach (proxies, container addresses, the mobile app), so the PIN
is polled either way and the flow finishes without this page.
"""

from __future__ import annotations

from aiohttp import web
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.network import NoURLAvailableError, get_url

from .const import DOMAIN

SIGNED_IN_PATH = f"/api/{DOMAIN}/signed_in"
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Plex Link</title></head>
<body style="font-family: sans-serif; text-align: center; margin-top: 3rem">
<p>Signed in to Plex. You can close this tab: Home Assistant continues by itself.</p>
<script>window.close();</script>
</body></html>
"""


class PlexLinkSignedInView(HomeAssistantView):
    """A static page that closes the sign-in tab; it reads and holds nothing."""

    url = SIGNED_IN_PATH
    name = f"api:{DOMAIN}:signed_in"
    requires_auth = False

    async def get(self, request: web.Request) -> web.Response:
        """Return the page."""
        return web.Response(text=PAGE, content_type="text/html")


@callback
def async_signed_in_url(hass: HomeAssistant) -> str | None:
    """Return where the sign-in page should send the browser, or None if unknown."""
    try:
        base = get_url(hass)
    except NoURLAvailableError:
        return None
    return f"{base}{SIGNED_IN_PATH}"
