"""The plex.tv client's webhook list calls, against a small plex.tv written here.

Each answer shape a test sends is named after what it stands for: python-plexapi's
XML, the JSON list asked for with Accept: application/json (unconfirmed), or a
wrapping object.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from hypothesis import given, strategies as st
import pytest

from custom_components.plex_link.plextv import (
    PlexTvAuthenticationError,
    PlexTvClient,
    PlexTvConnectionError,
    PlexTvPlexPassRequiredError,
    PlexTvRateLimitedError,
    PlexTvResponseError,
    PlexTvServerError,
)
from custom_components.plex_link.plextv.client import MAX_BODY_BYTES, _decode
from custom_components.plex_link.plextv.models import webhooks_from_body

from .standin import STALL, Fault, PlexTvStandIn
from .test_fuzz import JSON
from .test_plextv import IDENTITY

TOKEN = "webhook-token-7f3a"
PATH = "/api/v2/user/webhooks"
HOOK_A = "https://ha.example/api/webhook/aaa"
HOOK_B = "https://other.example/hook?x=1&y=2"


@dataclass(frozen=True)
class Seen:
    """One request the fake plex.tv received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    form: list[tuple[str, str]]


@dataclass
class FakePlexTv:
    """Answers the webhook path with queued faults (or an empty list) and records requests."""

    base_url: str = ""
    answers: deque[Fault] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, body: str | bytes, content_type: str = "application/json") -> None:
        """Queue a 200 answer with this body."""
        self.answers.append(Fault(status=200, body=body, content_type=content_type))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Record the request, then give the next queued answer."""
        body = await request.read()
        form = await request.post() if request.method == "POST" else {}
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                query=request.query_string,
                headers=dict(request.headers),
                body=body,
                form=[(key, str(value)) for key, value in form.items()],
            )
        )
        fault = self.answers.popleft() if self.answers else Fault(status=200, body="[]")
        return await fault.respond(request)


async def serve(handler: Any) -> tuple[web.AppRunner, str]:
    """Serve handler on every path of a loopback port; return the runner and base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[FakePlexTv]:
    """Serve a fake plex.tv on loopback."""
    fake = FakePlexTv()
    runner, fake.base_url = await serve(fake.handle)
    yield fake
    await runner.cleanup()


@pytest.fixture
async def client(fake: FakePlexTv) -> AsyncIterator[PlexTvClient]:
    """Return a client on its own session, pointed at the fake plex.tv."""
    async with aiohttp.ClientSession() as session:
        yield PlexTvClient(session, IDENTITY, base_url=fake.base_url)


