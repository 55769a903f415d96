"""Home Assistant as the linked account's Plex webhook: registered at plex.tv, fed by servers.

plex.tv keeps one list of webhook URLs per account and can only replace it
whole, so every change reads the list, keeps each URL Plex Link did not put
there and writes it straight back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from http import HTTPStatus

from aiohttp import web
from aiohttp.hdrs import METH_POST
from homeassistant.components import webhook
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util import dt as dt_util
from yarl import URL

from .const import CONF_EVENTS, CONF_REMOTE_SERVER, DOMAIN, LOGGER
from .coordinator import PlexLinkConfigEntry, PlexLinkCoordinator
from .plexserver import WebhookEvent, WebhookPayloadError, read_webhook_payload
from .plextv import PlexTvClient, PlexTvError, PlexTvPlexPassRequiredError

REPAIR_AFTER = timedelta(days=1)


def event_signal(entry: PlexLinkConfigEntry) -> str:
    """Return the dispatcher signal that carries the entry's Plex events."""
    return f"{DOMAIN}_{entry.entry_id}_event"


def events_enabled(entry: PlexLinkConfigEntry) -> bool:
    """Tell whether the person wants playback and library events (the default)."""
    enabled: bool = entry.options.get(CONF_EVENTS, True)
    return enabled


def remote_server(entry: PlexLinkConfigEntry) -> bool:
    """Tell whether the person said a server posts from another network (not the default)."""
    remote: bool = entry.options.get(CONF_REMOTE_SERVER, False)
    return remote


def webhook_url(hass: HomeAssistant, entry: PlexLinkConfigEntry) -> str | None:
    """Return the address servers should post to, by Home Assistant's network settings.

    The local address (internal URL first) unless the person said a server is
    on another network; then the external URL or Home Assistant Cloud.
    """
    try:
        if remote_server(entry):
            base = get_url(hass, allow_internal=False, prefer_cloud=True)
        else:
            base = get_url(hass, allow_external=False, allow_cloud=False)
    except NoURLAvailableError:
        return None
    return f"{base}{webhook.async_generate_path(entry.data[CONF_WEBHOOK_ID])}"


async def async_replace_own_url(
    client: PlexTvClient, token: str, webhook_id: str, url: str | None
) -> None:
    """Put url in the account's webhook list in place of Plex Link's old one (None: remove it).

    Every other URL stays, in its order; nothing is written when nothing changes.
    """
    path = webhook.async_generate_path(webhook_id)
    current = await client.get_webhooks(token)
    wanted = [u for u in current if _path(u) != path]
    if url is not None:
        wanted.append(url)
    if wanted != current:
        await client.set_webhooks(token, wanted)


def _path(url: str) -> str | None:
    """Return a URL's path, or None for a URL that cannot be parsed (someone else's)."""
    try:
        return URL(url).path
    except ValueError:
        return None


async def async_remove_own_url(
    client: PlexTvClient, token: str, webhook_id: str, account: str
) -> None:
    """Take Plex Link's URL out of the account's webhook list, best effort."""
    try:
        await async_replace_own_url(client, token, webhook_id, None)
    except PlexTvPlexPassRequiredError:
        LOGGER.debug("%s has no Plex Pass, so no webhook to remove", account)
    except PlexTvError as err:
        LOGGER.warning(
            "Could not remove Home Assistant from the webhooks of %s; remove it "
            "under Settings > Webhooks at plex.tv: %s",
            account,
            err,
        )


class PlexLinkWebhook:
    """One entry's webhook: its handler in Home Assistant and its URL at plex.tv."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PlexLinkConfigEntry,
        coordinator: PlexLinkCoordinator,
    ) -> None:
        """Serve the entry's webhook for the servers its coordinator knows."""
        self._hass = hass
        self._entry = entry
        self._coordinator = coordinator
        self.registered_url: str | None = None
        self._failing_since: datetime | None = None

    @property
    def receiving(self) -> bool:
        """Tell whether servers' posts are taken: events are on and the account has Plex Pass."""
        return events_enabled(self._entry) and self._coordinator.data.account.plex_pass

    @property
    def _issue_id(self) -> str:
        """Return the repair issue's id for this entry."""
        return f"webhook_{self._entry.entry_id}"

    @callback
    def async_start(self) -> None:
        """Receive posts (events on), and sync the URL at plex.tv after each refresh."""
        entry = self._entry
        webhook_id = entry.data[CONF_WEBHOOK_ID]
        if self.receiving:
            webhook.async_register(
                self._hass,
                DOMAIN,
                entry.title,
                webhook_id,
                self._async_handle_post,
                local_only=not remote_server(entry),
                allowed_methods=[METH_POST],
            )
            entry.async_on_unload(
                lambda: webhook.async_unregister(self._hass, webhook_id)
            )
        entry.async_on_unload(self._coordinator.async_add_listener(self._async_sync))
        self._async_sync()

    @callback
    def _async_sync(self) -> None:
        """Bring the account's webhook list in line, in the background."""
        if self._coordinator.last_update_success:
            self._entry.async_create_background_task(
                self._hass, self._async_sync_now(), f"{DOMAIN} webhook"
            )

    async def _async_sync_now(self) -> None:
        """Register (or remove) the URL; failures are retried at the next refresh."""
        if not self._coordinator.data.account.plex_pass:
            return
        url = None
        if events_enabled(self._entry):
            url = webhook_url(self._hass, self._entry)
            if url is None:
                self._async_failed("Home Assistant knows no address of its own")
                return
        try:
            await async_replace_own_url(
                self._coordinator.client,
                self._entry.data[CONF_TOKEN],
                self._entry.data[CONF_WEBHOOK_ID],
                url,
            )
        except PlexTvError as err:
            self._async_failed(str(err))
            return
        if self._failing_since is not None:
            LOGGER.info("Plex webhook of %s registered again", self._entry.title)
            self._failing_since = None
            ir.async_delete_issue(self._hass, DOMAIN, self._issue_id)
        self.registered_url = url

    @callback
    def _async_failed(self, reason: str) -> None:
        """Log the first failure; raise a repair issue once it has lasted a day."""
        now = dt_util.utcnow()
        if self._failing_since is None:
            self._failing_since = now
            LOGGER.warning(
                "Could not register Home Assistant as the Plex webhook of %s; "
                "retrying at each refresh: %s",
                self._entry.title,
                reason,
            )
        elif now - self._failing_since >= REPAIR_AFTER:
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                self._issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="webhook_failing",
                translation_placeholders={"account": self._entry.title},
            )

    async def _async_handle_post(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Turn a server's post into an event; anything else is refused or ignored."""
        try:
            event = WebhookEvent.from_json(await read_webhook_payload(request))
        except WebhookPayloadError as err:
            LOGGER.debug("Ignored a post to the Plex webhook: %s", err)
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        if event.server_uuid in self._coordinator.data.servers:
            async_dispatcher_send(hass, event_signal(self._entry), event)
        return web.Response(status=HTTPStatus.OK)
