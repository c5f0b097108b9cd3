"""A discrete-event queueing server for the limiter: capacity C, latency rising past C."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from autoissue import FakeClock
from autoissue.concurrency import Listener
from autoissue.concurrency._limiter import AdaptiveLimiter


@dataclass
class QueueingServer:
    """``capacity(t)`` requests run at ``base`` latency; beyond it latency grows in proportion.

    A request admitted when ``n`` are in flight takes ``base * max(1, n / C)`` seconds (times
    log-normal noise of ``sigma``): a processor-sharing server whose throughput is flat at
    ``C / base`` past capacity, which is what a latency-driven limit has to discover.
    """

    capacity: Callable[[float], int]
    base: float = 0.05
    sigma: float = 0.0
    seed: int = 1
    trace: list[tuple[float, int]] = field(default_factory=list)
    completed: int = 0

    def run(self, limiter: AdaptiveLimiter, clock: FakeClock, until: float) -> None:
        """Keep the limiter full (an endless backlog) until ``until`` seconds have passed."""
        rng = random.Random(self.seed)
        start = clock.now
        heap: list[tuple[float, int, Listener]] = []
        order = 0
        while True:
            order = self._fill(
                limiter=limiter, clock=clock, heap=heap, rng=rng, order=order, start=start
            )
            finish, _, listener = heapq.heappop(heap)
            clock.now = finish
            listener.on_success()
            self.completed += 1
            self.trace.append((finish - start, limiter.limit))
            if finish - start >= until:
                return

    def _fill(
        self,
        *,
        limiter: AdaptiveLimiter,
        clock: FakeClock,
        heap: list[tuple[float, int, Listener]],
        rng: random.Random,
        order: int,
        start: float,
    ) -> int:
        while (listener := limiter.try_acquire()) is not None:
            load = listener.inflight / self.capacity(clock.now - start)
            latency = self.base * max(1.0, load) * math.exp(rng.gauss(0.0, self.sigma))
            heapq.heappush(heap, (clock.now + latency, order, listener))
            order += 1
        return order

    def limits_between(self, begin: float, end: float) -> list[int]:
        """The limits recorded at completions in ``[begin, end)`` seconds."""
        return [limit for time, limit in self.trace if begin <= time < end]
