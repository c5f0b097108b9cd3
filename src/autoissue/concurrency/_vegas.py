"""Vegas: estimate the queue from how far latency sits above the no-load RTT.

After Netflix concurrency-limits' ``VegasLimit`` (itself after TCP Vegas)::

    queue = ceil(limit * (1 - rtt_noload / rtt))
    queue <= threshold(limit)   ->  limit + beta(limit)       no queueing: grow fast
    queue <  alpha(limit)       ->  increase(limit)           little queueing: grow
    queue >  beta(limit)        ->  decrease(limit)           queueing: shrink
    otherwise                   ->  unchanged                 the sweet spot

with alpha = 3·log10(limit), beta = 6·log10(limit), threshold = log10(limit), and
increase/decrease = limit ± log10(limit) (each log10 rounded down, at least 1). A drop always
decreases. ``rtt_noload`` is the smallest RTT seen, re-probed (reset to the current sample)
every ``probe_multiplier · limit`` samples, jittered by 0.5-1.0 from a seeded generator.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from autoissue.concurrency._limit import BoundedEstimate, log10_root

__all__ = ["VegasLimit"]


def _alpha(limit: float) -> int:
    return 3 * log10_root(limit)


def _beta(limit: float) -> int:
    return 6 * log10_root(limit)


def _increase(limit: float) -> float:
    return limit + log10_root(limit)


def _decrease(limit: float) -> float:
    return limit - log10_root(limit)


class VegasLimit(BoundedEstimate):
    """Netflix's Vegas limit; defaults are the reference's (see the module docstring)."""

    def __init__(
        self,
        *,
        initial_limit: float = 20,
        min_limit: int = 1,
        max_limit: int = 1000,
        smoothing: float = 1.0,
        alpha: Callable[[float], int] = _alpha,
        beta: Callable[[float], int] = _beta,
        threshold: Callable[[float], int] = log10_root,
        increase: Callable[[float], float] = _increase,
        decrease: Callable[[float], float] = _decrease,
        probe_multiplier: int = 30,
        seed: int = 0,
    ) -> None:
        super().__init__(initial_limit=initial_limit, min_limit=min_limit, max_limit=max_limit)
        self.smoothing = smoothing
        self._alpha, self._beta, self._threshold = alpha, beta, threshold
        self._increase, self._decrease = increase, decrease
        self.probe_multiplier = probe_multiplier
        self._random = random.Random(seed)  # noqa: S311 - jitter, not secrets
        self._jitter = self._random.uniform(0.5, 1.0)
        self._probe_count = 0
        self.rtt_noload = 0.0

    def update(self, latency: float, inflight: int, *, dropped: bool, now: float = 0.0) -> int:
        """Feed one completion and return the new limit."""
        rtt = max(latency, 1e-9)
        self._probe_count += 1
        if self._jitter * self.probe_multiplier * self.estimate <= self._probe_count:
            # Re-measure the baseline now and then: the service may have become slower for good.
            self._jitter = self._random.uniform(0.5, 1.0)
            self._probe_count = 0
            self.rtt_noload = rtt
            return self.limit
        if self.rtt_noload == 0 or rtt < self.rtt_noload:
            self.rtt_noload = rtt
            return self.limit
        target = self._target(rtt, inflight, dropped=dropped)
        if target is None:
            return self.limit
        target = max(1.0, min(float(self.max_limit), target))
        self.estimate = self._clamp((1 - self.smoothing) * self.estimate + self.smoothing * target)
        return self.limit

    def _target(self, rtt: float, inflight: int, *, dropped: bool) -> float | None:
        limit = self.estimate
        if dropped:
            return self._decrease(limit)
        if inflight * 2 < limit:
            return None  # app-limited: prevent upward drift when not near the limit
        queue = math.ceil(limit * (1 - self.rtt_noload / rtt))
        if queue <= self._threshold(limit):
            return limit + self._beta(limit)
        if queue < self._alpha(limit):
            return self._increase(limit)
        if queue > self._beta(limit):
            return self._decrease(limit)
        return None

    def __repr__(self) -> str:
        return f"<VegasLimit limit={self.limit} rtt_noload={self.rtt_noload:.6f}>"
