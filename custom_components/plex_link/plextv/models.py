"""Typed models of what plex.tv sends and of who the client says it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
import re
from typing import Any
from xml.etree import ElementTree

from .exceptions import PlexTvResponseError

DEFAULT_PIN_LIFETIME = 900.0
MAX_PIN_LIFETIME = 86_400
_PIN_CODE = re.compile(r"[A-Za-z0-9]{4,32}")
_WEBHOOK_KEYS = ("Webhook", "webhook", "Webhooks", "webhooks")


@dataclass(frozen=True, kw_only=True)
class PlexTvIdentity:
    """The X-Plex-* headers that name this client in the account's device list."""

    client_identifier: str
    product: str
    version: str
    platform: str
    platform_version: str
    device: str
    device_name: str

    @property
    def headers(self) -> dict[str, str]:
        """Return the identity headers sent with every request."""
        return {
            "X-Plex-Client-Identifier": self.client_identifier,
            "X-Plex-Product": self.product,
            "X-Plex-Version": self.version,
            "X-Plex-Platform": self.platform,
            "X-Plex-Platform-Version": self.platform_version,
            "X-Plex-Device": self.device,
            "X-Plex-Device-Name": self.device_name,
            "X-Plex-Model": self.device,
        }


@dataclass(frozen=True, kw_only=True)
class Pin:
    """A link code handed out by plex.tv, and the token once the person claimed it."""

    id: int
    code: str
    lifetime: float
    auth_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Pin:
        """Build a PIN from a plex.tv answer, refusing anything malformed."""
        body = _object(data)
        code = _field(body, "code", str)
        if not _PIN_CODE.fullmatch(code):
            raise PlexTvResponseError("plex.tv sent a PIN code of an unexpected form")
        token = body.get("authToken")
        if token is not None and (not isinstance(token, str) or not token):
            raise PlexTvResponseError("plex.tv sent a malformed token")
        return cls(
            id=_field(body, "id", int),
            code=code,
            lifetime=_pin_lifetime(body),
            auth_token=token,
        )


@dataclass(frozen=True, kw_only=True)
class Account:
    """The parts of a plex.tv account that Plex Link keeps: no e-mail, no avatar."""

    id: int
    uuid: str
    username: str
    title: str
    plex_pass: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Account:
        """Build an account from `/api/v2/user`, refusing anything malformed."""
        body = _object(data)
        username = _optional(body, "username", str) or ""
        subscription = _optional(body, "subscription", dict) or {}
        return cls(
            id=_field(body, "id", int),
            uuid=_field(body, "uuid", str),
            username=username,
            title=_optional(body, "title", str)
            or _optional(body, "friendlyName", str)
            or username,
            plex_pass=_optional(subscription, "active", bool) or False,
        )


@dataclass(frozen=True, kw_only=True)
class Connection:
    """One address at which a Plex Media Server can be reached."""

    uri: str
    protocol: str
    local: bool
    relay: bool

    @classmethod
    def from_json(cls, data: Any) -> Connection:
        """Build a connection from a resource's `connections` entry."""
        body = _object(data)
        uri = _field(body, "uri", str)
        return cls(
            uri=uri,
            protocol=_optional(body, "protocol", str) or uri.partition(":")[0],
            local=_optional(body, "local", bool) or False,
            relay=_optional(body, "relay", bool) or False,
        )

    @property
    def rank(self) -> tuple[bool, bool, bool]:
        """Sort key in Plex's order: local, then remote, relay last; https first."""
        return (self.relay, not self.local, self.protocol != "https")


@dataclass(frozen=True, kw_only=True)
class Server:
    """A Plex Media Server the account can reach, from `/api/v2/resources`."""

    machine_identifier: str
    name: str
    product: str
    version: str
    platform: str | None
    owned: bool
    online: bool
    connections: tuple[Connection, ...]
    access_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> Server:
        """Build a server from one resource, refusing anything malformed."""
        body = _object(data)
        return cls(
            machine_identifier=_field(body, "clientIdentifier", str),
            name=_field(body, "name", str),
            product=_optional(body, "product", str) or "Plex Media Server",
            version=_optional(body, "productVersion", str) or "",
            platform=_optional(body, "platform", str),
            owned=_optional(body, "owned", bool) or False,
            online=_optional(body, "presence", bool) or False,
            connections=tuple(
                sorted(
                    _parse_each(
                        _optional(body, "connections", list) or [], Connection.from_json
                    ),
                    key=lambda connection: connection.rank,
                )
            ),
            access_token=_optional(body, "accessToken", str),
        )

    @property
    def best_connection(self) -> Connection | None:
        """Return the connection Plex clients try first."""
        return self.connections[0] if self.connections else None


