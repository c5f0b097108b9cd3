"""Authentication as GitHub does it: 401 for bad tokens and anonymous writes."""

from __future__ import annotations

import base64
import json

import aiohttp

from autoissue import FakeClock
from autoissue.emulator import Emulator

from .conftest import Api, Start

REPO = "/repos/acme/widgets"


async def _get(url: str, authorization: str | None) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": authorization} if authorization else {}
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as response:
        return response.status, await response.json()


async def test_only_listed_tokens_are_accepted(start: Start) -> None:
    emulator = await start(tokens=frozenset({"good"}))
    url = f"{emulator.base_url}/user"
    assert (await _get(url, "token good"))[0] == 200
    assert (await _get(url, "Bearer good"))[0] == 200
    basic = base64.b64encode(b"x-access-token:good").decode()
    assert (await _get(url, f"Basic {basic}"))[0] == 200
    for header in ("token bad", "Basic !!!", "Digest good", "token "):
        status, body = await _get(url, header)
        assert (status, body["message"]) == (401, "Bad credentials"), header
        assert str(body["documentation_url"]).startswith("https://docs.github.com/")


async def test_anonymous_reads_work_and_writes_need_a_token(emulator: Emulator, anon: Api) -> None:
    status, _, _ = await anon("GET", f"{emulator.base_url}{REPO}/issues/1")
    assert status == 200
    status, _, body = await anon("POST", f"{emulator.base_url}{REPO}/issues/1/labels", json=["x"])
    assert (status, body["message"]) == (401, "Requires authentication")
    status, _, body = await anon("GET", f"{emulator.base_url}/user")
    assert (status, body["message"]) == (401, "Requires authentication")


async def test_user_is_stable_per_token(emulator: Emulator, api: Api) -> None:
    _, _, first = await api("GET", f"{emulator.base_url}/user")
    _, _, second = await api("GET", f"{emulator.base_url}/user")
    assert first == second
    assert first["login"].startswith("user-")
    assert first["type"] == "User"


async def _post(url: str, authorization: str) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": authorization}
    async with aiohttp.ClientSession(headers=headers) as session, session.post(url) as response:
        return response.status, await response.json()


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


async def test_installation_tokens_need_a_well_formed_current_jwt(start: Start) -> None:
    clock = FakeClock()
    emulator = await start(clock=clock, tokens=frozenset({"good"}))
    url = f"{emulator.base_url}/app/installations/1/access_tokens"
    now = int(clock.time())
    refused = [
        "Bearer not-a-jwt",
        "Bearer a.%%%.c",
        "token " + _jwt({"iss": "1", "iat": now, "exp": now + 500}),
        "Bearer " + _jwt({"iat": now, "exp": now + 500}),
        "Bearer " + _jwt({"iss": "1", "iat": now, "exp": "soon"}),
        "Bearer " + _jwt({"iss": "1", "iat": now - 700, "exp": now - 100}),
        "Bearer " + _jwt({"iss": "1", "iat": now, "exp": now + 3600}),
    ]
    for header in refused:
        assert (await _post(url, header))[0] == 401, header
    status, body = await _post(url, "Bearer " + _jwt({"iss": "1", "iat": now, "exp": now + 500}))
    assert status == 201
    token = str(body["token"])
    assert token.startswith("ghs_")
    assert (await _get(f"{emulator.base_url}/user", f"token {token}"))[0] == 200
    assert (await _get(f"{emulator.base_url}/user", "token ghs_forged"))[0] == 401
