"""The plan's three strategies as presets: frozen configurations of the controller's parts.

- ``balanced``: windowed Gradient2 with slow start and no-load probing - settles a little
  above capacity (within ``rtt_tolerance`` of the no-load latency), CPU target 80% of the
  machine.
- ``aggressive``: Gradient2 that tolerates twice the no-load latency and moves faster;
  CPU target 90%, a looser predictor bound. For latency-bound work against a roomy server.
- ``conservative``: Vegas, which keeps only a few requests queued; CPU target 60%, a tight
  predictor bound. For shared servers and strict rate limits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from autoissue._exceptions import ConfigurationError
from autoissue.concurrency._aimd import AIMDLimit
from autoissue.concurrency._gradient2 import Gradient2Limit
from autoissue.concurrency._limit import FixedLimit, LimitAlgorithm, sqrt_root
from autoissue.concurrency._vegas import VegasLimit
from autoissue.concurrency._windowed import WindowedLimit

__all__ = ["AGGRESSIVE", "BALANCED", "CONSERVATIVE", "STRATEGIES", "Strategy"]

AlgorithmName = Literal["gradient2", "vegas", "aimd", "fixed"]


@dataclass(frozen=True, kw_only=True)
class Strategy:
    """Everything the controller needs to know, in one frozen value; ``replace`` to tune.

    ``window`` is the shortest aggregation window in seconds (0 feeds every completion
    straight to the algorithm); ``cpu_fraction`` is of the whole machine; ``headroom`` is how
    far above the predicted optimum the limit may go.
    """

    name: str
    algorithm: AlgorithmName = "gradient2"
    initial_limit: int = 20
    min_limit: int = 4
    max_limit: int = 1000
    rtt_tolerance: float = 1.5
    smoothing: float = 0.5
    drop_gradient: float = 0.5
    backoff_ratio: float = 0.9
    probe_interval: int | None = 150
    slow_start: bool = True
    window: float = 0.1
    max_window: float = 1.0
    window_size: int = 10
    cpu_fraction: float = 0.8
    rss_budget: int | None = None
    headroom: float = 2.0
    tick_interval: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_limit <= self.initial_limit <= self.max_limit:
            raise ConfigurationError("need 1 <= min_limit <= initial_limit <= max_limit")
        if not 0 < self.cpu_fraction <= 1 or self.headroom < 1 or self.tick_interval <= 0:
            raise ConfigurationError("need 0 < cpu_fraction <= 1, headroom >= 1, tick > 0")

    @classmethod
    def named(cls, name: str) -> Strategy:
        """The preset called ``name`` (balanced, aggressive or conservative)."""
        try:
            return STRATEGIES[name]
        except KeyError:
            known = ", ".join(sorted(STRATEGIES))
            raise ConfigurationError(f"unknown strategy {name!r}; choose {known}") from None

    @classmethod
    def fixed(cls, concurrency: int) -> Strategy:
        """Exactly ``concurrency`` in flight, never adapted: a forced setting, not a preset."""
        return cls(
            name="fixed",
            algorithm="fixed",
            initial_limit=concurrency,
            min_limit=concurrency,
            max_limit=concurrency,
            window=0,
            probe_interval=None,
            slow_start=False,
        )

    def with_options(self, **changes: Any) -> Strategy:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def build_algorithm(self, *, seed: int = 0) -> LimitAlgorithm:
        """A fresh limit algorithm as this strategy describes it."""
        algorithm = self._bare_algorithm(seed)
        if self.window <= 0:
            return algorithm
        return WindowedLimit(
            algorithm,
            min_window=self.window,
            max_window=max(self.window, self.max_window),
            window_size=self.window_size,
        )

    def _bare_algorithm(self, seed: int) -> LimitAlgorithm:
        if self.algorithm == "fixed":
            return FixedLimit(self.initial_limit)
        if self.algorithm == "vegas":
            return self._vegas(seed)
        if self.algorithm == "aimd":
            return self._aimd()
        return Gradient2Limit(
            initial_limit=self.initial_limit,
            min_limit=self.min_limit,
            max_limit=self.max_limit,
            smoothing=self.smoothing,
            rtt_tolerance=self.rtt_tolerance,
            queue_size=sqrt_root,
            drop_gradient=self.drop_gradient,
            probe_interval=self.probe_interval,
            probe_samples=1,
            seed=seed,
            slow_start=self.slow_start,
        )

    def _aimd(self) -> LimitAlgorithm:
        return AIMDLimit(
            initial_limit=self.initial_limit,
            min_limit=self.min_limit,
            max_limit=self.max_limit,
            backoff_ratio=self.backoff_ratio,
        )

    def _vegas(self, seed: int) -> LimitAlgorithm:
        return VegasLimit(
            initial_limit=self.initial_limit,
            min_limit=self.min_limit,
            max_limit=self.max_limit,
            smoothing=self.smoothing,
            seed=seed,
        )


BALANCED = Strategy(name="balanced")
AGGRESSIVE = Strategy(
    name="aggressive",
    initial_limit=50,
    rtt_tolerance=2.0,
    smoothing=0.7,
    window=0.05,
    cpu_fraction=0.9,
    headroom=4.0,
)
CONSERVATIVE = Strategy(
    name="conservative",
    algorithm="vegas",
    initial_limit=10,
    min_limit=2,
    max_limit=500,
    smoothing=1.0,
    window=0.2,
    cpu_fraction=0.6,
    headroom=1.25,
)
STRATEGIES: dict[str, Strategy] = {s.name: s for s in (BALANCED, AGGRESSIVE, CONSERVATIVE)}
