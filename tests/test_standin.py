"""The plex.tv stand-in answers as shared/plex-tv-api.md says plex.tv does."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from .standin import PlexTvStandIn, StandInAccount

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