def servers_from_json(data: Any) -> list[Server]:
    """Return the servers among `/api/v2/resources`."""
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise PlexTvResponseError("plex.tv sent resources of an unexpected shape")
    return _parse_each(
        (device for device in data if "server" in str(device.get("provides", ""))),
        Server.from_json,
    )


def webhooks_from_body(data: Any) -> list[str]:
    """Return the URLs of `/api/v2/user/webhooks`, in plex.tv's order.

    The answer may be a JSON list of `{"url": ...}` objects or of strings, a
    JSON object that wraps the list (`MediaContainer`, `webhooks`), or XML
    `<MediaContainer><webhook url="..."/></MediaContainer>`. Entries without a
    URL are skipped; any other shape is an error, never an empty list, since
    the list is written back whole.
    """
    if isinstance(data, ElementTree.Element):
        if data.tag != "MediaContainer":
            raise PlexTvResponseError("plex.tv sent webhooks of an unexpected shape")
        entries: list[Any] = [
            dict(child.attrib) for child in data if child.tag.lower() == "webhook"
        ]
    else:
        entries = _webhook_entries(data)
    urls = []
    for entry in entries:
        url = entry.get("url") if isinstance(entry, dict) else entry
        if isinstance(url, str) and url.strip():
            urls.append(url)
    return urls


def _webhook_entries(data: Any) -> list[Any]:
    """Return the list of webhook entries inside a JSON answer.

    A MediaContainer without a list and without a size above 0 is empty: Plex
    leaves empty lists out of its containers.
    """
    if isinstance(data, dict):
        container = data.get("MediaContainer")
        wrapped = isinstance(container, dict)
        body = container if isinstance(container, dict) else data
        key = next((key for key in _WEBHOOK_KEYS if key in body), None)
        if key is None and wrapped and body.get("size", 0) in (0, "0"):
            return []
        data = body.get(key) if key is not None else None
    if not isinstance(data, list):
        raise PlexTvResponseError("plex.tv sent webhooks of an unexpected shape")
    return data


def _parse_each[T](items: Iterable[Any], parse: Callable[[Any], T]) -> list[T]:
    """Parse each item, skipping malformed ones.

    One odd device or connection must not hide the rest.
    """
    parsed = []
    for item in items:
        try:
            parsed.append(parse(item))
        except PlexTvResponseError:
            continue
    return parsed


def _object(data: Any) -> dict[str, Any]:
    """Return the JSON object plex.tv sent, or raise when it sent another shape."""
    if not isinstance(data, dict):
        raise PlexTvResponseError("plex.tv sent JSON of an unexpected shape")
    return data


def _field[T](body: dict[str, Any], key: str, kind: type[T]) -> T:
    """Return a required, non-empty field of the given type."""
    value = _optional(body, key, kind)
    if value is None or value == "":
        raise PlexTvResponseError(f"plex.tv left out the field {key!r}")
    return value


def _optional[T](body: dict[str, Any], key: str, kind: type[T]) -> T | None:
    """Return an optional field of the given type; a wrong type counts as absent."""
    value = body.get(key)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    return None


def _pin_lifetime(body: dict[str, Any]) -> float:
    """Seconds the PIN has left, measured by plex.tv's own clock.

    `expiresIn` is preferred; otherwise `expiresAt - createdAt`, both plex.tv's,
    so a wrong clock in Home Assistant cannot shorten or stretch the code's life.
    Whatever plex.tv says, the wait is kept between nothing and a day.
    """
    expires_in = _optional(body, "expiresIn", int)
    if expires_in is not None:
        return float(min(max(expires_in, 0), MAX_PIN_LIFETIME))
    created = _timestamp(body.get("createdAt"))
    expires = _timestamp(body.get("expiresAt"))
    if created is None or expires is None:
        return DEFAULT_PIN_LIFETIME
    return min(max((expires - created).total_seconds(), 0.0), MAX_PIN_LIFETIME)


def _timestamp(value: Any) -> datetime | None:
    """Parse an ISO-8601 timestamp, or return None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
