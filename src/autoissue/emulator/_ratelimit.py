"""github.com's rate limits, per identity, on an injectable and time-compressible clock.

Primary: 5,000 requests per hour per token (60 per IP without one); a 304 and ``GET /rate_limit``
cost nothing. Secondary: 100 concurrent requests; 900 points per minute per endpoint (reads 1,
writes 5); content creation 80 per minute and 500 per hour. Windows are fixed and open at an
identity's first request, as GitHub's hourly reset does. With ``time_scale`` K each window lasts
1/K of its real length, and so do ``retry-after`` and ``x-ratelimit-reset``.

Decisions are synchronous and made before the request is served (decide, then do the I/O).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autoissue._clock import Clock
from autoissue.emulator._limits import GITHUB_LIMITS
from autoissue.emulator._payloads import token_login, user_id

__all__ = ["RateLimiter", "Refusal"]

PRIMARY_LIMIT = GITHUB_LIMITS.primary
ANONYMOUS_LIMIT = GITHUB_LIMITS.anonymous
MAX_CONCURRENT = GITHUB_LIMITS.max_concurrent
POINTS_PER_MINUTE = GITHUB_LIMITS.points_per_minute
CONTENT_PER_MINUTE = GITHUB_LIMITS.content_per_minute
CONTENT_PER_HOUR = GITHUB_LIMITS.content_per_hour
_SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
_CONTENT = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later."
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused, with GitHub's message and ``retry-after`` seconds if any.

    ``kind`` is primary, concurrency, points, content_minute or content_hour.
    """

    kind: str
    message: str
    retry_after: int | None = None


class _Window:
    """A fixed window that opens at its first use and counts until it expires."""

    __slots__ = ("count", "length", "start")

    def __init__(self, length: float) -> None:
        self.length = length
        self.start = -math.inf
        self.count = 0

    def current(self, now: float) -> _Window:
        if now >= self.start + self.length:
            self.start, self.count = now, 0
        return self

    def remaining_seconds(self, now: float) -> int:
        return max(1, math.ceil(self.start + self.length - now))


class _Identity:
    __slots__ = ("content_hour", "content_minute", "in_flight", "limit", "points", "primary")

    def __init__(self, limit: int, hour: float) -> None:
        self.limit = limit
        self.primary = _Window(hour)
        self.content_minute = _Window(hour / 60)
        self.content_hour = _Window(hour)
        self.points: dict[str, _Window] = {}
        self.in_flight = 0


class RateLimiter:
    """Admits or refuses requests per identity (a token, or ``ip:ADDRESS`` without one)."""

    def __init__(self, *, clock: Clock, time_scale: float = 1.0) -> None:
        self.clock = clock
        self.hour = GITHUB_LIMITS.hour_s / time_scale
        self._identities: dict[str, _Identity] = {}

    def __repr__(self) -> str:
        return f"RateLimiter(identities={len(self._identities)}, hour={self.hour:g}s)"

    def _get(self, identity: str) -> _Identity:
        found = self._identities.get(identity)
        if found is None:
            limit = ANONYMOUS_LIMIT if identity.startswith("ip:") else PRIMARY_LIMIT
            found = self._identities[identity] = _Identity(limit, self.hour)
        return found

    def enter(self, identity: str) -> None:
        """Count a request in flight (every request, admitted or not, until :meth:`leave`)."""
        self._get(identity).in_flight += 1

    def leave(self, identity: str) -> None:
        """Count a request as finished."""
        self._get(identity).in_flight -= 1

    def admit(
        self, identity: str, endpoint: str, method: str, *, creates_content: bool
    ) -> Refusal | None:
        """Refuse the request, or admit it and spend its secondary budgets."""
        who = self._get(identity)
        now = self.clock.time()
        if who.in_flight > MAX_CONCURRENT:
            return Refusal("concurrency", _SECONDARY, max(1, math.ceil(self.hour / 60)))
        if who.primary.current(now).count >= who.limit:
            return Refusal("primary", _primary_message(identity))
        points = who.points.setdefault(endpoint, _Window(self.hour / 60)).current(now)
        cost = GITHUB_LIMITS.points(method)
        if points.count + cost > POINTS_PER_MINUTE:
            return Refusal("points", _SECONDARY, points.remaining_seconds(now))
        if creates_content:
            refusal = self._content(who, now)
            if refusal:
                return refusal
        points.count += cost
        return None

    def _content(self, who: _Identity, now: float) -> Refusal | None:
        for kind, window, limit in (
            ("content_minute", who.content_minute.current(now), CONTENT_PER_MINUTE),
            ("content_hour", who.content_hour.current(now), CONTENT_PER_HOUR),
        ):
            if window.count >= limit:
                return Refusal(kind, _CONTENT, window.remaining_seconds(now))
        who.content_minute.count += 1
        who.content_hour.count += 1
        return None

    def charge(self, identity: str) -> None:
        """Spend one request of the primary budget (not for a 304 or ``GET /rate_limit``)."""
        self._get(identity).primary.current(self.clock.time()).count += 1

    def status(self, identity: str) -> tuple[int, int, int, int]:
        """``(limit, remaining, used, reset epoch seconds)`` of the identity's primary budget."""
        who = self._get(identity)
        window = who.primary.current(self.clock.time())
        used = min(window.count, who.limit)
        return who.limit, who.limit - used, used, math.ceil(window.start + window.length)

    def headers(self, identity: str) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers GitHub sends on every response."""
        limit, remaining, used, reset = self.status(identity)
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        }

    def overview(self, identity: str) -> dict[str, object]:
        """The body of ``GET /rate_limit``."""
        limit, remaining, used, reset = self.status(identity)
        core = {"limit": limit, "used": used, "remaining": remaining, "reset": reset}
        search = {"limit": 30, "used": 0, "remaining": 30, "reset": reset}
        graphql = {"limit": limit, "used": 0, "remaining": limit, "reset": reset}
        resources = {
            "core": core,
            "search": search,
            "graphql": graphql,
            "integration_manifest": graphql,
            "code_search": search | {"limit": 10, "remaining": 10},
        }
        return {"resources": resources, "rate": core}


def _primary_message(identity: str) -> str:
    if identity.startswith("ip:"):
        return (
            f"API rate limit exceeded for {identity[3:]}. (But here's the good news: Authenticated "
            "requests get a higher rate limit. Check out the documentation for more details.)"
        )
    return f"API rate limit exceeded for user ID {user_id(token_login(identity))}."
