"""GitHub App installations: a JWT signed by the app buys an installation token for an hour.

The emulator reads the JWT's claims (issuer, issued-at, expiry) as GitHub does but does not
check its signature: it has no app registry to hold public keys. The client's signing is
exercised for real all the same, since the JWT must decode.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import Any

from aiohttp import web

from autoissue._clock import Clock
from autoissue.emulator._http import Reject, error, json_body
from autoissue.emulator._payloads import iso

__all__ = ["APP_TOKEN_ROUTE", "Installations", "jwt_claims"]

APP_TOKEN_ROUTE = "POST /app/installations/{installation_id}/access_tokens"  # noqa: S105
_HOUR = 3600.0
_MAX_JWT_LIFETIME_S = 600  # GitHub refuses JWTs that expire more than ten minutes ahead


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a compact JWT, or ``None`` when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


class Installations:
    """Issues installation tokens and knows which are still valid."""

    def __init__(self, *, clock: Clock, time_scale: float) -> None:
        self._clock = clock
        self._lifetime = _HOUR / time_scale
        self._tokens: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Installations({len(self._tokens)} tokens)"

    def clear(self) -> None:
        """Forget every issued token."""
        self._tokens.clear()

    def valid(self, token: str) -> bool:
        """Whether ``token`` was issued here and has not expired."""
        return self._tokens.get(token, 0.0) > self._clock.time()

    def _check(self, claims: dict[str, Any] | None) -> None:
        now = self._clock.time()
        if claims is None or not claims.get("iss"):
            raise Reject(error(401, "A JSON web token could not be decoded"))
        expires, issued = claims.get("exp"), claims.get("iat")
        if not isinstance(expires, int | float) or not isinstance(issued, int | float):
            raise Reject(error(401, "'Expiration time' claim ('exp') must be a numeric value"))
        if expires <= now or expires - issued > _MAX_JWT_LIFETIME_S + 60:
            raise Reject(error(401, "'Expiration time' claim ('exp') is too far in the future"))

    async def create_token(self, request: web.Request) -> web.Response:
        """``POST /app/installations/{id}/access_tokens``: a token for an hour."""
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        self._check(jwt_claims(credential.strip()) if scheme.lower() == "bearer" else None)
        token = "ghs_" + secrets.token_hex(18)
        expires = self._clock.time() + self._lifetime
        self._tokens[token] = expires
        body = {
            "token": token,
            "expires_at": iso(int(expires)),
            "permissions": {"issues": "write", "pull_requests": "write", "contents": "write"},
            "repository_selection": "all",
        }
        return json_body(body, status=201)

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the token route."""
        router.add_post(APP_TOKEN_ROUTE.split(" ", 1)[1], self.create_token)
