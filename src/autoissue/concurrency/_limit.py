"""What every limit algorithm shares: the outcome of a completion and the bounded estimate.

A limit algorithm is pure arithmetic: it is fed one completion at a time (latency in
seconds, the number in flight when the work started, whether it was dropped) and answers
with the new concurrency limit. It does no I/O and reads no clock, so the same sequence of
samples always gives the same sequence of limits.
"""

from __future__ import annotations

import enum
import math
from typing import Protocol

from autoissue._exceptions import ConfigurationError

__all__ = ["FixedLimit", "LimitAlgorithm", "Outcome", "log10_root", "sqrt_root"]


class Outcome(enum.Enum):
    """How one unit of work ended, as far as the limit is concerned."""

    SUCCESS = "success"
    """It completed; its latency is a fair sample of the system's load."""
    DROPPED = "dropped"
    """Overload: a timeout, a 429 or secondary-limit 403, a 5xx. The limit must come down."""
    IGNORED = "ignored"
    """It says nothing about load (a 404, a bug in a processor): not fed to the algorithm."""


class LimitAlgorithm(Protocol):
    """The contract the limiter drives: read ``limit``, feed ``update``, force with ``reset``."""

    min_limit: int
    max_limit: int

    @property
    def limit(self) -> int:
        """The current concurrency limit, always within ``[min_limit, max_limit]``."""
        ...

    def update(self, latency: float, inflight: int, *, dropped: bool, now: float = 0.0) -> int:
        """Feed one completion and return the new limit.

        ``latency`` is in seconds, ``inflight`` counts the work in flight when this one
        started (itself included), ``now`` is the completion time (used by windowing only).
        """
        ...

    def reset(self, limit: float) -> int:
        """Force the estimate (seeding from history, a resource cut); returns the clamped limit."""
        ...

    def cap(self, limit: int) -> None:
        """Lower the estimate to at most ``limit``, keeping whatever evidence is being gathered.

        The limiter calls it when a bound outside the algorithm (the governor's cap, the
        guard's ceiling) holds the effective limit lower: an estimate far above what can ever
        run would read the capped load as "app-limited" and ignore every sign of queueing.
        """
        ...


def log10_root(limit: float) -> int:
    """``max(1, int(log10(limit)))``: Vegas's default step and threshold function."""
    return max(1, int(math.log10(max(limit, 1.0))))


def sqrt_root(limit: float, *, minimum: float = 4.0) -> float:
    """``max(minimum, sqrt(limit))``: a queue allowance that grows with the limit."""
    return max(minimum, math.sqrt(max(limit, 0.0)))


class BoundedEstimate:
    """A float estimate kept within ``[min_limit, max_limit]``: what every algorithm shares."""

    def __init__(self, *, initial_limit: float, min_limit: int, max_limit: int) -> None:
        if min_limit < 1 or max_limit < min_limit:
            raise ConfigurationError("limits need 1 <= min_limit <= max_limit")
        self.min_limit = min_limit
        self.max_limit = max_limit
        self.estimate = self._clamp(initial_limit)

    @property
    def limit(self) -> int:
        """The estimate, truncated as the reference implementations do."""
        return int(self.estimate)

    def reset(self, limit: float) -> int:
        """Force the estimate to ``limit`` (clamped) and return the new limit."""
        self.estimate = self._clamp(limit)
        return self.limit

    def cap(self, limit: int) -> None:
        """Lower the estimate to at most ``limit`` (never below ``min_limit``)."""
        self.estimate = min(self.estimate, self._clamp(limit))

    def _clamp(self, value: float) -> float:
        if not math.isfinite(value):
            return float(self.max_limit) if value > 0 else float(self.min_limit)
        return max(float(self.min_limit), min(float(self.max_limit), value))


class FixedLimit:
    """A limit that never moves: a forced concurrency (the bench's sweep, tests, ``--concurrency``).

    It keeps the limiter's machinery - admission order, statistics - without learning anything;
    ``reset`` is ignored, since a forced value must not be overridden by history or a guard.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ConfigurationError("a fixed limit must be at least 1")
        self.min_limit = self.max_limit = limit

    @property
    def limit(self) -> int:
        """The forced limit."""
        return self.max_limit

    def update(self, latency: float, inflight: int, *, dropped: bool, now: float = 0.0) -> int:
        """Learn nothing; return the forced limit."""
        return self.max_limit

    def reset(self, limit: float) -> int:
        """Ignore the request; return the forced limit."""
        return self.max_limit

    def cap(self, limit: int) -> None:
        """Ignore the request: a forced limit stays forced."""

    def __repr__(self) -> str:
        return f"<FixedLimit {self.max_limit}>"
