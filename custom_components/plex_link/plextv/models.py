"""Typed models of what plex.tv sends and of who the client says it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import re
from typing import Any

from .exceptions import PlexTvResponseError

DEFAULT_PIN_LIFETIME = 900.0
_PIN_CODE = re.compile(r"[A-Za-z0-9]{4,32}")


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
    """The parts of a plex.tv account that Plex Link keeps."""

    id: int
    uuid: str
    username: str
    title: str

    @classmethod
    def from_json(cls, data: Any) -> Account:
        """Build an account from `/api/v2/user`, refusing anything malformed."""
        body = _object(data)
        username = _optional(body, "username", str) or ""
        return cls(
            id=_field(body, "id", int),
            uuid=_field(body, "uuid", str),
            username=username,
            title=_optional(body, "title", str)
            or _optional(body, "friendlyName", str)
            or username,
        )


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
    """
    expires_in = _optional(body, "expiresIn", int)
    if expires_in is not None:
        return float(max(expires_in, 0))
    created = _timestamp(body.get("createdAt"))
    expires = _timestamp(body.get("expiresAt"))
    if created is not None and expires is not None:
        return max((expires - created).total_seconds(), 0.0)
    return DEFAULT_PIN_LIFETIME


def _timestamp(value: Any) -> datetime | None:
    """Parse an ISO-8601 timestamp, or return None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
