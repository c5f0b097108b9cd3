"""The adaptive concurrency controller: limiter, resource guard and predictor, joined up.

::

    completion ──▶ limiter ──▶ algorithm ──▶ limit ──▶ listeners (dispatcher, process pool)
        │                                      ▲
        ▼ every tick                           │ ceiling = min(guard, headroom x N*)
    window: mean N, throughput X ──▶ predictor (USL fit) ─┘
    sampler: CPU%, RSS ──────────▶ guard ──cut──▶ reset the algorithm's estimate

``tick()`` is synchronous and does no I/O, so tests drive it on a fake clock; ``run()`` calls it
every ``strategy.tick_interval`` seconds. ``save()`` persists what was learned, and a new
controller given the same store starts from the last limit (or the predicted optimum).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from autoissue._clock import Clock, SystemClock
from autoissue._percentiles import percentiles
from autoissue.concurrency._guard import (
    GuardAction,
    GuardVerdict,
    ResourceGuard,
    ResourceSampler,
    default_cpu_target,
)
from autoissue.concurrency._history import ScalingEvent, ScalingHistory, ScalingHistoryStore
from autoissue.concurrency._limit import Outcome
from autoissue.concurrency._limiter import Acquisition, AdaptiveLimiter, Completion, LimitChange
from autoissue.concurrency._strategies import BALANCED, Strategy
from autoissue.concurrency._usl import ScalingPredictor, USLFit

__all__ = ["AdaptiveConcurrencyController", "ControllerStatistics"]

logger = logging.getLogger(__name__)

# Limit moves caused by single completions are summarised once per tick, not logged one by one.
_COMPLETION_REASONS = frozenset(outcome.value for outcome in Outcome)


@dataclass(frozen=True, slots=True)
class ControllerStatistics:
    """A frozen snapshot of the controller's live figures (latencies in seconds)."""

    strategy: str
    limit: int
    in_flight: int
    waiting: int
    hard_cap: int | None
    ceiling: int | None
    completed: int
    drops: int
    throughput: float
    latency_p50: float
    latency_p95: float
    latency_p99: float
    predicted_optimum: float | None
    fit: USLFit | None
    cpu_percent: float
    rss_bytes: int
    decisions: tuple[ScalingEvent, ...]


