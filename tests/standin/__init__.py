"""A local stand-in for plex.tv's account API, served over real HTTP.

It answers like plex.tv as described in shared/plex-tv-api.md, serves a
`/link` page where a person types a code, counts every request it receives and
can be told to misbehave (any status, 429 with or without Retry-After, HTML,
delays, dropped or truncated connections) per endpoint and per request.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import hashlib
import html
import io
import json
from pathlib import Path
import secrets
import string
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

from aiohttp import web
import segno

CODE_ALPHABET = string.ascii_uppercase + string.digits
STRONG_ALPHABET = string.ascii_lowercase + string.digits

# A stall long enough to outlast the test suite's request timeout (conftest's fast_plex_tv).
STALL = 0.5

ENDPOINTS = (
    "create_pin",
    "get_pin",
    "link_pin",
    "qr",
    "user",
    "resources",
    "ping",
    "signout",
    "link_page",
    "link_submit",
    "auth_page",
    "auth_approve",
    "get_webhooks",
    "set_webhooks",
)

# Where a connection that must fail points: a loopback port nothing listens on, so
# connecting is refused at once (no timeout to wait for). Ports 1 and 2 (tcpmux,
# compressnet: long obsolete, run nowhere) are privileged, so no test process can
# start listening there by chance, unlike a freed ephemeral port that another
# process may take; and being fixed, they keep snapshots stable.
LOOPBACK = "127.0.0.1"
CLOSED_PORT = 1
CLOSED_RELAY_PORT = 2


def closed_loopback_port() -> int:
    """Return a loopback port that refuses connections at once (see CLOSED_PORT)."""
    return CLOSED_PORT


@dataclass(kw_only=True)
class StandInServer:
    """A Plex Media Server an account can reach.

    uri is where a Plex Media Server stand-in serves it (set by
    PlexMediaServerStandIn.start); while None, the local connection points at a
    closed loopback port.
    """

    name: str
    owned: bool = True
    online: bool = True
    version: str = "1.41.6.9685"
    access_token: str = field(default_factory=lambda: secrets.token_urlsafe(15))
    uri: str | None = None

    @property
    def machine_identifier(self) -> str:
        """Return the server's stable identifier, derived from its name."""
        return hashlib.sha256(self.name.encode()).hexdigest()[:40]

    def to_json(self) -> dict[str, Any]:
        """Return the server as `/api/v2/resources` does, every address on loopback.

        One local http connection (the stand-in's URI, or a closed port), one
        remote and one relay connection, both to closed loopback ports.
        """
        local = urlsplit(self.uri or f"http://{LOOPBACK}:{closed_loopback_port()}")
        return {
            "name": self.name,
            "product": "Plex Media Server",
            "productVersion": self.version,
            "platform": "Linux",
            "platformVersion": "6.1",
            "device": "PC",
            "clientIdentifier": self.machine_identifier,
            "createdAt": "2024-01-01T00:00:00Z",
            "lastSeenAt": "2026-11-01T00:00:00Z",
            "provides": "server",
            "ownerId": None if self.owned else 999,
            "sourceTitle": None if self.owned else "A friend",
            "publicAddress": LOOPBACK,
            "accessToken": self.access_token,
            "owned": self.owned,
            "home": False,
            "synced": False,
            "relay": True,
            "presence": self.online,
            "httpsRequired": False,
            "publicAddressMatches": True,
            "dnsRebindingProtection": False,
            "natLoopbackSupported": True,
            "connections": [
                {
                    "protocol": local.scheme,
                    "address": local.hostname,
                    "port": local.port,
                    "local": True,
                    "relay": False,
                    "IPv6": False,
                    "uri": f"{local.scheme}://{local.netloc}",
                },
                {
                    "protocol": "https",
                    "address": LOOPBACK,
                    "port": CLOSED_PORT,
                    "local": False,
                    "relay": False,
                    "IPv6": False,
                    "uri": f"https://{LOOPBACK}:{CLOSED_PORT}",
                },
                {
                    "protocol": "https",
                    "address": LOOPBACK,
                    "port": CLOSED_RELAY_PORT,
                    "local": False,
                    "relay": True,
                    "IPv6": False,
                    "uri": f"https://{LOOPBACK}:{CLOSED_RELAY_PORT}",
                },
            ],
        }


