"""The plex.tv stand-in answers as shared/plex-tv-api.md says plex.tv does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from .standin import (
    CLOSED_PORT,
    CLOSED_RELAY_PORT,
    Fault,
    PlexTvStandIn,
    StandInAccount,
    closed_loopback_port,
)

CLIENT = {"X-Plex-Client-Identifier": "standin-test", "Accept": "application/json"}


async def test_link_page_approves_the_code(plex_tv: PlexTvStandIn) -> None:
    """A code typed on /link gets a token for the demo account."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{plex_tv.base_url}/api/v2/pins", headers=CLIENT
        ) as response:
            assert response.status == 201
            pin = await response.json()
        assert pin["authToken"] is None
        assert pin["expiresIn"] == 900
        async with session.get(
            f"{plex_tv.base_url}/link/?pin={pin['code']}"
        ) as response:
            assert f'value="{pin["code"]}"' in await response.text()
        async with session.post(
            f"{plex_tv.base_url}/link", data={"code": "ZZZZ"}
        ) as response:
            assert response.status == 404
        async with session.post(
            f"{plex_tv.base_url}/link", data={"code": pin["code"].lower()}
        ) as response:
            assert 'id="linked"' in await response.text()
        async with session.get(
            f"{plex_tv.base_url}/api/v2/pins/{pin['id']}", headers=CLIENT
        ) as response:
            token = (await response.json())["authToken"]
    assert plex_tv.tokens[token] is plex_tv.demo_account


async def test_claim_code_as_signed_in_account(
    plex_tv: PlexTvStandIn, sam: StandInAccount
) -> None:
    """PUT /api/v2/pins/link claims a code for the token's account."""
    token = plex_tv.issue_token(sam)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{plex_tv.base_url}/api/v2/pins", headers=CLIENT
        ) as response:
            pin = await response.json()
        claim = {**CLIENT, "X-Plex-Token": token}
        url = f"{plex_tv.base_url}/api/v2/pins/link"
        async with session.put(
            url, headers=claim, data={"code": pin["code"]}
        ) as response:
            assert response.status == 204
        async with session.put(url, headers=claim, data={"code": "NOPE"}) as response:
            assert response.status == 404
        async with session.put(
            url, headers=CLIENT, data={"code": pin["code"]}
        ) as response:
            assert response.status == 401
    assert plex_tv.tokens[plex_tv.pins[pin["id"]].auth_token or ""] is sam


async def test_plex_tv_rules(plex_tv: PlexTvStandIn) -> None:
    """No client id is a 400 (code 1000); strong PINs are long; QR images need no headers."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{plex_tv.base_url}/api/v2/pins") as response:
            assert response.status == 400
            assert (await response.json())["errors"][0]["code"] == 1000
        async with session.post(
            f"{plex_tv.base_url}/api/v2/pins?strong=true", headers=CLIENT
        ) as response:
            assert len((await response.json())["code"]) == 25
        async with session.get(
            f"{plex_tv.base_url}/api/v2/pins/abc", headers=CLIENT
        ) as response:
            assert response.status == 400
        async with session.get(f"{plex_tv.base_url}/api/v2/pins/qr/ABCD") as response:
            assert response.content_type == "image/png"
        token = plex_tv.issue_token()
        authed = {**CLIENT, "X-Plex-Token": token}
        async with session.get(
            f"{plex_tv.base_url}/api/v2/resources", headers=authed
        ) as response:
            assert [d["name"] for d in await response.json()] == [
                "Living room TV",
                "Media Shelf",
            ]
        async with session.get(
            f"{plex_tv.base_url}/api/v2/ping", headers=authed
        ) as response:
            assert response.status == 200
        plex_tv.revoke(token)
        for path in ("resources", "ping"):
            async with session.get(
                f"{plex_tv.base_url}/api/v2/{path}", headers=authed
            ) as response:
                assert response.status == 401
        async with session.delete(
            f"{plex_tv.base_url}/api/v2/users/signout", headers=authed
        ) as response:
            assert response.status == 401


def test_tokens_survive_a_restart(tmp_path: Path) -> None:
    """With a state file, tokens and account ids outlive the process."""
    state = tmp_path / "state.json"
    first = PlexTvStandIn(state_file=state)
    token = first.issue_token()
    revoked = first.issue_token()
    first.revoke(revoked)

    second = PlexTvStandIn(state_file=state)
    assert set(second.tokens) == {token}
    assert second.demo_account.uuid == first.demo_account.uuid


async def test_answers_older_clients_like_plex_tv(plex_tv: PlexTvStandIn) -> None:
    """XML without Accept: JSON, the .json path, and X-Plex-* sent as form fields."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{plex_tv.base_url}/api/v2/pins.json?strong=true",
            data={
                "X-Plex-Client-Identifier": "form-client",
                "X-Plex-Product": "Old app",
            },
        ) as response:
            assert response.status == 201
            pin = await response.json()
        assert plex_tv.pins[pin["id"]].client_identifier == "form-client"
        assert plex_tv.pins[pin["id"]].product == "Old app"
        async with session.get(
            f"{plex_tv.base_url}/api/v2/pins/{pin['id']}",
            headers={"X-Plex-Client-Identifier": "form-client"},
        ) as response:
            assert response.content_type == "application/xml"
            assert (
                f'<pin id="{pin["id"]}" code="{pin["code"]}"' in await response.text()
            )


