"""AIMD: additive increase, multiplicative decrease - TCP Reno's rule for concurrency.

After Netflix concurrency-limits' ``AIMDLimit``: a drop, or a latency above ``timeout``,
multiplies the limit by ``backoff_ratio``; a success while at least half the limit is in flight
adds one. Latency otherwise plays no part, which makes AIMD the most predictable and the
slowest to notice a server that is merely getting slower.
"""

from __future__ import annotations

from autoissue._exceptions import ConfigurationError
from autoissue.concurrency._limit import BoundedEstimate

__all__ = ["AIMDLimit"]


class AIMDLimit(BoundedEstimate):
    """Netflix's AIMD limit; defaults are the reference's (see the module docstring)."""

    def __init__(
        self,
        *,
        initial_limit: float = 20,
        min_limit: int = 20,
        max_limit: int = 200,
        backoff_ratio: float = 0.9,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(initial_limit=initial_limit, min_limit=min_limit, max_limit=max_limit)
        if not 0.5 <= backoff_ratio < 1:
            raise ConfigurationError("backoff_ratio must be in [0.5, 1)")
        self.backoff_ratio = backoff_ratio
        self.timeout = timeout

    def update(self, latency: float, inflight: int, *, dropped: bool, now: float = 0.0) -> int:
        """Feed one completion and return the new limit."""
        limit = self.limit
        if dropped or latency > self.timeout:
            limit = int(limit * self.backoff_ratio)
        elif inflight * 2 >= limit:
            limit += 1
        self.estimate = self._clamp(limit)
        return self.limit

    def __repr__(self) -> str:
        return f"<AIMDLimit limit={self.limit} backoff_ratio={self.backoff_ratio}>"
