"""Reading what a Plex Media Server posts to a webhook, over real HTTP on loopback.

Each fixture says which shape it stands for: Plex's own published sample (a track
play), or posts shaped after it for other events and media types; and hostile posts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import dataclasses
from dataclasses import dataclass, field
import json
from typing import Any

import aiohttp
from aiohttp import web
from hypothesis import given, strategies as st
import pytest

from custom_components.plex_link.plexserver.webhook import (
    KNOWN_EVENTS,
    LIBRARY_EVENTS,
    MAX_BODY_BYTES,
    MAX_PAYLOAD_BYTES,
    PLAYBACK_EVENTS,
    SERVER_EVENTS,
    WebhookEvent,
    WebhookPayloadError,
    read_webhook_payload,
)

from .conftest import wait_for
from .test_fuzz import JSON, SCALARS

DEADLINE = 30
SERVER_UUID = "54664a3d8acc39983675640ec9ce00b70af9cc36"
PUBLIC_ADDRESS = "200.200.200.200"
AVATAR = "https://plex.tv/users/1022b120ffbaa/avatar?c=1465525047"

# Plex's published example (support article "Webhooks"), a track play, as in
# shared/plex-media-server.md.
PLEX_SAMPLE: dict[str, Any] = {
    "event": "media.play",
    "user": True,
    "owner": True,
    "Account": {"id": 1, "thumb": AVATAR, "title": "elan"},
    "Server": {"title": "Office", "uuid": SERVER_UUID},
    "Player": {
        "local": True,
        "publicAddress": PUBLIC_ADDRESS,
        "title": "Plex Web (Safari)",
        "uuid": "r6yfkdnfggbh2bdnvkffwbms",
    },
    "Metadata": {
        "librarySectionType": "artist",
        "ratingKey": "1936545",
        "key": "/library/metadata/1936545",
        "parentRatingKey": "1936544",
        "grandparentRatingKey": "1936543",
        "librarySectionID": 1224,
        "type": "track",
        "title": "Love The One You're With",
        "grandparentTitle": "Stephen Stills",
        "parentTitle": "Stephen Stills",
        "index": 1,
        "parentIndex": 1,
        "thumb": "/library/metadata/1936545/thumb/1432897518",
        "addedAt": 1000396126,
        "updatedAt": 1432897518,
    },
}

# A movie paused on a remote player, shaped after the sample.
MOVIE: dict[str, Any] = {
    "event": "media.pause",
    "user": False,
    "owner": True,
    "Account": {"id": 22, "thumb": AVATAR, "title": "Sam"},
    "Server": {"title": "Media Shelf", "uuid": SERVER_UUID},
    "Player": {
        "local": False,
        "publicAddress": PUBLIC_ADDRESS,
        "title": "Living Room TV",
        "uuid": "tv-1",
    },
    "Metadata": {
        "librarySectionType": "movie",
        "librarySectionTitle": "Movies",
        "ratingKey": 4242,
        "guid": "plex://movie/5d776825880197001ec90a9b",
        "type": "movie",
        "title": "Big Buck Bunny",
        "summary": "A rabbit.",
        "year": 2008,
        "thumb": "/library/metadata/4242/thumb/1",
        "art": "/library/metadata/4242/art/1",
    },
}

# An episode scrobble with the variants other projects' samples show: numbers and
# booleans as strings, 0/1 for booleans.
EPISODE: dict[str, Any] = {
    "event": "media.scrobble",
    "user": 1,
    "owner": "0",
    "Account": {"id": "7", "title": "Kim"},
    "Server": {"title": "Office", "uuid": SERVER_UUID},
    "Player": {"local": "1", "publicAddress": PUBLIC_ADDRESS, "title": "Phone"},
    "Metadata": {
        "librarySectionType": "show",
        "librarySectionTitle": "TV Shows",
        "ratingKey": "5151",
        "type": "episode",
        "title": "Pilot",
        "grandparentTitle": "A Show",
        "parentTitle": "Season 1",
        "index": "1",
        "parentIndex": "0",
        "year": "2019",
        "grandparentThumb": "/library/metadata/5149/thumb/1",
    },
}

# A new movie in a library: no player; the account is the server's owner.
LIBRARY_NEW: dict[str, Any] = {
    "event": "library.new",
    "user": True,
    "owner": True,
    "Account": {"id": 1, "thumb": AVATAR, "title": "elan"},
    "Server": {"title": "Office", "uuid": SERVER_UUID},
    "Metadata": {
        "librarySectionType": "movie",
        "librarySectionTitle": "Movies",
        "ratingKey": "77",
        "type": "movie",
        "title": "Sintel",
        "year": 2010,
    },
}

# A server event: no Metadata, no Player.
BACKUP: dict[str, Any] = {
    "event": "admin.database.backup",
    "user": True,
    "owner": True,
    "Account": {"id": 1, "thumb": AVATAR, "title": "elan"},
    "Server": {"title": "Office", "uuid": SERVER_UUID},
}

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 1200 + b"\xff\xd9"


@dataclass
class Received:
    """What the handler made of one post."""

    total_bytes: int
    event: WebhookEvent | None = None
    payload: Any = None
    error: str | None = None


@dataclass
class Receiver:
    """A webhook endpoint on loopback that reads posts the way Plex Link does."""

    url: str = ""
    limits: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    connections: list[asyncio.Task[None]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        """Read the payload and the event; answer 400 with the reason if either fails."""
        self.started.set()
        self.connections.append(request.task)
        try:
            payload = await read_webhook_payload(request, **self.limits)
            event = WebhookEvent.from_json(payload)
        except WebhookPayloadError as err:
            self.received.append(
                Received(total_bytes=request.content.total_bytes, error=str(err))
            )
            return web.Response(status=400, text=str(err))
        self.received.append(
            Received(
                total_bytes=request.content.total_bytes, event=event, payload=payload
            )
        )
        return web.Response(status=204)

    async def outcome(self) -> Received:
        """Wait, up to the deadline, for the handler to finish one post."""
        await wait_for(lambda: self.received, DEADLINE)
        [received] = self.received
        return received

    async def post(self, data: Any, **kwargs: Any) -> Received:
        """Post data with aiohttp and return what the handler made of it.

        The handler may answer before the body is sent whole, so the client's
        side of a refused post is not looked at.
        """
        async with aiohttp.ClientSession() as session:
            try:
                async with session.post(self.url, data=data, **kwargs) as response:
                    await response.read()
            except aiohttp.ClientError:
                pass
        return await self.outcome()

    @property
    def port(self) -> int:
        """Return the port the endpoint listens on."""
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])


async def serve(*, handler_cancellation: bool) -> AsyncIterator[Receiver]:
    """Serve the webhook endpoint on 127.0.0.1 until the test ends."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(
        app, access_log=None, handler_cancellation=handler_cancellation
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield receiver
    await runner.cleanup()
    async with asyncio.timeout(DEADLINE):
        await asyncio.gather(*receiver.connections, return_exceptions=True)


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[Receiver]:
    """Serve the endpoint as Home Assistant's server runs: a lost connection cancels it.

    Without that, aiohttp keeps reading a refused body for 10 s after the answer.
    """
    async for receiver in serve(handler_cancellation=True):
        yield receiver


