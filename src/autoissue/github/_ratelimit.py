"""Rate-limit facts read off GitHub's answers: headers, refusal kinds and how long to wait.

Pure functions, no I/O: the governor and the client decide with them.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

# Bounds on what a header may claim: a server that sends nonsense gets a safe reading.
_MAX_LIMIT = 1_000_000
_MAX_RESET_AHEAD_S = 3600.0  # GitHub's primary window: a reset is never further away
# How far past the window a reset may lie and still be taken for clock drift between hosts.
_RESET_DRIFT_S = 300.0
MIN_SECONDARY_WAIT_S = 60.0


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """One resource's primary budget, as the last answer stated it."""

    limit: int
    remaining: int
    used: int
    reset: float  # epoch seconds
    resource: str = "core"

    def seconds_to_reset(self, now: float) -> float:
        """How long until the budget refills (never negative)."""
        return max(0.0, self.reset - now)


def _integer(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def parse_rate_limit(headers: Mapping[str, str], now: float) -> RateLimitInfo | None:
    """The ``x-ratelimit-*`` headers as a :class:`RateLimitInfo`, or ``None`` when absent.

    ``headers`` keys are lower-case. A limit below 1 is no reading, nor is a reset further
    ahead than an hour (GitHub's window) and five minutes of clock drift: see
    :func:`reset_beyond_window`. Other odd values are clamped: a negative remaining is 0, a
    reset in the past means "now", one within the drift past the hour is an hour.
    """
    if "x-ratelimit-limit" not in headers:
        return None  # a server without limits (or a proxy): the common case, decided at once
    read = _primary_reading(headers, now)
    if read is None:
        return None
    limit, remaining, reset = read
    limit = min(limit, _MAX_LIMIT)
    remaining = min(max(remaining, 0), limit)
    used = _integer(headers, "x-ratelimit-used")
    return RateLimitInfo(
        limit=limit,
        remaining=remaining,
        used=limit - remaining if used is None else min(max(used, 0), limit),
        reset=min(max(float(reset), now), now + _MAX_RESET_AHEAD_S),
        resource=headers.get("x-ratelimit-resource", "core") or "core",
    )


def _primary_reading(headers: Mapping[str, str], now: float) -> tuple[int, int, int] | None:
    """Limit, remaining and reset as sent, or ``None`` when they make no reading."""
    limit, remaining, reset = (
        _integer(headers, "x-ratelimit-limit"),
        _integer(headers, "x-ratelimit-remaining"),
        _integer(headers, "x-ratelimit-reset"),
    )
    if limit is None or remaining is None or reset is None or limit < 1:
        return None  # a limit of nothing is no reading at all: keep the last good one
    if _beyond_window(reset, now):
        return None  # a misreading: keep pacing on the last good one
    return limit, remaining, reset


def _beyond_window(reset: float, now: float) -> bool:
    return reset > now + _MAX_RESET_AHEAD_S + _RESET_DRIFT_S


def reset_beyond_window(headers: Mapping[str, str], now: float) -> float | None:
    """The reset a refusal says to wait for, when it lies beyond GitHub's hourly window.

    ``None`` when the answer names a ``retry-after`` (that wait comes first), has budget
    left, or resets within the hour (and five minutes of clock drift). GitHub's budget always
    refills within the hour, so a later reset is a server's misreading, not a wait.
    """
    remaining, reset = (
        _integer(headers, "x-ratelimit-remaining"),
        _integer(headers, "x-ratelimit-reset"),
    )
    if _retry_after(headers) is not None or remaining is None or remaining > 0:
        return None
    return float(reset) if reset is not None and _beyond_window(reset, now) else None


def utc_text(epoch: float) -> str:
    """``epoch`` as ISO 8601 in UTC (``2027-12-03T07:00:00Z``); seconds when out of range."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{epoch:.0f} (epoch seconds)"


class Refusal(enum.Enum):
    """Why GitHub refused a request with 403 or 429."""

    PRIMARY = "primary"  # the hourly budget is spent: wait for the reset
    SECONDARY = "secondary"  # abuse protection: wait retry-after, else at least a minute
    FORBIDDEN = "forbidden"  # a real permission problem: waiting will not help


def classify_refusal(status: int, headers: Mapping[str, str], message: str) -> Refusal | None:
    """Tell a 403/429 rate limit from a plain 403; ``None`` for any other status."""
    if status not in (403, 429):
        return None
    lowered = message.lower()
    if "secondary rate limit" in lowered or "abuse" in lowered:
        return Refusal.SECONDARY
    if headers.get("x-ratelimit-remaining") == "0" or "rate limit" in lowered:
        return Refusal.PRIMARY
    if status == 429 or "retry-after" in headers:
        return Refusal.SECONDARY
    return Refusal.FORBIDDEN


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        value = float(headers["retry-after"])
    except (KeyError, ValueError):
        return None
    return value if 0 <= value <= _MAX_RESET_AHEAD_S else None


def refusal_wait(
    refusal: Refusal,
    headers: Mapping[str, str],
    *,
    now: float,
    attempt: int,
    rng: random.Random,
    time_scale: float = 1.0,
) -> float:
    """Seconds to wait before trying again, in GitHub's documented order.

    ``retry-after`` if present; else, when the primary budget is spent, until its reset;
    else at least a minute, doubling (with full jitter above the minute) per ``attempt``
    from 1. ``time_scale`` shrinks the fixed minute for emulators on a compressed clock.
    """
    after = _retry_after(headers)
    if after is not None:
        return after
    info = parse_rate_limit(headers, now)
    if info is not None and info.remaining == 0:
        return info.seconds_to_reset(now) + 1.0 / time_scale
    floor = MIN_SECONDARY_WAIT_S / time_scale
    return floor + rng.uniform(0, floor * (2 ** (attempt - 1) - 1))
