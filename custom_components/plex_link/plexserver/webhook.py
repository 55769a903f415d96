"""What a Plex Media Server posts to a webhook: the multipart body, and the event in it."""

from __future__ import annotations

from dataclasses import dataclass
import json
from typing import Any, cast

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .fields import child, flag, text
from .models import MediaItem, media_item_fields

PLAYBACK_EVENTS = frozenset(
    {
        "media.play",
        "media.pause",
        "media.resume",
        "media.stop",
        "media.scrobble",
        "media.rate",
        "playback.started",
    }
)
LIBRARY_EVENTS = frozenset({"library.new", "library.on.deck"})
SERVER_EVENTS = frozenset(
    {"admin.database.backup", "admin.database.corrupted", "device.new"}
)
KNOWN_EVENTS = PLAYBACK_EVENTS | LIBRARY_EVENTS | SERVER_EVENTS

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_PAYLOAD_BYTES = 256 * 1024
_CHUNK_BYTES = 64 * 1024
_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class WebhookPayloadError(Exception):
    """A post that is not a readable Plex webhook; the message is a short reason."""


@dataclass(frozen=True, kw_only=True)
class WebhookEvent(MediaItem):
    """One event a Plex Media Server reported, without the poster's personal data.

    The player's public address and every thumb or avatar URL are left out.
    The media fields are those of the event's `Metadata`.
    """

    event: str
    server_uuid: str
    account_title: str | None = None
    player_title: str | None = None
    player_local: bool | None = None

    @classmethod
    def from_json(cls, data: Any) -> WebhookEvent:
        """Build an event from a decoded payload, refusing an unknown event or server."""
        if not isinstance(data, dict):
            raise WebhookPayloadError("payload is not a JSON object")
        event = data.get("event")
        if not isinstance(event, str) or event not in KNOWN_EVENTS:
            raise WebhookPayloadError("unknown event")
        server_uuid = text(child(data, "Server").get("uuid"))
        if server_uuid is None:
            raise WebhookPayloadError("no server uuid")
        player = child(data, "Player")
        return cls(
            **media_item_fields(child(data, "Metadata")),
            event=event,
            server_uuid=server_uuid,
            account_title=text(child(data, "Account").get("title")),
            player_title=text(player.get("title")),
            player_local=flag(player.get("local")),
        )


async def read_webhook_payload(
    request: web.Request,
    *,
    max_body: int = MAX_BODY_BYTES,
    max_payload: int = MAX_PAYLOAD_BYTES,
) -> Any:
    """Return the decoded JSON of the `payload` part of a Plex webhook post.

    Plex always posts multipart/form-data, so nothing else is accepted (not even
    a urlencoded `payload` field). At most max_body bytes of the body are read,
    the JPEG `thumb` part included, and the reading stops at the payload part;
    the payload itself may take max_payload bytes. Any post that is not a
    readable payload raises WebhookPayloadError.
    """
    if request.content_type != "multipart/form-data":
        raise WebhookPayloadError("not multipart/form-data")
    if (request.content_length or 0) > max_body:
        raise WebhookPayloadError("body too large")
    content = _CappedContent(request.content, max_body)
    try:
        reader = aiohttp.MultipartReader(
            request.headers, cast("aiohttp.StreamReader", content)
        )
        return await _find_payload(reader, max_payload)
    except (ValueError, RuntimeError, OSError, EOFError, HttpProcessingError) as err:
        raise WebhookPayloadError("malformed or truncated body") from err


async def _find_payload(reader: aiohttp.MultipartReader, max_payload: int) -> Any:
    """Walk the parts up to `payload`, discarding the others, and decode it."""
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader):
            raise WebhookPayloadError("nested multipart")
        if part.name == "payload":
            return _decode(part, await _read_part(part, max_payload))
        await _read_part(part, None)
    raise WebhookPayloadError("no payload part")


class _CappedContent:
    """The request body as the multipart reader sees it, refused past a byte budget.

    The budget counts every byte received, preamble and part headers included,
    so no stretch of the body can be made to stream on without end.
    """

    def __init__(self, content: aiohttp.StreamReader, limit: int) -> None:
        """Watch content, which may bring at most limit bytes."""
        self._content = content
        self._limit = limit

    def __getattr__(self, name: str) -> Any:
        """Pass everything else through to the stream."""
        return getattr(self._content, name)

    async def read(self, n: int = -1) -> bytes:
        """Read like the stream, then check the budget."""
        return self._checked(await self._content.read(n))

    async def readline(self, **kwargs: Any) -> bytes:
        """Read a line like the stream, then check the budget."""
        return self._checked(await self._content.readline(**kwargs))

    def _checked(self, data: bytes) -> bytes:
        """Return data if the body so far is within the budget."""
        if self._content.total_bytes > self._limit:
            raise WebhookPayloadError("body too large")
        return data


async def _read_part(part: aiohttp.BodyPartReader, limit: int | None) -> bytes:
    """Read a part in chunks: keep up to limit bytes, or with None discard it."""
    kept = bytearray()
    while chunk := await part.read_chunk(_CHUNK_BYTES):
        if limit is not None:
            kept += chunk
            if len(kept) > limit:
                raise WebhookPayloadError("payload too large")
    return bytes(kept)


def _decode(part: aiohttp.BodyPartReader, raw: bytes) -> Any:
    """Decode the payload part: UTF-8 text holding JSON."""
    if part.get_charset("utf-8").lower() not in _UTF8:
        raise WebhookPayloadError("payload charset is not UTF-8")
    try:
        return json.loads(raw.decode())
    except UnicodeDecodeError as err:
        raise WebhookPayloadError("payload is not UTF-8") from err
    except (ValueError, RecursionError) as err:
        raise WebhookPayloadError("payload is not JSON") from err
