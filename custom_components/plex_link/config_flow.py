"""Config flow for Plex Link: a plex.tv/link code instead of a popup or a callback."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.components import webhook
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)
import probatio

from .auth_view import async_signed_in_url
from .client import async_create_client, async_sign_out
from .const import (
    CONF_CLIENT_IDENTIFIER,
    CONF_EVENTS,
    CONF_RECENTLY_ADDED,
    CONF_REMOTE_SERVER,
    DOMAIN,
    LOGGER,
    MAX_RECENTLY_ADDED,
)
from .coordinator import PlexLinkConfigEntry
from .libraries import recently_added_count
from .plextv import (
    Account,
    PinLinker,
    PlexTvAuthenticationError,
    PlexTvClient,
    PlexTvConnectionError,
    PlexTvError,
    PlexTvPinExpiredError,
    PlexTvRateLimitedError,
    PlexTvServerError,
)
from .webhooks import events_enabled, remote_server

METHODS = ["link_code", "browser"]
LIBRARY_OPTIONS: dict[probatio.Marker, Any] = {
    probatio.Optional(CONF_RECENTLY_ADDED): probatio.All(
        NumberSelector(
            NumberSelectorConfig(
                min=1, max=MAX_RECENTLY_ADDED, step=1, mode=NumberSelectorMode.BOX
            )
        ),
        probatio.Coerce(int),
        probatio.Range(min=1, max=MAX_RECENTLY_ADDED),
    ),
}
OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_EVENTS): BooleanSelector(),
        probatio.Required(CONF_REMOTE_SERVER): BooleanSelector(),
        **LIBRARY_OPTIONS,
    }
)
LIBRARIES_SCHEMA = probatio.Schema(LIBRARY_OPTIONS)


class PlexLinkConfigFlow(ConfigFlow, domain=DOMAIN):
    """Link a Plex account with a PIN that a background task waits on, then store the token.

    Two ways to approve the PIN, neither needing a way back into Home Assistant:
    a 4-character code typed at plex.tv/link, or signing in on Plex's page in
    a new browser tab.
    """

    VERSION = 1
    MINOR_VERSION = 2

    _client: PlexTvClient
    _linker: PinLinker
    _method: str = "link_code"
    _link_task: asyncio.Task[str]
    _token: str | None = None

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: PlexLinkConfigEntry,
    ) -> PlexLinkOptionsFlow:
        """Return the flow of the entry's options: playback and library events."""
        return PlexLinkOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the two ways to link, the link code first."""
        return self.async_show_menu(step_id="user", menu_options=METHODS)

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Link again because plex.tv rejected the stored token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how to link again, since reauth starts without the person."""
        return self.async_show_menu(
            step_id="reauth_confirm",
            menu_options=METHODS,
            description_placeholders={"name": self._get_reauth_entry().title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Link the same account again for a fresh token."""
        return self.async_show_menu(step_id="reconfigure", menu_options=METHODS)

    async def async_step_link_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Get a 4-character code to type at plex.tv/link."""
        return await self._async_start("link_code")

    async def async_step_browser(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Get a sign-in request to approve on Plex's page in this browser."""
        return await self._async_start("browser")

    async def async_step_new_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Start again, the same way, after the last attempt did not link."""
        return await self._async_start(self._method)

    async def async_step_link(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the code while a background task waits for the person to enter it.

        Re-entrant: a reopened dialog gets the same code and the same task.
        """
        if not self._link_task.done():
            return self.async_show_progress(
                step_id="link",
                progress_action="link",
                description_placeholders={
                    "code": self._linker.pin.code,
                    "url": self._client.link_url,
                    "qr_url": self._client.qr_url(self._linker.pin),
                    "minutes": str(max(round(self._linker.pin.lifetime / 60), 1)),
                },
                progress_task=self._link_task,
            )
        return self.async_show_progress_done(next_step_id="finish")

    async def async_step_sign_in(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Open Plex's sign-in page while a background task waits for approval.

        Completion comes from polling the PIN, never from the page returning:
        the forward URL back into Home Assistant only closes the tab.
        """
        if not self._link_task.done():
            return self.async_external_step(
                step_id="sign_in",
                url=self._client.auth_url(
                    self._linker.pin, async_signed_in_url(self.hass)
                ),
            )
        return self.async_external_step_done(next_step_id="finish")

    async def async_step_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Read the linked account and keep its token in the entry it belongs to."""
        if self._token is None:
            if (error := self._link_task.exception()) is not None:
                return self._async_show_new_code(error)
            self._token = self._link_task.result()
        try:
            account = await self._client.get_account(self._token)
        except PlexTvAuthenticationError as err:
            self._token = None
            return self._async_show_new_code(err)
        except Exception as err:  # noqa: BLE001
            return self.async_show_form(
                step_id="finish", errors={"base": _error_key(err)}
            )
        return await self._async_keep_token(account, self._token)

    async def _async_keep_token(self, account: Account, token: str) -> ConfigFlowResult:
        """Store a fresh token in its account's entry, or sign it out if none may hold it.

        plex.tv keeps one token per account and client identifier, so the new
        token has just replaced the one an existing entry of the account holds:
        it must go to that entry, whichever flow received it.
        """
        data = {
            CONF_TOKEN: token,
            CONF_CLIENT_IDENTIFIER: self._client.client_identifier,
        }
        linked = self.hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, account.uuid
        )
        if self.source == SOURCE_USER:
            if linked is None:
                await self.async_set_unique_id(account.uuid, raise_on_progress=False)
                return self.async_create_entry(
                    title=account.title,
                    data={**data, CONF_WEBHOOK_ID: webhook.async_generate_id()},
                )
            return self._async_update_and_abort(linked, data, reason="already_linked")
        entry = (
            self._get_reauth_entry()
            if self.source == SOURCE_REAUTH
            else self._get_reconfigure_entry()
        )
        placeholders = {"account": account.title, "name": entry.title}
        if linked is entry:
            return self._async_update_and_abort(entry, data, reason="relinked")
        if linked is not None:
            return self._async_update_and_abort(
                linked, data, reason="other_account_updated", placeholders=placeholders
            )
        await async_sign_out(self._client, token, account.title)
        return self.async_abort(
            reason="wrong_account", description_placeholders=placeholders
        )

    @callback
    def _async_update_and_abort(
        self,
        entry: PlexLinkConfigEntry,
        data: dict[str, Any],
        *,
        reason: str,
        placeholders: dict[str, str] | None = None,
    ) -> ConfigFlowResult:
        """Give an entry the new token, reload it, and say which account it was."""
        self.hass.config_entries.async_update_entry(entry, data={**entry.data, **data})
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_abort(
            reason=reason,
            description_placeholders=placeholders or {"account": entry.title},
        )

    async def _async_start(self, method: str) -> ConfigFlowResult:
        """Ask plex.tv for a PIN and show it, or show why not on method's form."""
        self._method = method
        self._client = await async_create_client(self.hass)
        try:
            self._linker = await PinLinker.create(
                self._client, strong=method == "browser"
            )
        except Exception as err:  # noqa: BLE001
            return self.async_show_form(
                step_id=method, errors={"base": _error_key(err)}
            )
        self._token = None
        self._link_task = self._async_start_waiting()
        if method == "browser":
            self._link_task.add_done_callback(self._async_continue_after_wait)
            return await self.async_step_sign_in()
        return await self.async_step_link()

    @callback
    def _async_start_waiting(self) -> asyncio.Task[str]:
        """Wait for the token in a task Home Assistant cancels when it stops.

        The link code's progress bar fills as the code's lifetime passes; the
        browser sign-in step has no bar.
        """
        on_progress = (
            self.async_update_progress if self._method == "link_code" else None
        )
        return self.hass.async_create_background_task(
            self._linker.wait_for_token(on_progress), f"{DOMAIN} wait for PIN"
        )

    @callback
    def _async_continue_after_wait(self, task: asyncio.Task[str]) -> None:
        """Move the external step on once the wait is over (unless it was closed)."""
        if not task.cancelled():
            self.hass.async_create_task(
                self.hass.config_entries.flow.async_configure(self.flow_id)
            )

    @callback
    def async_remove(self) -> None:
        """Stop waiting when the dialog is closed; no request follows."""
        if hasattr(self, "_link_task"):
            self._link_task.cancel()

    @callback
    def _async_show_new_code(self, err: BaseException) -> ConfigFlowResult:
        """Explain why the code did not lead to a token and offer a new one."""
        return self.async_show_form(
            step_id="new_code", errors={"base": _error_key(err, self._method)}
        )


class PlexLinkOptionsFlow(OptionsFlowWithReload):
    """Turn playback and library events on or off, say where servers post them, size recently added.

    Events need a Plex Pass; an account without one sets only the number
    of recently added items.
    """

    config_entry: PlexLinkConfigEntry

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the event options, the address plex.tv was given and the library options."""
        entry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(
                reason="not_loaded", description_placeholders={"account": entry.title}
            )
        if not entry.runtime_data.coordinator.data.account.plex_pass:
            return await self.async_step_libraries()
        if user_input is not None:
            return self.async_create_entry(data={**entry.options, **user_input})
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA,
                {
                    CONF_EVENTS: events_enabled(entry),
                    CONF_REMOTE_SERVER: remote_server(entry),
                    CONF_RECENTLY_ADDED: recently_added_count(entry),
                },
            ),
            description_placeholders={
                "account": entry.title,
                "url": entry.runtime_data.webhook.registered_url or "-",
            },
        )

    async def async_step_libraries(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the library options alone, to an account without Plex Pass."""
        entry = self.config_entry
        if user_input is not None:
            return self.async_create_entry(data={**entry.options, **user_input})
        return self.async_show_form(
            step_id="libraries",
            data_schema=self.add_suggested_values_to_schema(
                LIBRARIES_SCHEMA,
                {CONF_RECENTLY_ADDED: recently_added_count(entry)},
            ),
            description_placeholders={"account": entry.title},
        )


def _error_key(err: BaseException, method: str = "link_code") -> str:
    """Return the translation key that explains an error to the person."""
    match err:
        case PlexTvPinExpiredError() if method == "browser":
            return "sign_in_expired"
        case PlexTvPinExpiredError():
            return "code_expired"
        case PlexTvAuthenticationError():
            return "token_rejected"
        case PlexTvRateLimitedError():
            return "rate_limited"
        case PlexTvConnectionError():
            return "cannot_connect"
        case PlexTvServerError():
            return "plex_tv_unavailable"
        case PlexTvError():
            return "invalid_response"
    LOGGER.exception("Unexpected error while linking a Plex account", exc_info=err)
    return "unknown"
