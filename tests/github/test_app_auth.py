from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autoissue import AuthenticationError, ConfigurationError, FakeClock
from autoissue.emulator import Emulator, EmulatorConfig
from autoissue.github import AppAuth, GitHubClient


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
async def emulated() -> AsyncIterator[tuple[Emulator, FakeClock]]:
    clock = FakeClock()
    # Only installation tokens are accepted: no personal token is configured.
    config = EmulatorConfig(issues=10, tokens=frozenset({"unused-personal-token"}))
    async with Emulator(config, clock=clock) as emulator:
        yield emulator, clock


def app(key: rsa.RSAPrivateKey) -> AppAuth:
    return AppAuth(app_id="4242", private_key=pem(key), installation_id=7)


def test_the_jwt_is_signed_by_the_apps_key_and_short_lived(key: rsa.RSAPrivateKey) -> None:
    token = app(key).app_jwt(now=1_800_000_000)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(
        token, public, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {"iss": "4242", "iat": 1_800_000_000 - 60, "exp": 1_800_000_000 + 540}


def test_a_bad_key_is_a_clear_configuration_error() -> None:
    broken = AppAuth(app_id="1", private_key="not a key", installation_id=1)
    with pytest.raises(ConfigurationError, match="private key is not usable"):
        broken.app_jwt(now=0)
    assert "not a key" not in repr(broken)


async def test_requests_carry_an_installation_token_bought_once(
    emulated: tuple[Emulator, FakeClock], key: rsa.RSAPrivateKey
) -> None:
    emulator, clock = emulated
    auth = app(key)
    async with GitHubClient(base_url=emulator.base_url, app=auth, clock=clock) as client:
        await asyncio.gather(
            *(client.get_json(f"/repos/acme/widgets/issues/{n}") for n in range(1, 9))
        )
        user = await client.get_authenticated_user()
    assert auth.renewals == 1
    assert user.login.startswith("user-")


async def test_the_token_is_renewed_before_it_expires(
    emulated: tuple[Emulator, FakeClock], key: rsa.RSAPrivateKey
) -> None:
    emulator, clock = emulated
    auth = app(key)
    async with GitHubClient(base_url=emulator.base_url, app=auth, clock=clock) as client:
        await client.get_repository("acme/widgets")
        clock.advance(3600 - 299)  # inside the five-minute margin
        await client.get_repository("acme/widgets")
    assert auth.renewals == 2


async def test_a_revoked_token_is_replaced_once(
    emulated: tuple[Emulator, FakeClock], key: rsa.RSAPrivateKey
) -> None:
    emulator, clock = emulated
    auth = app(key)
    async with GitHubClient(base_url=emulator.base_url, app=auth, clock=clock) as client:
        await client.get_repository("acme/widgets")
        reset = urllib.request.Request(emulator.base_url + "/_emulator/reset", method="POST")
        await asyncio.to_thread(urllib.request.urlopen, reset)  # forgets every issued token
        await client.get_repository("acme/widgets")
    assert auth.renewals == 2


async def test_a_jwt_the_server_refuses_is_an_authentication_error(
    emulated: tuple[Emulator, FakeClock], key: rsa.RSAPrivateKey
) -> None:
    emulator, clock = emulated
    clock.advance(-10_000_000)  # our JWT expires long before the server's now
    auth = app(key)
    async with GitHubClient(base_url=emulator.base_url, app=auth, clock=FakeClock(1.0)) as client:
        with pytest.raises(AuthenticationError):
            await client.get_repository("acme/widgets")
