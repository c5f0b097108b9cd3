from __future__ import annotations

import asyncio
import math

import pytest

from autoissue import ConfigurationError, FakeClock
from autoissue.concurrency import (
    BALANCED,
    STRATEGIES,
    AdaptiveConcurrencyController,
    LimitChange,
    MemoryHistoryStore,
    Strategy,
)
from autoissue.concurrency._aimd import AIMDLimit
from autoissue.concurrency._gradient2 import Gradient2Limit
from autoissue.concurrency._guard import ResourceReading
from autoissue.concurrency._history import ScalingHistory
from autoissue.concurrency._strategies import AGGRESSIVE, CONSERVATIVE
from autoissue.concurrency._vegas import VegasLimit
from autoissue.concurrency._windowed import WindowedLimit
from tests.concurrency.test_guard import FixedSampler

CALM = ResourceReading(1.0, 1)


def controller(**options: object) -> tuple[AdaptiveConcurrencyController, FakeClock]:
    clock = FakeClock()
    options.setdefault("sampler", FixedSampler(CALM))
    return AdaptiveConcurrencyController(clock=clock, **options), clock  # type: ignore[arg-type]


def run_window(
    ctl: AdaptiveConcurrencyController, clock: FakeClock, level: int, rate: float
) -> None:
    """Complete ``rate`` units per second at ``level`` in flight for one second, then tick."""
    count = max(1, round(rate))
    for _ in range(count):
        listener = ctl.limiter.try_acquire()
        assert listener is not None
        listener.inflight = level
        clock.advance(1.0 / count)
        listener.on_success(0.05)
    ctl.tick()


def test_presets_are_frozen_and_distinct() -> None:
    assert set(STRATEGIES) == {"balanced", "aggressive", "conservative"}
    assert Strategy.named("balanced") is BALANCED
    assert AGGRESSIVE.cpu_fraction > BALANCED.cpu_fraction > CONSERVATIVE.cpu_fraction
    assert AGGRESSIVE.headroom > BALANCED.headroom > CONSERVATIVE.headroom
    with pytest.raises(AttributeError):
        BALANCED.name = "x"  # type: ignore[misc]
    with pytest.raises(ConfigurationError):
        Strategy.named("reckless")
    with pytest.raises(ConfigurationError):
        BALANCED.with_options(min_limit=50, initial_limit=10)
    with pytest.raises(ConfigurationError):
        BALANCED.with_options(headroom=0.5)


def test_strategies_build_their_algorithms() -> None:
    assert isinstance(BALANCED.build_algorithm(), WindowedLimit)
    conservative = CONSERVATIVE.build_algorithm()
    assert isinstance(conservative, WindowedLimit)
    assert isinstance(conservative.delegate, VegasLimit)
    bare = BALANCED.with_options(algorithm="aimd", window=0).build_algorithm()
    assert isinstance(bare, AIMDLimit)
    assert isinstance(BALANCED.with_options(window=0).build_algorithm(), Gradient2Limit)


def test_statistics_report_latency_drops_and_decisions() -> None:
    ctl, clock = controller(strategy=BALANCED.with_options(window=0, algorithm="aimd"))
    for latency in (0.01 * n for n in range(1, 101)):
        listener = ctl.limiter.try_acquire()
        assert listener is not None
        listener.on_success(latency)
    dropped = ctl.limiter.try_acquire()
    assert dropped is not None
    dropped.on_dropped()
    clock.advance(1.0)
    ctl.tick()
    stats = ctl.statistics()
    assert stats.latency_p50 == pytest.approx(0.50)  # nearest rank: a latency that occurred
    assert stats.latency_p99 == pytest.approx(0.99)
    assert (stats.completed, stats.drops, stats.in_flight) == (101, 1, 0)
    assert stats.throughput == pytest.approx(101.0)
    assert stats.decisions[-1].reason.startswith("aimd: p95")
    assert stats.strategy == "balanced"
    assert repr(ctl).startswith("<AdaptiveConcurrencyController balanced limit=")


def test_empty_statistics() -> None:
    ctl, _clock = controller()
    ctl.tick()  # an empty window changes nothing
    stats = ctl.statistics()
    assert (stats.latency_p50, stats.predicted_optimum, stats.fit) == (0.0, None, None)
    assert stats.limit == BALANCED.initial_limit