@pytest.fixture
async def uncancelled_receiver(socket_enabled: None) -> AsyncIterator[Receiver]:
    """Serve the endpoint as aiohttp does by default: a lost connection is a read error."""
    async for receiver in serve(handler_cancellation=False):
        yield receiver


def plex_form(
    payload: Any, *, thumb_before: bool = False, thumb_after: bool = False
) -> aiohttp.FormData:
    """Return a post shaped like Plex's: the payload field and, maybe, the JPEG poster."""
    form = aiohttp.FormData(default_to_multipart=True)
    if thumb_before:
        form.add_field("thumb", JPEG, filename="thumb.jpg", content_type="image/jpeg")
    form.add_field(
        "payload", payload if isinstance(payload, str | bytes) else json.dumps(payload)
    )
    if thumb_after:
        form.add_field("thumb", JPEG, filename="thumb.jpg", content_type="image/jpeg")
    return form


def private_values(data: Any) -> Iterator[str]:
    """Yield the public address and every thumb, art or avatar URL in a payload."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in {"publicAddress", "thumb", "art"} or key.endswith(
                ("Thumb", "Art")
            ):
                yield str(value)
            else:
                yield from private_values(value)


async def test_plex_sample(receiver: Receiver) -> None:
    """Plex's own sample becomes an event with everything but the personal data."""
    received = await receiver.post(plex_form(PLEX_SAMPLE, thumb_after=True))
    assert received.payload == PLEX_SAMPLE
    assert received.event == WebhookEvent(
        event="media.play",
        server_uuid=SERVER_UUID,
        account_title="elan",
        player_title="Plex Web (Safari)",
        player_local=True,
        media_type="track",
        title="Love The One You're With",
        grandparent_title="Stephen Stills",
        parent_title="Stephen Stills",
        index=1,
        parent_index=1,
        year=None,
        library_section_title=None,
    )
    kept = repr(received.event) + json.dumps(dataclasses.asdict(received.event))
    for value in private_values(PLEX_SAMPLE):
        assert value not in kept