async def test_approval_rotates_the_token_of_the_same_client(
    plex_tv: PlexTvStandIn,
) -> None:
    """Like plex.tv: one token per account and client identifier, unless rotation is off."""
    account = plex_tv.demo_account
    first = plex_tv.issue_token(account, "home-assistant")
    elsewhere = plex_tv.issue_token(account, "another-app")
    second = plex_tv.issue_token(account, "home-assistant")
    assert plex_tv.live_tokens(account, "home-assistant") == [second]
    assert first not in plex_tv.tokens
    assert elsewhere in plex_tv.tokens

    plex_tv.rotate_tokens = False
    third = plex_tv.issue_token(account, "home-assistant")
    assert plex_tv.live_tokens(account, "home-assistant") == [second, third]


async def test_resources_offer_only_loopback(plex_tv: PlexTvStandIn) -> None:
    """Every address is on loopback; the local one is the server stand-in's URI, if any."""
    server = plex_tv.demo_account.servers[0]
    authed = {**CLIENT, "X-Plex-Token": plex_tv.issue_token()}
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{plex_tv.base_url}/api/v2/resources", headers=authed
        ) as response:
            device = (await response.json())[1]
        server.uri = "http://127.0.0.1:45678"
        async with session.get(
            f"{plex_tv.base_url}/api/v2/resources", headers=authed
        ) as response:
            served = (await response.json())[1]
    assert device["publicAddress"] == "127.0.0.1"
    assert [
        (c["protocol"], c["address"], c["port"], c["local"], c["relay"], c["uri"])
        for c in device["connections"]
    ] == [
        ("http", "127.0.0.1", CLOSED_PORT, True, False, "http://127.0.0.1:1"),
        ("https", "127.0.0.1", CLOSED_PORT, False, False, "https://127.0.0.1:1"),
        ("https", "127.0.0.1", CLOSED_RELAY_PORT, False, True, "https://127.0.0.1:2"),
    ]
    assert served["connections"][0] | {"uri": None} == {
        "protocol": "http",
        "address": "127.0.0.1",
        "port": 45678,
        "local": True,
        "relay": False,
        "IPv6": False,
        "uri": None,
    }
    assert served["connections"][0]["uri"] == "http://127.0.0.1:45678"
    assert served["connections"][1:] == device["connections"][1:]


async def test_closed_ports_refuse_at_once(socket_enabled: None) -> None:
    """The unreachable connections are refused, not left to time out."""
    assert closed_loopback_port() == CLOSED_PORT
    for port in (CLOSED_PORT, CLOSED_RELAY_PORT):
        with pytest.raises(ConnectionRefusedError):
            async with asyncio.timeout(2):
                await asyncio.open_connection("127.0.0.1", port)