class _Window:
    """Completions since the last tick: how many, at what mean concurrency, how many dropped."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.count = 0
        self.inflight_sum = 0
        self.drops = 0

    def add(self, completion: Completion) -> None:
        self.count += 1
        self.inflight_sum += completion.inflight
        self.drops += completion.outcome is Outcome.DROPPED


class AdaptiveConcurrencyController:
    """Decides how much work runs: ``acquire()`` per unit of work, ``add_listener`` to follow.

    ``hard_cap`` is the GitHub governor's concurrency cap; ``sampler`` feeds the resource guard
    (psutil by default); ``cpu_target`` (percent of one core) overrides the strategy's share of
    the machine; ``history`` remembers what was learned across restarts.
    """

    def __init__(
        self,
        *,
        strategy: Strategy = BALANCED,
        hard_cap: int | None = None,
        clock: Clock | None = None,
        sampler: ResourceSampler | None = None,
        history: ScalingHistoryStore | None = None,
        latency_window: int = 2048,
        seed: int = 0,
        cpu_target: float | None = None,
    ) -> None:
        self.strategy = strategy
        self.clock: Clock = clock or SystemClock()
        algorithm = strategy.build_algorithm(seed=seed)
        self.limiter = AdaptiveLimiter(
            algorithm, hard_cap=hard_cap, clock=self.clock, on_completion=self._record
        )
        target = cpu_target if cpu_target is not None else default_cpu_target(strategy.cpu_fraction)
        self.guard = ResourceGuard(
            sampler, cpu_target=target, rss_budget=strategy.rss_budget, min_limit=strategy.min_limit
        )
        self.predictor = ScalingPredictor()
        self._history = history
        self._latencies: deque[float] = deque(maxlen=latency_window)
        self._decisions: deque[ScalingEvent] = deque(maxlen=200)
        self._window = _Window(self.clock.time())
        self._completed = self._drops = 0
        self._throughput = 0.0
        self._tick_limit = self.limiter.limit
        self.limiter.add_listener(self._on_change)
        self._restore()

    @property
    def limit(self) -> int:
        """The effective limit right now."""
        return self.limiter.limit

    def acquire(self) -> Acquisition:
        """Wait for a slot: ``async with controller.acquire() as listener`` (see the limiter)."""
        return self.limiter.acquire()

    def add_listener(self, callback: Callable[[LimitChange], None]) -> None:
        """Follow limit changes (see ``AdaptiveLimiter.add_listener``)."""
        self.limiter.add_listener(callback)

    def tick(self) -> None:
        """Close the current window: feed the predictor, consult the guard, bound the limit."""
        now = self.clock.time()
        verdict = self._verdict(self._observe(now))
        if verdict.action is GuardAction.CUT and verdict.ceiling is not None:
            self.limiter.reset(verdict.ceiling, reason=verdict.reason)
        self.limiter.set_ceiling(self._ceiling(verdict), reason=self._ceiling_reason(verdict))
        self._summarise(now)

    def _verdict(self, concurrency: float) -> GuardVerdict:
        """The guard's verdict; room to spare is scaled from the tick's mean ``concurrency``.

        A cut scales the work in flight now (see :meth:`ResourceGuard.verdict`). Room, though,
        is measured against a reading that covers the whole tick, so the load it scales is
        the tick's, unless more is in flight right now: a moment between two refills can show
        far less, and room computed from it would hold the limit under the load that ran.
        """
        limiter = self.limiter
        verdict = self.guard.verdict(limiter.limit, in_flight=limiter.in_flight)
        if verdict.action is GuardAction.OK and concurrency > limiter.in_flight:
            verdict = self.guard.verdict(limiter.limit, in_flight=round(concurrency))
        return verdict

    async def run(self, *, sample_in_thread: bool = False) -> None:
        """Sample resources and ``tick()`` every ``strategy.tick_interval`` s until cancelled."""
        while True:
            await self.clock.sleep(self.strategy.tick_interval)
            await self.guard.sample_async(in_thread=sample_in_thread)
            self.tick()

    def save(self) -> None:
        """Persist the limit, recent observations and decisions to the history store."""
        if self._history is None:
            return
        self._history.save(
            ScalingHistory(
                limit=self.limiter.limit,
                observations=self.predictor.points,
                events=tuple(self._decisions),
                saved_at=self.clock.time(),
            )
        )

    def statistics(self) -> ControllerStatistics:
        """A frozen snapshot of the live figures."""
        p50, p95, p99 = self._percentiles()
        return ControllerStatistics(
            strategy=self.strategy.name,
            limit=self.limiter.limit,
            in_flight=self.limiter.in_flight,
            waiting=self.limiter.waiting,
            hard_cap=self.limiter.hard_cap,
            ceiling=self.limiter.ceiling,
            completed=self._completed,
            drops=self._drops,
            throughput=self._throughput,
            latency_p50=p50,
            latency_p95=p95,
            latency_p99=p99,
            predicted_optimum=self._optimum(),
            fit=self.predictor.fit(),
            cpu_percent=self.guard.cpu_percent,
            rss_bytes=self.guard.rss_bytes,
            decisions=tuple(self._decisions),
        )

    def _optimum(self) -> float | None:
        fit = self.predictor.fit()
        return None if fit is None else fit.optimum

    def _record(self, completion: Completion) -> None:
        self._window.add(completion)
        self._completed += 1
        if completion.outcome is Outcome.DROPPED:
            self._drops += 1
        elif completion.outcome is Outcome.SUCCESS:
            self._latencies.append(completion.latency)

    def _observe(self, now: float) -> float:
        """Close the window; returns its mean concurrency (0 when nothing completed)."""
        window, self._window = self._window, _Window(now)
        elapsed = now - window.started
        if elapsed <= 0 or window.count == 0:
            return 0.0
        self._throughput = window.count / elapsed
        concurrency = window.inflight_sum / window.count
        self.predictor.observe(concurrency, self._throughput)
        return concurrency

    def _ceiling(self, verdict: GuardVerdict) -> int | None:
        bounds = [verdict.ceiling]
        bounds.append(self.predictor.bound(self.strategy.headroom, self.strategy.max_limit))
        present = [bound for bound in bounds if bound is not None]
        return min(present) if present else None

    def _ceiling_reason(self, verdict: GuardVerdict) -> str:
        if verdict.action is not GuardAction.OK:
            return verdict.reason
        bound = self.predictor.bound(self.strategy.headroom, self.strategy.max_limit)
        if verdict.ceiling is not None and (bound is None or verdict.ceiling < bound):
            return "resource room"
        return "predictor bound"

    def _on_change(self, change: LimitChange) -> None:
        if change.reason not in _COMPLETION_REASONS:
            self._decide(ScalingEvent(change.time, change.old, change.new, change.reason))

    def _summarise(self, now: float) -> None:
        limit = self.limiter.limit
        if limit != self._tick_limit:
            _, p95, _ = self._percentiles()
            reason = f"{self.strategy.algorithm}: p95 {p95 * 1000:.0f} ms, {self._drops} drops"
            self._decide(ScalingEvent(now, self._tick_limit, limit, reason))
        self._tick_limit = limit

    def _decide(self, event: ScalingEvent) -> None:
        logger.info("concurrency %d -> %d: %s", event.old, event.new, event.reason)
        self._decisions.append(event)

    def _percentiles(self) -> tuple[float, float, float]:
        found = percentiles(self._latencies)
        return (found["p50"], found["p95"], found["p99"])

    def _restore(self) -> None:
        history = self._history.load() if self._history is not None else None
        if history is None:
            return
        self.predictor.extend(history.observations)
        self._decisions.extend(history.events)
        seed = history.limit or self.predictor.seed(self.strategy.max_limit)
        if seed is not None:
            self.limiter.reset(seed, reason="seeded from history")
        self._tick_limit = self.limiter.limit

    def __repr__(self) -> str:
        limiter = self.limiter
        return (
            f"<AdaptiveConcurrencyController {self.strategy.name} limit={limiter.limit}"
            f" in_flight={limiter.in_flight} waiting={limiter.waiting}"
            f" completed={self._completed} drops={self._drops}>"
        )
