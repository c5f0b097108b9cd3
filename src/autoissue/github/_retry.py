"""When a failed request is worth sending again, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass

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
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return rng.uniform(0, ceiling)