@pytest.mark.parametrize(
    ("before", "after"), [(True, False), (False, True), (True, True), (False, False)]
)
async def test_movie_with_posters(
    receiver: Receiver, before: bool, after: bool
) -> None:
    """The JPEG part is skipped wherever it is."""
    received = await receiver.post(
        plex_form(MOVIE, thumb_before=before, thumb_after=after)
    )
    event = received.event
    assert event is not None
    assert (event.event, event.media_type, event.title, event.year) == (
        "media.pause",
        "movie",
        "Big Buck Bunny",
        2008,
    )
    assert event.library_section_title == "Movies"
    assert event.player_local is False
    assert event.account_title == "Sam"
    kept = repr(event)
    for value in private_values(MOVIE):
        assert value not in kept
    if before:
        assert received.total_bytes > len(JPEG)


async def test_episode_with_string_variants(receiver: Receiver) -> None:
    """Numbers and booleans sent as strings, and 0/1 booleans, are read as such."""
    event = (await receiver.post(plex_form(EPISODE))).event
    assert event is not None
    assert event.player_local is True
    assert (event.index, event.parent_index, event.year) == (1, 0, 2019)
    assert (event.grandparent_title, event.parent_title, event.title) == (
        "A Show",
        "Season 1",
        "Pilot",
    )


async def test_library_new(receiver: Receiver) -> None:
    """A library event has media but no player."""
    event = (await receiver.post(plex_form(LIBRARY_NEW, thumb_before=True))).event
    assert event is not None
    assert event.event in LIBRARY_EVENTS
    assert (event.title, event.year, event.library_section_title) == (
        "Sintel",
        2010,
        "Movies",
    )
    assert (event.player_title, event.player_local) == (None, None)


async def test_database_backup(receiver: Receiver) -> None:
    """A server event carries no Metadata: the media fields stay empty."""
    event = (await receiver.post(plex_form(BACKUP))).event
    assert event == WebhookEvent(
        event="admin.database.backup",
        server_uuid=SERVER_UUID,
        account_title="elan",
    )
    assert event.event in SERVER_EVENTS


async def test_payload_at_the_limit_is_read(receiver: Receiver) -> None:
    """A payload just under the limit (a long summary) is read whole."""
    movie = {**MOVIE, "Metadata": {**MOVIE["Metadata"], "summary": ""}}
    padding = MAX_PAYLOAD_BYTES - len(json.dumps(movie))
    movie["Metadata"]["summary"] = "s" * padding
    assert len(json.dumps(movie)) == MAX_PAYLOAD_BYTES
    received = await receiver.post(plex_form(movie, thumb_before=True))
    assert received.payload == movie


@pytest.mark.parametrize(
    ("data", "headers", "reason"),
    [
        pytest.param(
            json.dumps(PLEX_SAMPLE),
            {"Content-Type": "application/json"},
            "not multipart",
            id="json-body",
        ),
        pytest.param(
            "payload=" + json.dumps(PLEX_SAMPLE),
            {"Content-Type": "application/x-www-form-urlencoded"},
            "not multipart",
            id="urlencoded-payload",
        ),
        pytest.param(
            "hello", {"Content-Type": "text/plain"}, "not multipart", id="text"
        ),
        pytest.param(
            b"--x\r\n\r\n--x--\r\n",
            {"Content-Type": "multipart/form-data"},
            "malformed",
            id="no-boundary",
        ),
        pytest.param(
            b"garbage without any boundary\r\n",
            {"Content-Type": "multipart/form-data; boundary=xyz"},
            "malformed",
            id="no-parts",
        ),
        pytest.param(
            b"--xyz--\r\n",
            {"Content-Type": "multipart/form-data; boundary=xyz"},
            "no payload part",
            id="empty-multipart",
        ),
    ],
)
async def test_hostile_bodies(
    receiver: Receiver, data: Any, headers: dict[str, str], reason: str
) -> None:
    """Anything but a multipart post with a payload part is refused with a short reason."""
    received = await receiver.post(data, headers=headers)
    assert received.error is not None
    assert reason in received.error