def test_guard_cuts_the_limit_on_high_cpu_and_lifts_when_calm() -> None:
    sampler = FixedSampler(ResourceReading(1e6, 0))
    ctl, _ = controller(strategy=BALANCED.with_options(initial_limit=100), sampler=sampler)
    changes: list[LimitChange] = []
    ctl.add_listener(changes.append)
    ctl.guard.sample()
    ctl.tick()
    assert ctl.limit == 50
    assert ctl.limiter.algorithm.limit == 50  # the estimate itself came down, not just a cap
    assert changes[0].reason == "cpu over budget"
    sampler.readings = [CALM]
    ctl.guard.sample()
    ctl.tick()
    assert ctl.limiter.ceiling is None
    assert [d.reason for d in ctl.statistics().decisions][:1] == ["cpu over budget"]


def test_predictor_bounds_the_limit_from_observed_windows() -> None:
    strategy = BALANCED.with_options(algorithm="aimd", window=0, initial_limit=400, max_limit=1000)
    ctl, clock = controller(strategy=strategy)
    lam, sigma, kappa = 10.0, 0.05, 0.0005  # optimum ~43.6
    for level in (5, 10, 20, 30, 40, 60, 80, 100, 5, 10):
        rate = lam * level / (1 + sigma * (level - 1) + kappa * level * (level - 1))
        run_window(ctl, clock, level, rate)
    stats = ctl.statistics()
    assert stats.predicted_optimum == pytest.approx(math.sqrt(0.95 / 0.0005), rel=0.1)
    assert stats.ceiling == pytest.approx(2 * 43.6, abs=3)
    assert ctl.limit <= stats.ceiling


def test_history_seeds_a_new_controller() -> None:
    store = MemoryHistoryStore()
    first, _ = controller(history=store)
    first.limiter.reset(137, reason="learned")
    first.save()
    second, _ = controller(history=MemoryHistoryStore(store.history))
    assert second.limit == 137
    decisions = second.statistics().decisions
    assert decisions[-1].reason == "seeded from history"
    assert any(d.reason == "learned" for d in decisions)


def test_a_history_without_a_limit_seeds_from_the_predicted_optimum() -> None:
    points = tuple(
        (float(n), 10.0 * n / (1 + 0.05 * (n - 1) + 0.0005 * n * (n - 1))) for n in range(1, 100, 4)
    )
    store = MemoryHistoryStore(ScalingHistory(observations=points))
    ctl, _ = controller(history=store)
    assert ctl.limit == 43
    nothing, _ = controller(history=MemoryHistoryStore())
    nothing.save()
    assert nothing.limit == BALANCED.initial_limit


def test_hard_cap_is_never_exceeded_even_when_seeded_above_it() -> None:
    store = MemoryHistoryStore()
    big, _ = controller(history=store)
    big.limiter.reset(500, reason="learned")
    big.save()
    capped, _ = controller(history=store, hard_cap=64)
    assert capped.limit == 64
    assert capped.statistics().hard_cap == 64


async def test_run_samples_and_ticks_on_the_clock() -> None:
    sampler = FixedSampler(ResourceReading(1e6, 0))
    ctl, clock = controller(strategy=BALANCED.with_options(initial_limit=100), sampler=sampler)
    task = asyncio.create_task(ctl.run())
    for _ in range(3):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.slept[0] == BALANCED.tick_interval
    assert ctl.limit < 100


async def test_acquire_through_the_controller() -> None:
    ctl, _ = controller()
    async with ctl.acquire() as listener:
        assert ctl.statistics().in_flight == 1
        assert listener.inflight == 1
    assert ctl.statistics().completed == 1


def test_ignored_work_counts_as_completed_but_not_as_latency() -> None:
    ctl, _ = controller()
    ctl.save()  # no store: nothing to do
    listener = ctl.limiter.try_acquire()
    assert listener is not None
    listener.on_ignore()
    stats = ctl.statistics()
    assert (stats.completed, stats.drops, stats.latency_p50) == (1, 0, 0.0)


def test_a_history_too_thin_to_fit_leaves_the_default_limit() -> None:
    store = MemoryHistoryStore(ScalingHistory(observations=((5.0, 50.0),)))
    ctl, _ = controller(history=store)
    assert ctl.limit == BALANCED.initial_limit