async def test_poll_from_another_client_is_not_found(plex_tv: PlexTvStandIn) -> None:
    """A PIN polled with another client identifier is answered like an expired one."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{plex_tv.base_url}/api/v2/pins", headers=CLIENT
        ) as response:
            pin = await response.json()
        plex_tv.approve(pin["code"])
        url = f"{plex_tv.base_url}/api/v2/pins/{pin['id']}"
        for other in ({**CLIENT, "X-Plex-Client-Identifier": "someone-else"}, {}):
            async with session.get(
                url, headers=other, params={"X-Plex-Client-Identifier": "x"}
            ) as response:
                assert response.status == 404
                assert (await response.json())["errors"][0]["code"] == 1020
        async with session.get(url, headers=CLIENT) as response:
            assert response.status == 200
            assert (await response.json())["authToken"] is not None


async def test_strong_is_read_from_the_query_only(plex_tv: PlexTvStandIn) -> None:
    """`strong` counts in the query string; a form field is ignored, as plex.tv documents."""
    url = f"{plex_tv.base_url}/api/v2/pins"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url, headers=CLIENT, data={"strong": "true"}
        ) as response:
            in_form = await response.json()
        async with session.post(
            url, headers=CLIENT, params={"strong": "true"}
        ) as response:
            in_query = await response.json()
        async with session.post(
            url, headers=CLIENT, params={"strong": "false"}, data={"strong": "true"}
        ) as response:
            both = await response.json()
    assert len(in_form["code"]) == 4
    assert in_form["expiresIn"] == 900
    assert len(in_query["code"]) == 25
    assert in_query["expiresIn"] == 1800
    assert len(both["code"]) == 4


async def test_webhooks_replace_the_whole_list(plex_tv: PlexTvStandIn) -> None:
    """POST replaces the list (order and duplicates as sent), `urls=` clears it."""
    account = plex_tv.demo_account
    account.set_webhooks(["http://127.0.0.1:9/old"])
    authed = {**CLIENT, "X-Plex-Token": plex_tv.issue_token()}
    url = f"{plex_tv.base_url}/api/v2/user/webhooks"
    sent = ["http://127.0.0.1:8/b", "http://127.0.0.1:8/a", "http://127.0.0.1:8/b"]
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url, headers=authed, data=[("urls[]", value) for value in sent]
        ) as response:
            assert response.status == 201
            assert await response.read() == b""
        assert account.webhooks == sent
        async with session.get(url, headers=authed) as response:
            assert await response.json() == [{"url": value} for value in sent]
        async with session.get(
            url, headers={**authed, "Accept": "application/xml"}
        ) as response:
            assert response.content_type == "application/xml"
            assert await response.text() == (
                '<MediaContainer size="3">'
                + "".join(f'<webhook url="{value}"/>' for value in sent)
                + "</MediaContainer>"
            )
        async with session.post(
            url, headers=authed, data=[("urls[]", "http://127.0.0.1:8/c")]
        ) as response:
            assert response.status == 201
        async with session.post(url, headers=authed, data={"urls": ""}) as response:
            assert response.status == 201
        async with session.get(url, headers=authed) as response:
            assert await response.json() == []
        async with session.post(url, headers=authed, data={}) as response:
            assert response.status == 400
    assert account.webhooks == []
    assert account.webhook_history == [
        ["http://127.0.0.1:9/old"],
        sent,
        ["http://127.0.0.1:8/c"],
        [],
    ]


async def test_webhooks_need_a_token_and_plex_pass(
    plex_tv: PlexTvStandIn, sam: StandInAccount
) -> None:
    """401 (1001) without a valid token; 403 for an account without Plex Pass."""
    sam.plex_pass = False
    url = f"{plex_tv.base_url}/api/v2/user/webhooks"
    async with aiohttp.ClientSession() as session:
        for method in ("GET", "POST"):
            async with session.request(
                method, url, headers={**CLIENT, "X-Plex-Token": "nope"}
            ) as response:
                assert response.status == 401
                assert (await response.json())["errors"][0]["code"] == 1001
            async with session.request(
                method,
                url,
                headers={**CLIENT, "X-Plex-Token": plex_tv.issue_token(sam)},
                data={"urls[]": "http://127.0.0.1:8/x"},
            ) as response:
                assert response.status == 403
                assert await response.json() == {
                    "errors": [
                        {"code": 1998, "message": "Plex Pass required", "status": 403}
                    ]
                }
    assert sam.webhooks == []
    assert sam.webhook_history == []
    assert plex_tv.count("get_webhooks") == 2
    assert plex_tv.count("set_webhooks") == 2


async def test_webhook_faults(plex_tv: PlexTvStandIn) -> None:
    """Faults are injected on both webhook endpoints; the list stays as it was."""
    plex_tv.inject("get_webhooks", Fault(status=503))
    plex_tv.inject("set_webhooks", Fault(status=429, headers={"Retry-After": "1"}))
    authed = {**CLIENT, "X-Plex-Token": plex_tv.issue_token()}
    url = f"{plex_tv.base_url}/api/v2/user/webhooks"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=authed) as response:
            assert response.status == 503
        async with session.post(
            url, headers=authed, data={"urls[]": "http://127.0.0.1:8/x"}
        ) as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "1"
        async with session.get(url, headers=authed) as response:
            assert response.status == 200
    assert plex_tv.demo_account.webhook_history == []
    with pytest.raises(ValueError, match="Unknown endpoint"):
        plex_tv.inject("webhooks", Fault())
