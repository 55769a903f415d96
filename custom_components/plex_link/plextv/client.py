"""Async client for the plex.tv account API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import math
import re
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

import aiohttp
from yarl import URL

from .exceptions import (
    PlexTvAuthenticationError,
    PlexTvConnectionError,
    PlexTvPinExpiredError,
    PlexTvPlexPassRequiredError,
    PlexTvRateLimitedError,
    PlexTvResponseError,
    PlexTvServerError,
)
from .models import (
    Account,
    Pin,
    PlexTvIdentity,
    Server,
    servers_from_json,
    webhooks_from_body,
)

DEFAULT_BASE_URL = "https://plex.tv"
APP_URL = URL("https://app.plex.tv")
MAX_BODY_BYTES = 1024 * 1024
_DELAY_SECONDS = re.compile(r"[ \t]*([0-9]+)[ \t]*")


class PlexTvClient:
    """Talks to plex.tv over an aiohttp session owned by the caller."""

    request_timeout: float = 10.0

    def __init__(
        self,
        session: aiohttp.ClientSession,
        identity: PlexTvIdentity,
        *,
        base_url: str = DEFAULT_BASE_URL,
    ) -> None:
        """Use the given session and name the client with identity."""
        self._session = session
        self._identity = identity
        self._base_url = URL(base_url)

    @property
    def client_identifier(self) -> str:
        """Return the identifier plex.tv knows this client by."""
        return self._identity.client_identifier

    @property
    def link_url(self) -> str:
        """Return the page where a person enters a link code."""
        return str(self._base_url / "link")

    def qr_url(self, pin: Pin) -> str:
        """Return plex.tv's QR image that opens the link page for this PIN."""
        return str(self._base_url / "api/v2/pins/qr" / pin.code)

    def auth_url(self, pin: Pin, forward_url: str | None = None) -> str:
        """Return the browser sign-in page that approves a strong PIN.

        plex.tv's own page lives on app.plex.tv; a stand-in serves it itself.
        """
        app = APP_URL if self._base_url == URL(DEFAULT_BASE_URL) else self._base_url
        params = {
            "clientID": self.client_identifier,
            "code": pin.code,
            "context[device][product]": self._identity.product,
        }
        if forward_url is not None:
            params["forwardUrl"] = forward_url
        return f"{app / 'auth'}#?{urlencode(params, quote_via=quote)}"

    def headers(self, token: str | None = None) -> dict[str, str]:
        """Return the headers of a request as this client, and as the token's account."""
        headers = {"Accept": "application/json", **self._identity.headers}
        if token is not None:
            headers["X-Plex-Token"] = token
        return headers

    async def create_pin(self, *, strong: bool = False) -> Pin:
        """Ask plex.tv for a new PIN: a 4-character link code, or a strong one."""
        return Pin.from_json(
            await self._request(
                "POST", "api/v2/pins", params={"strong": "true" if strong else "false"}
            )
        )

    async def get_pin(self, pin_id: int) -> Pin:
        """Read a PIN back; its token is set once the person entered the code."""
        try:
            return Pin.from_json(await self._request("GET", f"api/v2/pins/{pin_id}"))
        except PlexTvResponseError as err:
            if err.status == 404:
                raise PlexTvPinExpiredError("The link code expired") from err
            raise

    async def get_account(self, token: str) -> Account:
        """Read the account the token belongs to; this also proves the token valid."""
        return Account.from_json(await self._request("GET", "api/v2/user", token=token))

    async def get_servers(self, token: str) -> list[Server]:
        """Return the Plex Media Servers the account can reach."""
        return servers_from_json(
            await self._request(
                "GET",
                "api/v2/resources",
                token=token,
                params={"includeHttps": "1", "includeRelay": "1"},
            )
        )

    async def ping(self, token: str) -> None:
        """Use the token, as Plex clients do to keep it from expiring."""
        await self._request("GET", "api/v2/ping", token=token, decode=False)

    async def sign_out(self, token: str) -> None:
        """Revoke the token at plex.tv; any 2xx answer means it is signed out."""
        await self._request("DELETE", "api/v2/users/signout", token=token, decode=False)

    async def get_webhooks(self, token: str) -> list[str]:
        """Return the URLs of the account's webhooks (a Plex Pass feature)."""
        return webhooks_from_body(await self._webhooks("GET", token))

    async def set_webhooks(self, token: str, urls: Sequence[str]) -> None:
        """Replace the account's whole webhook list with urls, in this order.

        plex.tv has no call to add or remove one URL: read the list just before
        writing it back, or a URL added in the meantime is lost.
        """
        if isinstance(urls, str) or not all(
            isinstance(url, str) and url for url in urls
        ):
            raise ValueError("urls must be a sequence of non-empty strings")
        await self._webhooks(
            "POST", token, [("urls[]", url) for url in urls] or [("urls", "")]
        )

    async def _webhooks(
        self, method: str, token: str, form: list[tuple[str, str]] | None = None
    ) -> Any:
        """Read or write the webhook list, telling a missing Plex Pass (403) apart."""
        try:
            return await self._request(
                method,
                "api/v2/user/webhooks",
                token=token,
                data=form,
                decode=form is None,
                xml=True,
            )
        except PlexTvResponseError as err:
            if err.status == 403:
                raise PlexTvPlexPassRequiredError(
                    "plex.tv refused the webhooks: Plex Pass required", 403
                ) from err
            raise

    async def _request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        data: dict[str, str] | list[tuple[str, str]] | None = None,
        params: dict[str, str] | None = None,
        decode: bool = True,
        xml: bool = False,
    ) -> Any:
        """Send one request and return its JSON body (None if empty or not decoded).

        With xml, a body that starts with a tag is parsed as XML instead.
        """
        try:
            async with self._session.request(
                method,
                self._base_url / path,
                headers=self.headers(token),
                data=data,
                params=params,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.request_timeout),
            ) as response:
                body = await _read_body(response)
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except TimeoutError as err:
            raise PlexTvConnectionError("plex.tv did not answer in time") from err
        except aiohttp.ClientError as err:
            raise PlexTvConnectionError(
                f"Could not talk to plex.tv ({type(err).__name__})"
            ) from err

        if 200 <= status < 300:
            return _decode(body, xml=xml) if decode and body.strip() else None
        if status == 401 or (status == 422 and b"invalid token" in body.lower()):
            raise PlexTvAuthenticationError("plex.tv rejected the token")
        if status == 429:
            raise PlexTvRateLimitedError(parse_retry_after(retry_after))
        if status >= 500:
            raise PlexTvServerError(f"plex.tv failed with HTTP {status}", status)
        raise PlexTvResponseError(f"plex.tv answered HTTP {status}", status)


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header asks to wait, or None if unusable."""
    if value is None:
        return None
    if digits := _DELAY_SECONDS.fullmatch(value):
        seconds = float(digits.group(1))
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


async def _read_body(response: aiohttp.ClientResponse) -> bytes:
    """Read the body, refusing one larger than MAX_BODY_BYTES without reading it all."""
    if (response.content_length or 0) > MAX_BODY_BYTES:
        raise PlexTvResponseError("plex.tv sent an oversized body")
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PlexTvResponseError("plex.tv sent an oversized body")
    return bytes(body)


def _decode(body: bytes, *, xml: bool = False) -> Any:
    """Decode a JSON body (or with xml, an XML one), raising a typed error for anything else."""
    if xml and body.lstrip().startswith(b"<"):
        return _parse_xml(body)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        raise PlexTvResponseError("plex.tv did not answer with JSON") from err


def _parse_xml(body: bytes) -> ElementTree.Element:
    """Parse a UTF-8 XML body that declares no document type, so no entity expands."""
    try:
        text = body.decode()
    except UnicodeDecodeError as err:
        raise PlexTvResponseError("plex.tv sent XML that is not UTF-8") from err
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise PlexTvResponseError("plex.tv sent XML with a document type")
    try:
        return ElementTree.fromstring(text)  # noqa: S314 - no DTD, capped body
    except ElementTree.ParseError as err:
        raise PlexTvResponseError("plex.tv sent malformed XML") from err
