"""Home Assistant as the linked account's Plex webhook: registered at plex.tv, fed by servers.

plex.tv keeps one list of webhook URLs per account and can only replace it
whole, so every change reads the list, keeps each URL Plex Link did not put
there and writes it straight back.

The handler in Home Assistant and the event entities follow the account's
Plex Pass at every refresh, without waiting for plex.tv's webhook answers. The
list at plex.tv is brought in line at setup (so after an options change too),
when the Plex Pass comes or goes, when Home Assistant's address changes, at the
next refresh after a failure, and once an hour, so a URL deleted in Plex's
settings comes back within the hour: 25 plex.tv requests an hour per account
with events on (26 in an hour that puts the URL back).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.hdrs import METH_POST
from homeassistant.components import webhook
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID, EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from yarl import URL

from .const import CONF_EVENTS, CONF_REMOTE_SERVER, DOMAIN, LOGGER
from .coordinator import PlexLinkConfigEntry, PlexLinkCoordinator
from .plexserver import WebhookEvent, WebhookPayloadError, read_webhook_payload
from .plextv import PlexTvClient, PlexTvError, PlexTvPlexPassRequiredError

CONF_CLOUDHOOK_URL = "cloudhook_url"
REPAIR_AFTER = timedelta(days=1)
SYNC_INTERVAL = timedelta(hours=1)
STORE_VERSION = 1


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


def issue_id(entry_id: str) -> str:
    """Return the id of the repair issue raised for an entry's webhook."""
    return f"webhook_{entry_id}"


def failure_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, str]]:
    """Return the store that keeps when an entry's registration began to fail.

    It exists only while registration fails, so the day before a repair counts
    across reloads and restarts.
    """
    return Store(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}.webhook")


def _cloud_subscribed(hass: HomeAssistant) -> bool:
    """Tell whether Home Assistant Cloud is loaded and signed in with a subscription."""
    if "cloud" not in hass.config.components:
        return False
    # Imported only once Cloud is loaded: importing it costs over a second.
    from homeassistant.components import cloud

    return cloud.async_active_subscription(hass)


async def async_webhook_url(
    hass: HomeAssistant, entry: PlexLinkConfigEntry
) -> str | None:
    """Return the address servers should post to, by Home Assistant's network settings.

    The local address (internal URL first) unless the person said a server is
    on another network; then a Home Assistant Cloud webhook where Cloud is
    signed in (created once, kept in the entry's data), else the external URL.
    """
    webhook_id: str = entry.data[CONF_WEBHOOK_ID]
    if (
        remote_server(entry)
        and _cloud_subscribed(hass)
        and (url := await _async_cloudhook(hass, entry))
    ):
        return url
    try:
        return webhook.async_generate_url(
            hass,
            webhook_id,
            allow_internal=not remote_server(entry),
            allow_external=remote_server(entry),
        )
    except NoURLAvailableError:
        return None


async def _async_cloudhook(
    hass: HomeAssistant, entry: PlexLinkConfigEntry
) -> str | None:
    """Return the entry's Home Assistant Cloud webhook, created once; None if Cloud makes none now."""
    if url := entry.data.get(CONF_CLOUDHOOK_URL):
        return str(url)
    from hass_nabucasa.exceptions import NabuCasaBaseError
    from homeassistant.components import cloud

    try:
        url = await cloud.async_get_or_create_cloudhook(
            hass, entry.data[CONF_WEBHOOK_ID]
        )
    except (HomeAssistantError, NabuCasaBaseError, ValueError, TimeoutError) as err:
        LOGGER.debug(
            "Home Assistant Cloud made no webhook for %s: %s", entry.title, err
        )
        return None
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_CLOUDHOOK_URL: url}
    )
    return url


async def async_delete_cloudhook(
    hass: HomeAssistant, entry: PlexLinkConfigEntry
) -> None:
    """Delete the entry's Home Assistant Cloud webhook, if it has one; best effort."""
    if CONF_CLOUDHOOK_URL not in entry.data:
        return
    if "cloud" in hass.config.components:
        from hass_nabucasa.exceptions import NabuCasaBaseError
        from homeassistant.components import cloud

        if cloud.async_is_logged_in(hass):
            try:
                await cloud.async_delete_cloudhook(hass, entry.data[CONF_WEBHOOK_ID])
            except (HomeAssistantError, NabuCasaBaseError, ValueError) as err:
                LOGGER.debug(
                    "Home Assistant Cloud kept the webhook of %s: %s", entry.title, err
                )
    if hass.config_entries.async_get_entry(entry.entry_id) is entry:
        hass.config_entries.async_update_entry(
            entry,
            data={k: v for k, v in entry.data.items() if k != CONF_CLOUDHOOK_URL},
        )