PLAYER = {
    "name": "Living room TV",
    "product": "Plex for Android (TV)",
    "clientIdentifier": "player-1",
    "provides": "client,player,pubsub-player",
    "presence": True,
    "connections": [],
}


@dataclass(kw_only=True)
class StandInAccount:
    """A Plex account known to the stand-in."""

    id: int
    uuid: str
    username: str
    title: str
    email: str
    plex_pass: bool = True
    servers: list[StandInServer] = field(default_factory=list)
    webhooks: list[str] = field(default_factory=list)
    webhook_history: list[list[str]] = field(default_factory=list)

    def set_webhooks(self, urls: list[str]) -> None:
        """Replace the whole webhook list, as POST /api/v2/user/webhooks does, and record it."""
        self.webhooks = list(urls)
        self.webhook_history.append(list(urls))

    def to_json(self, token: str) -> dict[str, Any]:
        """Return the account as `/api/v2/user` does, token included like plex.tv."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "username": self.username,
            "title": self.title,
            "friendlyName": self.title,
            "email": self.email,
            "thumb": f"https://plex.tv/users/{self.uuid}/avatar",
            "locale": None,
            "country": "US",
            "home": False,
            "homeAdmin": False,
            "guest": False,
            "restricted": False,
            "twoFactorEnabled": False,
            "joinedAt": 1_500_000_000,
            "authToken": token,
            "subscription": {
                "active": self.plex_pass,
                "status": "Active" if self.plex_pass else "Inactive",
                "plan": "lifetime" if self.plex_pass else None,
                "features": ["webhooks"] if self.plex_pass else [],
                "subscribedAt": "2019-01-01T00:00:00Z" if self.plex_pass else None,
            },
            "roles": [],
            "entitlements": [],
        }


@dataclass(kw_only=True)
class StandInPin:
    """A PIN handed out by the stand-in."""

    id: int
    code: str
    strong: bool
    client_identifier: str
    product: str
    created_at: datetime
    expires_at: datetime
    auth_token: str | None = None

    @property
    def expired(self) -> bool:
        """Tell whether the PIN ran out."""
        return datetime.now(UTC) >= self.expires_at

    def to_json(self, base_url: str) -> dict[str, Any]:
        """Return the PIN as plex.tv does."""
        return {
            "id": self.id,
            "code": self.code,
            "product": self.product,
            "trusted": False,
            "qr": f"{base_url}/api/v2/pins/qr/{self.code}",
            "clientIdentifier": self.client_identifier,
            "location": {
                "code": "US",
                "european_union_member": False,
                "continent_code": "NA",
                "country": "United States",
                "city": "Springfield",
                "time_zone": "America/Chicago",
                "postal_code": "00000",
                "in_privacy_restricted_country": False,
                "in_privacy_restricted_region": False,
                "subdivisions": "Illinois",
                "coordinates": "39.8, -89.6",
            },
            "expiresIn": max(
                round((self.expires_at - datetime.now(UTC)).total_seconds()), 0
            ),
            "createdAt": _iso(self.created_at),
            "expiresAt": _iso(self.expires_at),
            "authToken": self.auth_token,
            "newRegistration": None if self.auth_token is None else False,
        }


@dataclass(kw_only=True)
class Fault:
    """One wrong answer the stand-in gives instead of the right one.

    With then_answer, the fault is only the delay (and, with hold, the wait for
    that event): the right answer follows it.
    """

    status: int = 500
    body: bytes | str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    truncate: bool = False
    chunked: bool = False
    then_answer: bool = False
    hold: asyncio.Event | None = None

    async def respond(self, request: web.Request) -> web.StreamResponse:
        """Answer the request the way this fault says."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.drop:
            _close(request)
            return web.Response()
        body = self.body
        if body is None:
            body = _error_body(0, f"Injected HTTP {self.status}", self.status)
        raw = body.encode() if isinstance(body, str) else body
        if self.truncate or self.chunked:
            response = web.StreamResponse(status=self.status, headers=self.headers)
            response.content_type = self.content_type
            if self.truncate:
                response.content_length = len(raw) + 1024
                raw = raw[: max(len(raw) // 2, 1)]
            else:
                response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(raw), 256 * 1024):
                await response.write(raw[start : start + 256 * 1024])
            if self.truncate:
                _close(request)
            else:
                await response.write_eof()
            return response
        return web.Response(
            status=self.status,
            body=raw,
            content_type=self.content_type,
            headers=self.headers,
        )


@dataclass(frozen=True, kw_only=True)
class RecordedRequest:
    """What the stand-in saw of one request."""

    endpoint: str
    method: str
    path: str
    headers: dict[str, str]
    at: float
    query: dict[str, str] = field(default_factory=dict)


class FaultInjectingStandIn:
    """Records every request and answers with queued faults: shared by the stand-ins."""

    ENDPOINTS: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        """Start with no requests and no faults."""
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, deque[tuple[Fault, int | None]]] = {}

    def inject(self, endpoint: str, fault: Fault, *, times: int | None = 1) -> None:
        """Answer the next `times` requests to endpoint with fault (None: until cleared)."""
        if endpoint not in self.ENDPOINTS:
            raise ValueError(f"Unknown endpoint {endpoint}")
        self._faults.setdefault(endpoint, deque()).append((fault, times))

    def clear_faults(self) -> None:
        """Answer every request correctly again."""
        self._faults.clear()

    def count(self, endpoint: str) -> int:
        """Return how many requests an endpoint received."""
        return Counter(request.endpoint for request in self.requests)[endpoint]

    def requests_since(self, moment: float) -> list[RecordedRequest]:
        """Return the requests received after a time.monotonic() moment."""
        return [request for request in self.requests if request.at > moment]

    @web.middleware
    async def _record_and_inject(
        self, request: web.Request, handler: Any
    ) -> web.StreamResponse:
        """Record the request, then answer with a queued fault or for real."""
        endpoint = request.match_info.route.name or "unknown"
        self.requests.append(
            RecordedRequest(
                endpoint=endpoint,
                method=request.method,
                path=request.path,
                headers=dict(request.headers),
                at=time.monotonic(),
                query=dict(request.query),
            )
        )
        fault = self._take_fault(endpoint)
        if fault is not None and fault.then_answer:
            await asyncio.sleep(fault.delay)
            if fault.hold is not None:
                await fault.hold.wait()
        elif fault is not None:
            return await fault.respond(request)
        refusal = await self._refuse(request, endpoint)
        if refusal is not None:
            return refusal
        result: web.StreamResponse = await handler(request)
        return result

    async def _refuse(self, request: web.Request, endpoint: str) -> web.Response | None:
        """Return an answer that rejects every request of this kind, or None to go on."""
        return None

    def _take_fault(self, endpoint: str) -> Fault | None:
        """Return the fault queued for endpoint's next request, if any."""
        queue = self._faults.get(endpoint)
        if not queue:
            return None
        fault, times = queue[0]
        if times is not None:
            if times <= 1:
                queue.popleft()
            else:
                queue[0] = (fault, times - 1)
        return fault


