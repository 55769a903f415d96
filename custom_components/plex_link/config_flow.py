"""Config flow for Plex Link: a plex.tv/link code instead of a popup or a callback."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_USER,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import CONF_TOKEN, CONF_USERNAME
from homeassistant.core import callback

from .client import async_create_client
from .const import (
    CONF_ACCOUNT_ID,
    CONF_ACCOUNT_UUID,
    CONF_CLIENT_IDENTIFIER,
    DOMAIN,
    LOGGER,
)
from .plextv import (
    PinLinker,
    PlexTvAuthenticationError,
    PlexTvClient,
    PlexTvConnectionError,
    PlexTvError,
    PlexTvPinExpiredError,
    PlexTvRateLimitedError,
    PlexTvServerError,
)


class PlexLinkConfigFlow(ConfigFlow, domain=DOMAIN):
    """Link a Plex account: show a code, wait for it in the background, store the token."""

    VERSION = 1

    _client: PlexTvClient
    _linker: PinLinker
    _link_task: asyncio.Task[None] | None = None
    _link_error: Exception | None = None
    _token: str | None = None

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Start linking at once: the first thing a person sees is the code."""
        return await self._async_new_code("user")

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start linking again because plex.tv rejected the stored token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before showing a code, since reauth starts without the person."""
        placeholders = {"name": self._get_reauth_entry().title}
        if user_input is None:
            return self.async_show_form(
                step_id="reauth_confirm", description_placeholders=placeholders
            )
        return await self._async_new_code(
            "reauth_confirm", description_placeholders=placeholders
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Link the same account again for a fresh token."""
        return await self._async_new_code("reconfigure")

    async def async_step_new_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer a new code after the last one expired or could not be checked."""
        return await self._async_new_code("new_code")

    async def async_step_link(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the code while a background task waits for the person to enter it.

        Re-entrant: a reopened dialog gets the same code and the same task.
        """
        if self._link_task is None:
            self._link_task = self.hass.async_create_background_task(
                self._async_wait_for_token(), f"{DOMAIN} link code"
            )
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

    async def async_step_finish(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Read the linked account and store its token in the config entry."""
        if self._token is None:
            return self._async_show_new_code(self._link_error)
        try:
            account = await self._client.get_account(self._token)
        except PlexTvAuthenticationError as err:
            self._token = None
            return self._async_show_new_code(err)
        except Exception as err:  # noqa: BLE001
            return self.async_show_form(
                step_id="finish", errors={"base": _error_key(err)}
            )

        data = {
            CONF_TOKEN: self._token,
            CONF_CLIENT_IDENTIFIER: self._client.client_identifier,
            CONF_ACCOUNT_ID: account.id,
            CONF_ACCOUNT_UUID: account.uuid,
            CONF_USERNAME: account.username,
        }
        await self.async_set_unique_id(account.uuid, raise_on_progress=False)
        if self.source == SOURCE_USER:
            self._abort_if_unique_id_configured()
            return self.async_create_entry(title=account.title, data=data)
        self._abort_if_unique_id_mismatch(reason="wrong_account")
        entry = (
            self._get_reauth_entry()
            if self.source == SOURCE_REAUTH
            else self._get_reconfigure_entry()
        )
        return self.async_update_reload_and_abort(entry, data_updates=data)

    async def _async_new_code(
        self, step_id: str, description_placeholders: dict[str, str] | None = None
    ) -> ConfigFlowResult:
        """Ask plex.tv for a code and show it, or show the error on step_id's form."""
        self._client = await async_create_client(self.hass)
        try:
            self._linker = await PinLinker.create(self._client)
        except Exception as err:  # noqa: BLE001
            return self.async_show_form(
                step_id=step_id,
                errors={"base": _error_key(err)},
                description_placeholders=description_placeholders,
            )
        self._link_task = None
        self._link_error = None
        self._token = None
        return await self.async_step_link()

    async def _async_wait_for_token(self) -> None:
        """Wait for the person to enter the code; keep the token or the error.

        A background task, so that Home Assistant cancels it when it stops
        instead of waiting for the code to expire. Releases that have
        async_update_progress show the code's remaining lifetime as a
        progress bar.
        """
        try:
            self._token = await self._linker.wait_for_token(
                getattr(self, "async_update_progress", None)
            )
        except Exception as err:  # noqa: BLE001
            self._link_error = err

    @callback
    def _async_show_new_code(self, err: Exception | None) -> ConfigFlowResult:
        """Explain why the code did not lead to a token and offer a new one."""
        return self.async_show_form(
            step_id="new_code", errors={"base": _error_key(err)}
        )


def _error_key(err: Exception | None) -> str:
    """Return the translation key that explains an error to the person."""
    match err:
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