async def async_replace_own_url(
    client: PlexTvClient,
    token: str,
    webhook_id: str,
    url: str | None,
    *,
    cloudhook: str | None = None,
) -> None:
    """Put url in the account's webhook list in place of Plex Link's old one (None: remove it).

    Plex Link's are the URLs with the webhook's path, and its Home Assistant
    Cloud webhook. Every other URL stays, in its order; nothing is written
    when nothing changes.
    """
    path = webhook.async_generate_path(webhook_id)
    current = await client.get_webhooks(token)
    wanted = [u for u in current if u != cloudhook and _path(u) != path]
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


async def async_remove_webhook(
    hass: HomeAssistant, client: PlexTvClient, entry: PlexLinkConfigEntry
) -> None:
    """Undo everything the entry's webhook left behind, at removal; best effort.

    Plex Link's URL leaves the account's list at plex.tv, the Home Assistant
    Cloud webhook is deleted, and so are the repair and the failure record.
    """
    try:
        await async_replace_own_url(
            client,
            entry.data[CONF_TOKEN],
            entry.data[CONF_WEBHOOK_ID],
            None,
            cloudhook=entry.data.get(CONF_CLOUDHOOK_URL),
        )
    except PlexTvPlexPassRequiredError:
        LOGGER.debug("%s has no Plex Pass, so no webhook to remove", entry.title)
    except PlexTvError as err:
        LOGGER.warning(
            "Could not remove Home Assistant from the webhooks of %s; remove it "
            "under Settings > Webhooks at plex.tv: %s",
            entry.title,
            err,
        )
    await async_delete_cloudhook(hass, entry)
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry.entry_id))
    await failure_store(hass, entry.entry_id).async_remove()


@callback
def _address_changed(data: Mapping[str, Any]) -> bool:
    """Tell whether a core configuration update changed Home Assistant's address."""
    return "internal_url" in data or "external_url" in data


