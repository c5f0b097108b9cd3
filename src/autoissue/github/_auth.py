"""GitHub App authentication: the app's JWT buys an installation token, renewed before expiry.

The private key signs a short JWT (RS256) for ``POST /app/installations/{id}/access_tokens``;
the installation token it returns lasts an hour and is renewed ``refresh_margin_s`` before
it expires, by one request however many tasks need it at that moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec

from autoissue._clock import Clock
from autoissue._exceptions import ConfigurationError

_JWT_BACKDATE_S = 60  # GitHub's advice: allow for clock drift
_JWT_LIFETIME_S = 540  # GitHub refuses more than ten minutes


class InstallationToken(msgspec.Struct, frozen=True):
    """What GitHub answers for an installation token."""

    token: str
    expires_at: str


# Sends the JWT to the token endpoint and returns the decoded answer.
TokenExchange = Callable[[str, str], Awaitable[InstallationToken]]


class AppAuth:
    """Authenticates as one installation of a GitHub App.

    ``private_key`` is the app's PEM key; it is never shown by ``repr``. Needs the ``app``
    extra (PyJWT with cryptography).
    """

    def __init__(
        self,
        *,
        app_id: str,
        private_key: str,
        installation_id: int,
        refresh_margin_s: float = 300.0,
    ) -> None:
        self.app_id = str(app_id)
        self.installation_id = installation_id
        self.refresh_margin_s = refresh_margin_s
        self._key = private_key
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.renewals = 0

    def __repr__(self) -> str:
        return f"<AppAuth app={self.app_id} installation={self.installation_id}>"

    def app_jwt(self, now: float) -> str:
        """A JWT proving the app's identity, valid for nine minutes."""
        try:
            import jwt  # noqa: PLC0415 - only App authentication needs it
        except ImportError as error:  # pragma: no cover - the dev extra installs it
            raise ConfigurationError(
                "GitHub App authentication needs: pip install 'auto-issue-processor[app]'"
            ) from error
        claims = {
            "iat": int(now) - _JWT_BACKDATE_S,
            "exp": int(now) + _JWT_LIFETIME_S,
            "iss": self.app_id,
        }
        try:
            return jwt.encode(claims, self._key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            raise ConfigurationError(f"the GitHub App private key is not usable: {error}") from None

    @property
    def token_path(self) -> str:
        """Where installation tokens are bought."""
        return f"/app/installations/{self.installation_id}/access_tokens"

    def invalidate(self) -> None:
        """Forget the token (GitHub refused it): the next request buys a new one."""
        self._token = None

    async def token(self, clock: Clock, exchange: TokenExchange) -> str:
        """A valid installation token, renewed first when it is about to expire."""
        current = self._current(clock.time())
        if current is not None:
            return current
        async with self._lock:  # one renewal, however many tasks are waiting for it
            current = self._current(clock.time())
            if current is None:
                answer = await exchange(self.token_path, self.app_jwt(clock.time()))
                self._token, self._expires = answer.token, _epoch(answer.expires_at)
                self.renewals += 1
                current = answer.token
            return current

    def _current(self, now: float) -> str | None:
        if self._token is not None and now < self._expires - self.refresh_margin_s:
            return self._token
        return None


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