class PlexTvStandIn(FaultInjectingStandIn):
    """plex.tv, as far as Plex Link needs it, on a loopback port."""

    ENDPOINTS = ENDPOINTS

    def __init__(
        self,
        *,
        pin_lifetime: float = 900,
        strong_pin_lifetime: float = 1800,
        state_file: Path | None = None,
        rotate_tokens: bool = True,
    ) -> None:
        """Start with one demo account; PINs live as long as plex.tv's do.

        With a state file, issued tokens survive a restart, as they do at plex.tv.
        Like plex.tv, it keeps one token per account and client identifier: each
        approval revokes the token the account had for that client (unless
        rotate_tokens is off).
        """
        super().__init__()
        self.rotate_tokens = rotate_tokens
        self.pin_lifetime = pin_lifetime
        self.strong_pin_lifetime = strong_pin_lifetime
        self.accounts: list[StandInAccount] = []
        self.pins: dict[int, StandInPin] = {}
        self.tokens: dict[str, StandInAccount] = {}
        self.token_clients: dict[str, str] = {}
        self.issued_tokens: list[str] = []
        self._next_pin_id = 1_000_000
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.demo_account = self.add_account(
            username="demo", title="Demo Person", email="demo@example.invalid"
        )
        self.demo_account.servers.append(StandInServer(name="Media Shelf"))
        self.link_page_account = self.demo_account
        self._state_file = state_file
        if state_file is not None and state_file.exists():
            accounts = {account.username: account for account in self.accounts}
            for token, (name, client) in json.loads(
                state_file.read_text("utf-8")
            ).items():
                if name in accounts:
                    self.tokens[token] = accounts[name]
                    self.token_clients[token] = client

    # -- Test controls --------------------------------------------------------

    def add_account(self, *, username: str, title: str, email: str) -> StandInAccount:
        """Create another account that codes can be linked to."""
        account = StandInAccount(
            id=1000 + len(self.accounts),
            uuid=hashlib.sha256(username.encode()).hexdigest()[:16],
            username=username,
            title=title,
            email=email,
        )
        self.accounts.append(account)
        return account

    def issue_token(
        self, account: StandInAccount | None = None, client_identifier: str = ""
    ) -> str:
        """Mint a new token for an account, as signing in on a device does.

        With rotation on, the token the account held for the same client
        identifier stops working, as at plex.tv.
        """
        account = account or self.demo_account
        if self.rotate_tokens and client_identifier:
            for old in self.live_tokens(account, client_identifier):
                self.tokens.pop(old)
        token = secrets.token_urlsafe(15)
        self.tokens[token] = account
        self.token_clients[token] = client_identifier
        self.issued_tokens.append(token)
        self._save()
        return token

    def live_tokens(self, account: StandInAccount, client_identifier: str) -> list[str]:
        """Return the tokens plex.tv accepts for an account and a client identifier."""
        return [
            token
            for token, owner in self.tokens.items()
            if owner is account and self.token_clients[token] == client_identifier
        ]

    def revoke(self, token: str) -> None:
        """Invalidate a token, as signing out or removing the device does."""
        self.tokens.pop(token, None)
        self._save()

    def _save(self) -> None:
        """Write the live tokens to the state file, when there is one."""
        if self._state_file is not None:
            self._state_file.write_text(
                json.dumps(
                    {
                        token: [account.username, self.token_clients[token]]
                        for token, account in self.tokens.items()
                    }
                ),
                "utf-8",
            )

    def approve(self, code: str, account: StandInAccount | None = None) -> str:
        """Enter a code for an account, as a person does at plex.tv/link."""
        pin = self._live_pin(code)
        if pin is None:
            raise KeyError(f"No live PIN with code {code}")
        pin.auth_token = self.issue_token(account, pin.client_identifier)
        return pin.auth_token

    def expire(self, code: str) -> None:
        """Make a PIN run out now."""
        for pin in self.pins.values():
            if pin.code == code:
                pin.expires_at = datetime.now(UTC) - timedelta(seconds=1)

    # -- Serving --------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Return the aiohttp application that plays plex.tv."""
        app = web.Application(middlewares=[self._record_and_inject])
        # plexauth asks for /api/v2/pins.json; plex.tv answers both.
        app.router.add_post(
            r"/api/v2/pins{suffix:(\.json)?}", self._create_pin, name="create_pin"
        )
        app.router.add_put("/api/v2/pins/link", self._link_pin, name="link_pin")
        app.router.add_get("/api/v2/pins/qr/{code}", self._qr, name="qr")
        app.router.add_get("/api/v2/pins/{id}", self._get_pin, name="get_pin")
        app.router.add_get("/api/v2/user", self._user, name="user")
        app.router.add_get("/api/v2/resources", self._resources, name="resources")
        app.router.add_get("/api/v2/ping", self._ping, name="ping")
        app.router.add_delete("/api/v2/users/signout", self._signout, name="signout")
        app.router.add_get("/link{slash:/?}", self._link_page, name="link_page")
        app.router.add_post("/link", self._link_submit, name="link_submit")
        app.router.add_get("/auth", self._auth_page, name="auth_page")
        app.router.add_post("/auth/approve", self._auth_approve, name="auth_approve")
        app.router.add_get(
            "/api/v2/user/webhooks", self._get_webhooks, name="get_webhooks"
        )
        app.router.add_post(
            "/api/v2/user/webhooks", self._set_webhooks, name="set_webhooks"
        )
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port) and return the base URL."""
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _refuse(self, request: web.Request, endpoint: str) -> web.Response | None:
        """Reject API calls without a client identifier, as plex.tv does (code 1000)."""
        form = await request.post() if request.method == "POST" else {}
        if (
            request.path.startswith("/api/")
            and endpoint != "qr"
            and not _param(request, "X-Plex-Client-Identifier")
            and not form.get("X-Plex-Client-Identifier")
        ):
            return _error(400, 1000, "X-Plex-Client-Identifier is missing")
        return None

    async def _create_pin(self, request: web.Request) -> web.Response:
        """POST /api/v2/pins: a 4-character code, or a strong one."""
        form = await request.post()
        # Only the query string counts, as Plex documents; a `strong` form field is ignored.
        is_strong = request.query.get("strong", "false").lower() in ("1", "true")
        lifetime = self.strong_pin_lifetime if is_strong else self.pin_lifetime
        now = datetime.now(UTC)
        self._next_pin_id += 1
        pin = StandInPin(
            id=self._next_pin_id,
            code=self._new_code(is_strong),
            strong=is_strong,
            client_identifier=_param(request, "X-Plex-Client-Identifier")
            or str(form.get("X-Plex-Client-Identifier", "")),
            product=_param(request, "X-Plex-Product")
            or str(form.get("X-Plex-Product", "Unknown")),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
        self.pins[pin.id] = pin
        return self._pin_answer(request, pin, status=201)

    async def _get_pin(self, request: web.Request) -> web.Response:
        """GET /api/v2/pins/{id}: the token once the code was entered."""
        try:
            pin_id = int(request.match_info["id"])
        except ValueError:
            return _error(400, 1000, "PIN id must be an integer")
        pin = self.pins.get(pin_id)
        # plex.tv answers a poll from another client identifier like an expired code.
        if (
            pin is None
            or pin.expired
            or pin.client_identifier != _param(request, "X-Plex-Client-Identifier")
        ):
            return _error(404, 1020, "Code not found or expired")
        return self._pin_answer(request, pin)

    def _pin_answer(
        self, request: web.Request, pin: StandInPin, status: int = 200
    ) -> web.Response:
        """Answer with a PIN as JSON, or as XML to clients that do not ask for JSON."""
        body = pin.to_json(self.base_url)
        if "json" in request.headers.get("Accept", "") or request.path.endswith(
            ".json"
        ):
            return web.json_response(body, status=status)
        attributes = " ".join(
            f'{key}="{html.escape(str(value))}"'
            for key, value in body.items()
            if value is not None and not isinstance(value, dict)
        )
        return web.Response(
            status=status, text=f"<pin {attributes}/>", content_type="application/xml"
        )

    async def _link_pin(self, request: web.Request) -> web.Response:
        """PUT /api/v2/pins/link: claim a 4-character code as a signed-in account."""
        account = self._account(request)
        if account is None:
            return _error(401, 1001, "User could not be authenticated")
        form = await request.post()
        pin = self._live_pin(str(form.get("code", "")))
        if pin is None or pin.strong:
            return _error(404, 1020, "Code not found or expired")
        pin.auth_token = self.issue_token(account, pin.client_identifier)
        return web.Response(status=204)

    async def _qr(self, request: web.Request) -> web.Response:
        """GET /api/v2/pins/qr/{code}: a QR image that opens the link page."""
        code = request.match_info["code"]
        buffer = io.BytesIO()
        segno.make(f"{self.base_url}/link/?pin={code}", error="m").save(
            buffer, kind="png", scale=8, border=2
        )
        return web.Response(body=buffer.getvalue(), content_type="image/png")

    async def _user(self, request: web.Request) -> web.Response:
        """GET /api/v2/user: the account the token belongs to."""
        token = _param(request, "X-Plex-Token")
        account = self.tokens.get(token)
        if account is None:
            return _error(401, 1001, "User could not be authenticated")
        return web.json_response(account.to_json(token))

    async def _resources(self, request: web.Request) -> web.Response:
        """GET /api/v2/resources: the servers the account can reach."""
        account = self._account(request)
        if account is None:
            return _error(401, 1001, "User could not be authenticated")
        return web.json_response(
            [PLAYER, *(server.to_json() for server in account.servers)]
        )

    async def _ping(self, request: web.Request) -> web.Response:
        """GET /api/v2/ping: keep a token alive."""
        if self._account(request) is None:
            return _error(401, 1001, "User could not be authenticated")
        return web.json_response({"pong": True})

    async def _signout(self, request: web.Request) -> web.Response:
        """DELETE /api/v2/users/signout: revoke the token."""
        token = _param(request, "X-Plex-Token")
        if token not in self.tokens:
            return _error(401, 1001, "User could not be authenticated")
        self.revoke(token)
        return web.Response(status=204)

    async def _get_webhooks(self, request: web.Request) -> web.Response:
        """GET /api/v2/user/webhooks: the account's webhook URLs, JSON or XML."""
        account = self._account(request)
        if account is None:
            return _error(401, 1001, "User could not be authenticated")
        if not account.plex_pass:
            return _plex_pass_required()
        if "json" in request.headers.get("Accept", ""):
            return web.json_response([{"url": url} for url in account.webhooks])
        elements = "".join(
            f'<webhook url="{html.escape(url)}"/>' for url in account.webhooks
        )
        return web.Response(
            text=f'<MediaContainer size="{len(account.webhooks)}">{elements}</MediaContainer>',
            content_type="application/xml",
        )

    async def _set_webhooks(self, request: web.Request) -> web.Response:
        """POST /api/v2/user/webhooks: replace the whole list (`urls[]` each, or `urls=`)."""
        account = self._account(request)
        if account is None:
            return _error(401, 1001, "User could not be authenticated")
        if not account.plex_pass:
            return _plex_pass_required()
        form = await request.post()
        urls = [str(url) for url in form.getall("urls[]", [])]
        if not urls and form.get("urls") != "":
            # What plex.tv does with neither field (or `urls=<url>`) is unknown:
            # the stand-in refuses, so a client that sends it is noticed.
            return _error(400, 1000, "Send urls[] once per URL, or urls= to clear")
        account.set_webhooks(urls)
        # plex.tv's exact success answer is unknown: 201 with no body here.
        return web.Response(status=201)

    async def _link_page(self, request: web.Request) -> web.Response:
        """GET /link: the page where a person types the code."""
        return _page(self._link_form(request.query.get("pin", "")))

    async def _link_submit(self, request: web.Request) -> web.Response:
        """POST /link: approve the typed code for the signed-in (demo) account."""
        form = await request.post()
        code = str(form.get("code", "")).strip().upper()
        pin = self._live_pin(code)
        if pin is None or pin.strong:
            return _page(
                '<p class="error">That code is not valid or has expired.</p>'
                + self._link_form(code),
                status=404,
            )
        self.approve(code, self.link_page_account)
        return _page(
            f'<h2 id="linked">Linked</h2><p>{html.escape(pin.product)} is now linked '
            f"to {html.escape(self.link_page_account.title)}. You can close this page.</p>"
        )

    async def _auth_page(self, request: web.Request) -> web.Response:
        """GET /auth: the browser sign-in page, reading the PIN from the fragment."""
        return _page(
            '<h1>Sign in to Plex</h1><p id="ask">Allow <b id="product"></b> to use '
            f"<b>{html.escape(self.link_page_account.title)}</b>'s Plex account "
            "(plex.tv stand-in)?</p>"
            '<button id="approve" type="button">Allow</button>'
            '<p id="result"></p><script>'
            "const params = new URLSearchParams(location.hash.replace(/^#!?\\??/, ''));"
            "document.getElementById('product').textContent ="
            " params.get('context[device][product]') || 'An app';"
            "document.getElementById('approve').onclick = async () => {"
            " const answer = await fetch('/auth/approve', {method: 'POST',"
            " body: new URLSearchParams({code: params.get('code') || ''})});"
            " const result = document.getElementById('result');"
            " if (!answer.ok) { result.textContent = 'That sign-in request expired.'; return; }"
            " result.id = 'signed-in'; result.textContent = 'Signed in. You can close this tab.';"
            " const forward = params.get('forwardUrl'); if (forward) location.href = forward; };"
            "</script>"
        )

    async def _auth_approve(self, request: web.Request) -> web.Response:
        """POST /auth/approve: approve a strong PIN for the signed-in (demo) account."""
        form = await request.post()
        pin = self._live_pin(str(form.get("code", "")))
        if pin is None or not pin.strong:
            return _error(404, 1020, "Code not found or expired")
        self.approve(pin.code, self.link_page_account)
        return web.Response(status=204)

    def _link_form(self, code: str) -> str:
        """Return the code form of the link page."""
        return (
            "<h1>Link a device</h1>"
            f"<p>Signed in as <b>{html.escape(self.link_page_account.title)}</b> "
            "(plex.tv stand-in).</p>"
            '<form method="post" action="/link">'
            '<label for="code">Enter the code shown on your device</label>'
            f'<input id="code" name="code" maxlength="4" autocomplete="off" '
            f'value="{html.escape(code)}" autofocus>'
            '<button id="submit" type="submit">Link</button></form>'
        )

    def _new_code(self, strong: bool) -> str:
        """Return a code that no live PIN uses."""
        alphabet, length = (STRONG_ALPHABET, 25) if strong else (CODE_ALPHABET, 4)
        while True:
            code = "".join(secrets.choice(alphabet) for _ in range(length))
            if self._live_pin(code) is None:
                return code

    def _live_pin(self, code: str) -> StandInPin | None:
        """Return the unexpired PIN with this code."""
        for pin in self.pins.values():
            if pin.code == code and not pin.expired:
                return pin
        return None

    def _account(self, request: web.Request) -> StandInAccount | None:
        """Return the account of the request's token."""
        return self.tokens.get(_param(request, "X-Plex-Token"))