def xml(*entries: str, root: str = "MediaContainer") -> bytes:
    """Return an XML answer as python-plexapi reads it."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} size="{len(entries)}">'
        + "".join(entries)
        + f"</{root}>"
    ).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(
            f'[{{"url": "{HOOK_A}"}}, {{"url": "{HOOK_B}"}}]',
            "application/json",
            [HOOK_A, HOOK_B],
            id="json-list-of-objects",
        ),
        pytest.param(
            f'["{HOOK_B}", "{HOOK_A}"]',
            "application/json",
            [HOOK_B, HOOK_A],
            id="json-list-of-strings",
        ),
        pytest.param(
            f'{{"MediaContainer": {{"size": 1, "Webhook": [{{"url": "{HOOK_A}"}}]}}}}',
            "application/json",
            [HOOK_A],
            id="media-container-Webhook",
        ),
        pytest.param(
            f'{{"MediaContainer": {{"webhook": [{{"url": "{HOOK_A}"}}]}}}}',
            "application/json",
            [HOOK_A],
            id="media-container-webhook",
        ),
        pytest.param(
            f'{{"webhooks": [{{"url": "{HOOK_B}"}}]}}',
            "application/json",
            [HOOK_B],
            id="webhooks-object",
        ),
        pytest.param(
            '{"MediaContainer": {"size": 0}}',
            "application/json",
            [],
            id="empty-media-container",
        ),
        pytest.param("[]", "application/json", [], id="empty-json-list"),
        pytest.param(
            xml(f'<webhook url="{HOOK_A}"/>', '<webhook url="https://b.example/x"/>'),
            "application/xml",
            [HOOK_A, "https://b.example/x"],
            id="xml",
        ),
        pytest.param(
            xml('<webhook url="https://b.example/?a=1&amp;b=2"/>'),
            "text/xml",
            ["https://b.example/?a=1&b=2"],
            id="xml-escaped",
        ),
        pytest.param(xml(), "application/xml", [], id="xml-empty"),
        pytest.param(
            f'\n [{{"url": ""}}, {{"uri": "x"}}, 5, null, {{"url": 7}}, "  ", {{"url": "{HOOK_A}"}}]',
            "application/json",
            [HOOK_A],
            id="malformed-json-entries-skipped",
        ),
        pytest.param(
            xml("<webhook/>", '<device url="x"/>', f'<Webhook url="{HOOK_A}"/>'),
            "application/xml",
            [HOOK_A],
            id="malformed-xml-entries-skipped",
        ),
    ],
)
async def test_get_webhooks_shapes(
    client: PlexTvClient,
    fake: FakePlexTv,
    body: str | bytes,
    content_type: str,
    expected: list[str],
) -> None:
    """Every shape plex.tv may answer in gives the URLs in order, skipping malformed entries."""
    fake.answer(body, content_type)
    assert await client.get_webhooks(TOKEN) == expected
    [request] = fake.seen
    assert (request.method, request.path, request.query) == ("GET", PATH, "")
    assert request.headers["X-Plex-Token"] == TOKEN
    assert request.headers["X-Plex-Client-Identifier"] == IDENTITY.client_identifier


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("", "application/json", id="empty"),
        pytest.param("{}", "application/json", id="object-without-list"),
        pytest.param(
            '{"MediaContainer": {"size": 2}}',
            "application/json",
            id="container-without-list",
        ),
        pytest.param('{"webhooks": {"url": "x"}}', "application/json", id="not-a-list"),
        pytest.param('"https://a"', "application/json", id="string"),
        pytest.param("null", "application/json", id="null"),
        pytest.param("<html>oops</html>", "text/html", id="html"),
        pytest.param(xml(root="Response"), "application/xml", id="xml-other-root"),
        pytest.param(
            b"<MediaContainer><webhook url='x'>", "application/xml", id="xml-broken"
        ),
        pytest.param(
            b"<MediaContainer>\xff</MediaContainer>",
            "application/xml",
            id="xml-not-utf8",
        ),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<MediaContainer><webhook url="&b;"/></MediaContainer>',
            "application/xml",
            id="xml-entities",
        ),
        pytest.param(b"not json", "application/json", id="garbage"),
    ],
)
async def test_get_webhooks_wrong_shapes(
    client: PlexTvClient, fake: FakePlexTv, body: str | bytes, content_type: str
) -> None:
    """An answer of the wrong overall shape is an error, never an empty list to write back."""
    fake.answer(body, content_type)
    with pytest.raises(PlexTvResponseError) as caught:
        await client.get_webhooks(TOKEN)
    assert type(caught.value) is PlexTvResponseError


@pytest.mark.parametrize(
    ("urls", "form"),
    [
        pytest.param(
            [HOOK_B, HOOK_A], [("urls[]", HOOK_B), ("urls[]", HOOK_A)], id="two"
        ),
        pytest.param((HOOK_A,), [("urls[]", HOOK_A)], id="one-tuple"),
        pytest.param([], [("urls", "")], id="clear"),
    ],
)
async def test_set_webhooks_form(
    client: PlexTvClient,
    fake: FakePlexTv,
    urls: list[str],
    form: list[tuple[str, str]],
) -> None:
    """The whole list goes as a form: urls[] once per URL in order, or urls= to clear it."""
    fake.answers.append(Fault(status=201, body=""))
    await client.set_webhooks(TOKEN, urls)
    [request] = fake.seen
    assert (request.method, request.path, request.query) == ("POST", PATH, "")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form == form
    assert TOKEN.encode() not in request.body
    assert request.headers["X-Plex-Token"] == TOKEN


async def test_set_webhooks_ignores_the_answer_body(
    client: PlexTvClient, fake: FakePlexTv
) -> None:
    """Any 2xx is success, whatever its body: no error, and the list was sent once."""
    fake.answer("<html>not json</html>", "text/html")
    assert await client.set_webhooks(TOKEN, [HOOK_A]) is None
    [request] = fake.seen
    assert (request.method, request.form) == ("POST", [("urls[]", HOOK_A)])


@pytest.mark.parametrize(
    "urls",
    [HOOK_A, [HOOK_A, ""], [HOOK_A, None]],
    ids=["a-string", "empty-url", "none"],
)
async def test_set_webhooks_refuses_bad_input(
    client: PlexTvClient, fake: FakePlexTv, urls: Any
) -> None:
    """A bare string (a sequence of characters) or an empty URL is refused before sending."""
    with pytest.raises(ValueError, match="non-empty strings"):
        await client.set_webhooks(TOKEN, urls)
    assert fake.seen == []


async def use_webhooks(client: PlexTvClient, call: str) -> None:
    """Read the webhook list ("get"), or write one URL ("set")."""
    if call == "get":
        await client.get_webhooks(TOKEN)
    else:
        await client.set_webhooks(TOKEN, [HOOK_A])


ERRORS = [
    pytest.param(Fault(status=401), PlexTvAuthenticationError, id="401"),
    pytest.param(
        Fault(status=422, body='{"error": "Invalid token"}'),
        PlexTvAuthenticationError,
        id="422-invalid-token",
    ),
    pytest.param(Fault(status=403), PlexTvPlexPassRequiredError, id="403-no-plex-pass"),
    pytest.param(Fault(status=400), PlexTvResponseError, id="400"),
    pytest.param(Fault(status=404), PlexTvResponseError, id="404"),
    pytest.param(Fault(status=429), PlexTvRateLimitedError, id="429"),
    pytest.param(Fault(status=500), PlexTvServerError, id="500"),
    pytest.param(Fault(status=503), PlexTvServerError, id="503"),
    pytest.param(Fault(drop=True), PlexTvConnectionError, id="reset"),
    pytest.param(Fault(delay=STALL), PlexTvConnectionError, id="timeout"),
]


@pytest.mark.parametrize("call", ["get", "set"])
@pytest.mark.parametrize(("fault", "error"), ERRORS)
async def test_errors_are_typed(
    client: PlexTvClient,
    fake: FakePlexTv,
    call: str,
    fault: Fault,
    error: type[Exception],
) -> None:
    """Both calls fail with the client's tiered errors; the token is in no message."""
    fake.answers.extend([fault, fault])  # aiohttp may retry a dropped request once
    with pytest.raises(error) as caught:
        await use_webhooks(client, call)
    assert type(caught.value) is error
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
    if error is PlexTvPlexPassRequiredError:
        assert isinstance(caught.value, PlexTvResponseError)
        assert caught.value.status == 403


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_list_is_refused(
    client: PlexTvClient, fake: FakePlexTv, chunked: bool
) -> None:
    """A list over the body cap is refused, announced or not."""
    body = '[{"url": "' + "x" * MAX_BODY_BYTES + '"}]'
    fake.answers.append(Fault(status=200, body=body, chunked=chunked))
    with pytest.raises(PlexTvResponseError, match="oversized"):
        await client.get_webhooks(TOKEN)