class PlexLinkWebhook:
    """One entry's webhook: its handler in Home Assistant and its URL at plex.tv.

    The handler is registered while events are on and the account has Plex
    Pass, as of the last refresh. One sync runs at a time, in a task of the
    entry (so it ends when the entry unloads); a sync asked for meanwhile runs
    after it, with what is true then.
    """

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
        self._listening = False
        self._plex_pass = coordinator.data.account.plex_pass
        self._due = self._plex_pass
        self._syncing = False
        self._sync_again = False
        self._failing = False
        self._store = failure_store(hass, entry.entry_id)
        self._loaded = False
        self._failing_since: datetime | None = None

    @property
    def receiving(self) -> bool:
        """Tell whether servers' posts should be taken: events are on and the account has Plex Pass."""
        return events_enabled(self._entry) and self._coordinator.data.account.plex_pass

    @property
    def listening(self) -> bool:
        """Tell whether the handler is registered, so servers' posts become events."""
        return self._listening

    @callback
    def async_start(self) -> None:
        """Follow the account's Plex Pass at each refresh; sync now and when due."""
        entry = self._entry
        entry.async_on_unload(self._async_stop_listening)
        entry.async_on_unload(
            self._coordinator.async_add_listener(self._async_refreshed)
        )
        entry.async_on_unload(
            async_track_time_interval(
                self._hass,
                self._async_sync_due,
                SYNC_INTERVAL,
                name=f"{DOMAIN} webhook check",
            )
        )
        entry.async_on_unload(
            self._hass.bus.async_listen(
                EVENT_CORE_CONFIG_UPDATE,
                self._async_sync_due,
                event_filter=_address_changed,
            )
        )
        self._async_follow_plex_pass()
        if self._due:
            self._async_sync()

    @callback
    def _async_follow_plex_pass(self) -> None:
        """Register the handler while receiving, unregister it otherwise."""
        if self.receiving and not self._listening:
            webhook.async_register(
                self._hass,
                DOMAIN,
                self._entry.title,
                self._entry.data[CONF_WEBHOOK_ID],
                self._async_handle_post,
                local_only=not remote_server(self._entry),
                allowed_methods=[METH_POST],
            )
            self._listening = True
        elif not self.receiving:
            self._async_stop_listening()

    @callback
    def _async_stop_listening(self) -> None:
        """Unregister the handler, if it is registered."""
        if self._listening:
            webhook.async_unregister(self._hass, self._entry.data[CONF_WEBHOOK_ID])
            self._listening = False

    @callback
    def _async_refreshed(self) -> None:
        """After a refresh: follow a Plex Pass that came or went, sync if due."""
        if not self._coordinator.last_update_success:
            return
        plex_pass = self._coordinator.data.account.plex_pass
        if plex_pass != self._plex_pass:
            self._plex_pass = plex_pass
            self._due = True
            self._async_follow_plex_pass()
        if self._due:
            self._async_sync()

    @callback
    def _async_sync_due(self, _: datetime | Event | None = None) -> None:
        """Sync now (at the next refresh if plex.tv is failing): hourly, or for a new address."""
        if not self.receiving:
            return
        self._due = True
        if self._coordinator.last_update_success:
            self._async_sync()

    @callback
    def _async_sync(self) -> None:
        """Bring the account's webhook list in line, in one task of the entry."""
        self._due = False
        if self._syncing:
            self._sync_again = True
            return
        self._syncing = True
        self._entry.async_create_background_task(
            self._hass, self._async_sync_while_asked(), f"{DOMAIN} webhook"
        )

    async def _async_sync_while_asked(self) -> None:
        """Sync, and again as long as another sync was asked for meanwhile."""
        try:
            self._sync_again = True
            while self._sync_again:
                self._sync_again = False
                await self._async_sync_now()
        finally:
            self._syncing = False

    async def _async_sync_now(self) -> None:
        """Register (or remove) the URL; a failure is retried at the next refresh.

        Without Plex Pass plex.tv refuses the list: then there is nothing to remove.
        """
        entry = self._entry
        await self._async_load_failing_since()
        cloudhook = entry.data.get(CONF_CLOUDHOOK_URL)
        url = await async_webhook_url(self._hass, entry) if self.receiving else None
        if url is None and self.receiving:
            await self._async_failed(None)
            return
        try:
            await async_replace_own_url(
                self._coordinator.client,
                entry.data[CONF_TOKEN],
                entry.data[CONF_WEBHOOK_ID],
                url,
                cloudhook=cloudhook,
            )
        except PlexTvError as err:
            if url is not None:
                await self._async_failed(err)
                return
            if not isinstance(err, PlexTvPlexPassRequiredError):
                self._due = True
                LOGGER.debug("Could not remove the webhook of %s: %s", entry.title, err)
                return
        self.registered_url = url
        if not remote_server(entry):
            await async_delete_cloudhook(self._hass, entry)
        await self._async_succeeded()

    async def _async_load_failing_since(self) -> None:
        """Read, once, since when registration has failed (across restarts)."""
        if self._loaded:
            return
        self._loaded = True
        stored = await self._store.async_load() or {}
        since = stored.get("failing_since")
        if isinstance(since, str):
            self._failing_since = dt_util.parse_datetime(since)

    async def _async_failed(self, err: PlexTvError | None) -> None:
        """Log the first failure; raise a repair issue once failures have lasted a day.

        err is what plex.tv answered; None when Home Assistant knows no address
        of its own. The repair names that cause.
        """
        self._due = True
        entry = self._entry
        if not self._failing:
            self._failing = True
            if err is None:
                LOGGER.warning(
                    "Could not register Home Assistant as the Plex webhook of %s: "
                    "Home Assistant knows no address of its own to give plex.tv "
                    "(Settings > System > Network); retrying at each refresh",
                    entry.title,
                )
            else:
                LOGGER.warning(
                    "Could not register Home Assistant as the Plex webhook of %s; "
                    "retrying at each refresh: %s",
                    entry.title,
                    err,
                )
        now = dt_util.utcnow()
        if self._failing_since is None:
            self._failing_since = now
            await self._store.async_save({"failing_since": now.isoformat()})
        elif now - self._failing_since >= REPAIR_AFTER:
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                issue_id(entry.entry_id),
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="webhook_no_address"
                if err is None
                else "webhook_failing",
                translation_placeholders={"account": entry.title},
            )

    async def _async_succeeded(self) -> None:
        """Forget every failure: the repair and the stored time go, whoever raised them."""
        if self._failing:
            LOGGER.info("Plex webhook of %s registered again", self._entry.title)
            self._failing = False
        ir.async_delete_issue(self._hass, DOMAIN, issue_id(self._entry.entry_id))
        if self._failing_since is not None:
            self._failing_since = None
            await self._store.async_remove()

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