def form_with(*parts: tuple[str, bytes, dict[str, str]]) -> aiohttp.MultipartWriter:
    """Return a multipart/form-data body of named parts with their own headers."""
    writer = aiohttp.MultipartWriter("form-data")
    for name, body, headers in parts:
        part = writer.append(body, headers)
        part.set_content_disposition("form-data", name=name)
    return writer


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            form_with(("thumb", JPEG, {"Content-Type": "image/jpeg"})),
            "no payload part",
            id="only-thumb",
        ),
        pytest.param(
            form_with(("Payload", json.dumps(BACKUP).encode(), {})),
            "no payload part",
            id="other-name",
        ),
        pytest.param(plex_form("{not json"), "not JSON", id="garbage-json"),
        pytest.param(plex_form("[" * 100_000), "not JSON", id="deep-json"),
        pytest.param(plex_form("1" * 5000), "not JSON", id="huge-number"),
        pytest.param(
            form_with(
                (
                    "payload",
                    json.dumps(BACKUP).encode("utf-16"),
                    {"Content-Type": "application/json; charset=utf-16"},
                )
            ),
            "charset",
            id="utf-16-charset",
        ),
        pytest.param(
            form_with(("payload", b'{"event": "\xff"}', {})),
            "not UTF-8",
            id="latin-1-bytes",
        ),
        pytest.param(
            plex_form({**PLEX_SAMPLE, "event": "media.teleport"}),
            "unknown event",
            id="unknown-event",
        ),
        pytest.param(
            plex_form({**PLEX_SAMPLE, "Server": {"title": "Office"}}),
            "no server uuid",
            id="no-server-uuid",
        ),
        pytest.param(
            plex_form({**PLEX_SAMPLE, "Server": SERVER_UUID}),
            "no server uuid",
            id="server-not-object",
        ),
        pytest.param(plex_form([PLEX_SAMPLE]), "not a JSON object", id="json-list"),
        pytest.param(
            form_with(
                ("payload", b"", {"Content-Type": "multipart/mixed; boundary=inner"})
            ),
            "nested multipart",
            id="nested-multipart",
        ),
    ],
)
async def test_hostile_parts(receiver: Receiver, body: Any, reason: str) -> None:
    """A missing, undecodable or unknown payload is refused with a short reason."""
    received = await receiver.post(body)
    assert received.error is not None
    assert reason in received.error
    assert received.event is None


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        pytest.param({}, "body too large", id="default-limits"),
        pytest.param(
            {"max_body": 64 * 1024 * 1024}, "payload too large", id="big-body-allowed"
        ),
    ],
)
async def test_ten_megabyte_payload(
    receiver: Receiver, limits: dict[str, int], reason: str
) -> None:
    """A 10 MB payload part is refused, and not read whole."""
    receiver.limits = limits
    payload = {**BACKUP, "padding": "p" * (10 * 1024 * 1024)}
    received = await receiver.post(plex_form(payload))
    assert received.error == reason
    assert received.total_bytes < 2 * 1024 * 1024


