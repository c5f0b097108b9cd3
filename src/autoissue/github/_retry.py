"""When a failed request is worth sending again, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass

from autoissue._backoff import full_jitter

# Answers that say "try again": the gateway or the service failed, not the request.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Full-jitter exponential backoff for transient failures.

    ``attempts`` counts every try, the first included; the wait before try ``k`` (from 1)
    is uniform in ``[0, min(max_delay, base_delay * 2**(k-1))]``.
    """

    attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")

    def delay(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number ``retry`` (1 for the first retry)."""
        return full_jitter(retry, base_s=self.base_delay, cap_s=self.max_delay, rng=rng)


class RetryBudget:
    """Retries may add at most ``ratio`` to the requests sent, plus a small reserve.

    A server that fails everything is then not hammered with ``attempts`` times the
    load: once the budget is spent, failures go straight back to the caller.
    """

    def __init__(self, *, ratio: float = 0.2, reserve: int = 20) -> None:
        self.ratio = ratio
        self.capacity = float(reserve) + 100 * ratio
        self._tokens = float(reserve)
        self.exhausted = 0

    def __repr__(self) -> str:
        return f"<RetryBudget {self._tokens:.1f}/{self.capacity:g}>"

    def deposit(self) -> None:
        """A first attempt was sent: earn a fraction of a retry."""
        self._tokens = min(self.capacity, self._tokens + self.ratio)

    def withdraw(self) -> bool:
        """Spend one retry; ``False`` when the budget is spent."""
        if self._tokens < 1 - 1e-9:  # ten deposits of 0.1 are one retry, despite floats
            self.exhausted += 1
            return False
        self._tokens -= 1
        return True