async def test_rate_limit_carries_the_wait(
    client: PlexTvClient, fake: FakePlexTv
) -> None:
    """Retry-After comes with the rate-limit error."""
    fake.answers.append(Fault(status=429, headers={"Retry-After": "30"}))
    with pytest.raises(PlexTvRateLimitedError) as caught:
        await client.get_webhooks(TOKEN)
    assert caught.value.retry_after == 30


@pytest.mark.parametrize("call", ["get", "set"])
async def test_redirect_is_not_followed(
    client: PlexTvClient, fake: FakePlexTv, call: str
) -> None:
    """A redirect is an error; the token never reaches the other host."""
    elsewhere: list[web.Request] = []

    async def record(request: web.Request) -> web.Response:
        elsewhere.append(request)
        return web.json_response([])

    runner, other = await serve(record)
    try:
        fake.answers.append(
            Fault(status=307, headers={"Location": f"{other}{PATH}?stolen=1"})
        )
        with pytest.raises(PlexTvResponseError) as caught:
            await use_webhooks(client, call)
        assert type(caught.value) is PlexTvResponseError
        assert caught.value.status == 307
        assert elsewhere == []
    finally:
        await runner.cleanup()


@given(
    JSON
    | st.lists(st.fixed_dictionaries({"url": JSON}) | JSON, max_size=5)
    | st.dictionaries(
        st.sampled_from(["MediaContainer", "Webhook", "webhook", "webhooks", "size"]),
        JSON | st.lists(st.fixed_dictionaries({"url": JSON}), max_size=3),
        max_size=3,
    )
)
def test_webhook_list_parser(data: Any) -> None:
    """Arbitrary JSON gives a list of non-empty URL strings, or a typed error."""
    try:
        urls = webhooks_from_body(data)
    except PlexTvResponseError:
        return
    assert all(isinstance(url, str) and url.strip() for url in urls)


