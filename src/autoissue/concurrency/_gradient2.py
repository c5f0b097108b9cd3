"""Gradient2: the limit follows the ratio of long-term to short-term latency.

After Netflix concurrency-limits' ``Gradient2Limit``: the long-term RTT is an exponential
average over ``long_window`` samples (a plain mean while warming up), the short-term RTT is
the sample itself, and

    gradient  = clamp(rtt_tolerance * long / short, 0.5, 1.0)
    new_limit = limit * gradient + queue_size(limit)
    limit     = limit * (1 - smoothing) + new_limit * smoothing

so the limit grows by the queue allowance while latency stays within the tolerance and shrinks
in proportion once it does not. Two documented departures, both off at their reference values:

- ``drop_gradient``: a dropped request (429, 5xx, timeout) uses this gradient instead of its
  latency's, since a 429 comes back fast and would otherwise read as good news
  (Netflix/concurrency-limits#134).
- ``probe_interval``: under steady overload the long average learns the queueing latency and
  the limit drifts to its maximum (Netflix/concurrency-limits#137). With probing on, every
  ``probe_interval`` updates (jittered by 0.5-1.0, seeded) the algorithm drops to ``min_limit``
  until ``probe_samples`` updates started at that load, takes their median as the no-load RTT,
  as Envoy's adaptive-concurrency filter does, and the long average may not learn above it.
- ``slow_start``: as in TCP, a fresh limit doubles its target (instead of adding the queue
  allowance) while latency stays within the tolerance, until the first sign of queueing or the
  first drop; from then on it grows additively. Growing by ``sqrt(limit)`` per window, a limit
  of 20 needs a dozen seconds to reach a server that takes 250 at once; doubling takes a few
  windows, and overshooting costs one cut. It waits for ``_BASELINE_SAMPLES`` samples, so the
  baseline is learned at the initial (light) load, and the climb cannot raise it. Later, a
  window whose latency is back at the baseline (no queueing at all, under full use) doubles
  again: capacity that returns is taken back in a few windows, not a few dozen.

Fed one request at a time it reacts to every sample; wrapped in ``WindowedLimit`` (as Netflix
deploys it) it sees one aggregated sample per window, which is far steadier at high rates.
"""

from __future__ import annotations

import logging
import math
import random
import statistics
from collections.abc import Callable

from autoissue._exceptions import ConfigurationError
from autoissue.concurrency._limit import BoundedEstimate

__all__ = ["Gradient2Limit"]

logger = logging.getLogger(__name__)

# Windows averaged into the baseline before slow start may double: the reference's warm-up of
# the long average. Fewer (tried: 3 and 5) left the baseline too noisy on a log-normal server.
_BASELINE_SAMPLES = 10


class _ExpAverage:
    """The reference's ``ExpAvgMeasurement``: a plain mean for ``warmup`` samples, then an EMA."""

    def __init__(self, window: int, warmup: int = 10) -> None:
        self.value = 0.0
        self._sum = 0.0
        self._count = 0
        self._factor = 2.0 / (window + 1)
        self._warmup = warmup

    @property
    def baseline(self) -> bool:
        """Whether enough samples were seen to call the average a baseline."""
        return self._count >= _BASELINE_SAMPLES

    def add(self, sample: float) -> float:
        if self._count < self._warmup:
            self._count += 1
            self._sum += sample
            self.value = self._sum / self._count
        else:
            self.value = self.value * (1 - self._factor) + sample * self._factor
        return self.value