async def raw_post(
    port: int, head: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection to the endpoint and send a request head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    await writer.drain()
    return reader, writer


def request_head(receiver: Receiver, length_header: str) -> bytes:
    """Return the head of a multipart post with boundary xyz."""
    return (
        f"POST /hook HTTP/1.1\r\nHost: 127.0.0.1:{receiver.port}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"{length_header}\r\n\r\n"
    ).encode()


THUMB_HEAD = (
    b'--xyz\r\nContent-Disposition: form-data; name="thumb"; filename="t.jpg"\r\n'
    b"Content-Type: image/jpeg\r\n\r\n"
)


async def test_announced_fifty_megabytes_refused_at_once(receiver: Receiver) -> None:
    """A body announced at 50 MB is refused before it is read: the answer comes while
    most of it is still unsent (a reader waiting for the whole body would never answer)."""
    reader, writer = await raw_post(
        receiver.port, request_head(receiver, f"Content-Length: {50 * 1024 * 1024}")
    )
    try:
        writer.write(THUMB_HEAD + JPEG)
        await writer.drain()
        async with asyncio.timeout(DEADLINE):
            status_line = await reader.readline()
        assert status_line.startswith(b"HTTP/1.1 400")
        received = await receiver.outcome()
        assert received.error == "body too large"
        assert received.total_bytes <= len(THUMB_HEAD + JPEG)
    finally:
        writer.transport.abort()


def chunk(data: bytes) -> bytes:
    """Return data as one HTTP/1.1 chunk."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.mark.parametrize(
    ("opening", "filler"),
    [
        pytest.param(THUMB_HEAD, b"\xff" * 65536, id="endless-thumb"),
        pytest.param(b"", (b"preamble " * 100 + b"\r\n") * 64, id="endless-preamble"),
        pytest.param(
            b"--xyz\r\n",
            b"X-Filler: " + b"h" * 100 + b"\r\n",
            id="endless-part-headers",
        ),
    ],
)
async def test_unannounced_fifty_megabytes_stop_at_the_cap(
    receiver: Receiver, opening: bytes, filler: bytes
) -> None:
    """A chunked 50 MB body is refused once max_body bytes came, wherever they go."""
    reader, writer = await raw_post(
        receiver.port, request_head(receiver, "Transfer-Encoding: chunked")
    )

    async def send() -> None:
        if opening:
            writer.write(chunk(opening))
        sent = 0
        while sent < 50 * 1024 * 1024:
            writer.write(chunk(filler))
            sent += len(filler)
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        async with asyncio.timeout(DEADLINE):
            status_line = await reader.readline()
        assert status_line.startswith(b"HTTP/1.1 400")
        received = await receiver.outcome()
        assert received.error is not None
        assert received.error in {"body too large", "malformed or truncated body"}
        assert received.total_bytes <= MAX_BODY_BYTES + 512 * 1024
    finally:
        sending.cancel()
        writer.transport.abort()
        await asyncio.gather(sending, return_exceptions=True)


@pytest.mark.parametrize(
    "length_header",
    [f"Content-Length: {1024 * 1024}", "Transfer-Encoding: chunked"],
    ids=["content-length", "chunked"],
)
async def test_connection_closed_mid_part(
    uncancelled_receiver: Receiver, length_header: str
) -> None:
    """A post cut off inside the payload part is refused, not left hanging."""
    receiver = uncancelled_receiver
    reader, writer = await raw_post(
        receiver.port, request_head(receiver, length_header)
    )
    partial = (
        b'--xyz\r\nContent-Disposition: form-data; name="payload"\r\n\r\n'
        + json.dumps(PLEX_SAMPLE).encode()[:200]
    )
    writer.write(chunk(partial) if "chunked" in length_header else partial)
    await writer.drain()
    async with asyncio.timeout(DEADLINE):
        await receiver.started.wait()
    writer.close()
    received = await receiver.outcome()
    assert received.error == "malformed or truncated body"


EVENT_KEYS = ("event", "user", "owner", "Account", "Server", "Player", "Metadata")
NESTED_KEYS = (
    "uuid",
    "title",
    "local",
    "publicAddress",
    "type",
    "grandparentTitle",
    "parentTitle",
    "index",
    "parentIndex",
    "year",
    "librarySectionTitle",
    "librarySectionType",
    "ratingKey",
    "guid",
    "thumb",
)
VALUES = (
    SCALARS
    | JSON
    | st.sampled_from(sorted(KNOWN_EVENTS))
    | st.sampled_from(["0", "1", "true", "False", "2019", "-3", "٣", "1e3", 1.0, 0, 1])
)
NESTED = st.dictionaries(st.sampled_from(NESTED_KEYS), VALUES, max_size=8)


@given(
    JSON
    | st.dictionaries(st.sampled_from(EVENT_KEYS), VALUES | NESTED, max_size=7)
    | st.fixed_dictionaries(
        {
            "event": st.sampled_from(sorted(KNOWN_EVENTS)),
            "Server": NESTED,
        },
        optional=dict.fromkeys(
            ("user", "owner", "Account", "Player", "Metadata"), VALUES | NESTED
        ),
    )
)
def test_event_parser(data: Any) -> None:
    """Arbitrary JSON gives a well-typed event without personal data, or a WebhookPayloadError."""
    try:
        event = WebhookEvent.from_json(data)
    except WebhookPayloadError:
        return
    assert event.event in KNOWN_EVENTS
    assert event.event in PLAYBACK_EVENTS | LIBRARY_EVENTS | SERVER_EVENTS
    assert isinstance(event.server_uuid, str)
    assert event.server_uuid
    assert event.player_local is None or isinstance(event.player_local, bool)
    for name in ("index", "parent_index", "year"):
        value = getattr(event, name)
        assert value is None or (type(value) is int and 0 <= value <= 2**53)
    for item in dataclasses.fields(event):
        value = getattr(event, item.name)
        if item.type == "str | None":
            assert value is None or (isinstance(value, str) and value)