def _param(request: web.Request, name: str) -> str:
    """Read an X-Plex-* value from the headers or, as plex.tv allows, the query."""
    return request.headers.get(name) or request.query.get(name, "")


def _error_body(code: int, message: str, status: int) -> str:
    """Return plex.tv's error body."""
    return f'{{"errors":[{{"code":{code},"message":"{message}","status":{status}}}]}}'


def _error(status: int, code: int, message: str) -> web.Response:
    """Return plex.tv's error answer."""
    return web.Response(
        status=status,
        text=_error_body(code, message, status),
        content_type="application/json",
    )


def _plex_pass_required() -> web.Response:
    """Return the answer to an account without Plex Pass.

    plex.tv's real status and code for this are not published: 403 and 1998
    are the stand-in's choice, so clients must not depend on them.
    """
    return _error(403, 1998, "Plex Pass required")


def _close(request: web.Request) -> None:
    """Drop the connection under a request."""
    if request.transport is not None:
        request.transport.close()


def _iso(moment: datetime) -> str:
    """Format a moment the way plex.tv does."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _page(body: str, status: int = 200) -> web.Response:
    """Wrap a body in the link page's HTML."""
    return web.Response(
        status=status,
        content_type="text/html",
        text=(
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            "<title>Link a device - plex.tv stand-in</title><style>"
            "body{font-family:sans-serif;background:#1f1f1f;color:#eee;"
            "max-width:28rem;margin:3rem auto;padding:0 1rem}"
            "input{font-size:2rem;letter-spacing:.4rem;width:8rem;text-transform:uppercase;"
            "display:block;margin:1rem 0;padding:.3rem}"
            "button{background:#e5a00d;border:0;padding:.6rem 1.4rem;font-size:1rem}"
            ".error{color:#ff8a80}</style></head><body>"
            f"{body}</body></html>"
        ),
    )