class Gradient2Limit(BoundedEstimate):
    """Netflix's Gradient2 limit; defaults are the reference's (see the module docstring)."""

    def __init__(
        self,
        *,
        initial_limit: float = 20,
        min_limit: int = 20,
        max_limit: int = 200,
        smoothing: float = 0.2,
        rtt_tolerance: float = 1.5,
        long_window: int = 600,
        queue_size: Callable[[float], float] | float = 4,
        drop_gradient: float | None = None,
        probe_interval: int | None = None,
        probe_samples: int = 3,
        seed: int = 0,
        slow_start: bool = False,
    ) -> None:
        super().__init__(initial_limit=initial_limit, min_limit=min_limit, max_limit=max_limit)
        if not 0 < smoothing <= 1 or rtt_tolerance < 1 or long_window < 1:
            raise ConfigurationError(
                "need 0 < smoothing <= 1, rtt_tolerance >= 1, long_window >= 1"
            )
        self.smoothing = smoothing
        self.rtt_tolerance = rtt_tolerance
        self._queue_size = queue_size if callable(queue_size) else (lambda _limit: queue_size)
        self.drop_gradient = drop_gradient
        self.probe_interval = probe_interval
        self.probe_samples = max(1, probe_samples)
        self._long = _ExpAverage(long_window)
        self._random = random.Random(seed)  # noqa: S311 - jitter, not secrets
        self._noload = math.inf
        self._since_probe = 0
        self._probe_after = self._next_probe_after()
        self._probe: list[float] | None = None
        self.last_rtt = 0.0
        self.slow_start = slow_start
        self.regrow = slow_start

    @property
    def limit(self) -> int:
        """The current limit; ``min_limit`` while probing for the no-load RTT."""
        return self.min_limit if self._probe is not None else int(self.estimate)

    @property
    def long_rtt(self) -> float:
        """The long-term RTT average, in seconds."""
        return self._long.value

    @property
    def noload_rtt(self) -> float | None:
        """The last probed no-load RTT, or None before the first probe (or with probing off)."""
        return None if math.isinf(self._noload) else self._noload

    @property
    def probing(self) -> bool:
        """Whether the limit is held at ``min_limit`` to measure the no-load RTT."""
        return self._probe is not None

    def update(self, latency: float, inflight: int, *, dropped: bool, now: float = 0.0) -> int:
        """Feed one completion and return the new limit."""
        rtt = max(latency, 1e-9)
        self.last_rtt = rtt
        if self._probe is not None:
            return self._probe_sample(self._probe, rtt, inflight)
        if self._should_probe():
            return self._start_probe()
        long_rtt = self._learn(rtt)
        if long_rtt / rtt > 2:
            # Latency is back to normal after a long overload: shed the stale average faster.
            self._long.value *= 0.95
        if dropped and self.drop_gradient is not None:
            self._end_slow_start()
            return self._apply(self.drop_gradient)
        if inflight < self.estimate / 2:
            return self.limit  # app-limited: a light load says nothing about the ceiling
        gradient = max(0.5, min(1.0, self.rtt_tolerance * long_rtt / rtt))
        return self._apply(gradient, at_baseline=rtt <= long_rtt)

    def _learn(self, rtt: float) -> float:
        if self.slow_start and self._long.baseline:
            # While climbing, the overshoot's queueing must not become the baseline.
            return self._long.add(min(rtt, self._noload, self._long.value))
        return self._long.add(min(rtt, self._noload))

    def _end_slow_start(self) -> None:
        self.slow_start = False

    def _apply(self, gradient: float, *, at_baseline: bool = False) -> int:
        if gradient < 1.0:
            self._end_slow_start()
        queue = self._queue_size(self.estimate) if gradient >= 1.0 else 0.0
        if self._long.baseline and (self.slow_start or (self.regrow and at_baseline)):
            queue = self.estimate
        target = self.estimate * gradient + queue
        self.estimate = self._clamp(self.estimate * (1 - self.smoothing) + target * self.smoothing)
        return self.limit

    def _next_probe_after(self) -> float:
        if self.probe_interval is None:
            return math.inf
        return self._random.uniform(0.5, 1.0) * self.probe_interval

    def _should_probe(self) -> bool:
        self._since_probe += 1
        return self._since_probe >= self._probe_after

    def _start_probe(self) -> int:
        logger.debug("gradient2: probing the no-load RTT at limit %d", self.min_limit)
        self._probe = []
        return self.limit

    def _probe_sample(self, probe: list[float], rtt: float, inflight: int) -> int:
        if inflight > self.min_limit:
            return self.limit  # started before the probe: still queued behind the old limit
        probe.append(rtt)
        if len(probe) < self.probe_samples:
            return self.limit
        # The probe is the truth about the baseline, higher or lower than the average.
        self._noload = statistics.median(probe)
        self._long.value = self._noload
        self._probe, self._since_probe = None, 0
        self._probe_after = self._next_probe_after()
        logger.debug("gradient2: no-load RTT %.6f s", self._noload)
        return self.limit

    def __repr__(self) -> str:
        return (
            f"<Gradient2Limit limit={self.limit} long_rtt={self.long_rtt:.6f}"
            f" probing={self.probing}>"
        )