@given(st.binary().map(lambda body: b"<" + body) | st.text().map(str.encode))
def test_webhook_body_decoder(body: bytes) -> None:
    """Any body decodes to URLs or a typed error, XML included."""
    try:
        urls = webhooks_from_body(_decode(body, xml=True))
    except PlexTvResponseError:
        return
    assert all(isinstance(url, str) for url in urls)


@pytest.fixture
async def standin_client(plex_tv: PlexTvStandIn) -> AsyncIterator[PlexTvClient]:
    """Return a client on its own session, pointed at the plex.tv stand-in."""
    async with aiohttp.ClientSession() as session:
        yield PlexTvClient(session, IDENTITY, base_url=plex_tv.base_url)


async def test_round_trip_at_the_standin(
    standin_client: PlexTvClient, plex_tv: PlexTvStandIn
) -> None:
    """The list written is the list read back, in order; clearing empties it."""
    token = plex_tv.issue_token()
    account = plex_tv.demo_account
    account.set_webhooks([HOOK_B])
    assert await standin_client.get_webhooks(token) == [HOOK_B]

    await standin_client.set_webhooks(token, [HOOK_B, HOOK_A])
    assert account.webhooks == [HOOK_B, HOOK_A]
    assert await standin_client.get_webhooks(token) == [HOOK_B, HOOK_A]

    await standin_client.set_webhooks(token, [])
    assert await standin_client.get_webhooks(token) == []
    assert account.webhook_history == [[HOOK_B], [HOOK_B, HOOK_A], []]
    for request in plex_tv.requests:
        assert request.headers["X-Plex-Token"] == token
        assert token not in request.path


@pytest.mark.parametrize("call", ["get", "set"])
async def test_standin_without_plex_pass(
    standin_client: PlexTvClient, plex_tv: PlexTvStandIn, call: str
) -> None:
    """An account without Plex Pass gets the typed error, and its list is untouched."""
    plex_tv.demo_account.plex_pass = False
    plex_tv.demo_account.set_webhooks([HOOK_B])
    token = plex_tv.issue_token()
    with pytest.raises(PlexTvPlexPassRequiredError):
        await (
            standin_client.get_webhooks(token)
            if call == "get"
            else standin_client.set_webhooks(token, [HOOK_A])
        )
    assert plex_tv.demo_account.webhooks == [HOOK_B]


async def test_standin_refuses_a_revoked_token(
    standin_client: PlexTvClient, plex_tv: PlexTvStandIn
) -> None:
    """A signed-out token is an authentication error on both calls."""
    token = plex_tv.issue_token()
    plex_tv.revoke(token)
    with pytest.raises(PlexTvAuthenticationError):
        await standin_client.get_webhooks(token)
    with pytest.raises(PlexTvAuthenticationError):
        await standin_client.set_webhooks(token, [HOOK_A])
