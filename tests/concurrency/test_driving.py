"""What driving the engine asked of the controller: a forced limit, slow start, a steady guard."""

from __future__ import annotations

import pytest

from autoissue import ConfigurationError, FakeClock
from autoissue.concurrency import BALANCED, AdaptiveConcurrencyController, Strategy
from autoissue.concurrency._gradient2 import Gradient2Limit
from autoissue.concurrency._guard import GuardAction, ResourceGuard, ResourceReading
from autoissue.concurrency._limit import FixedLimit
from autoissue.concurrency._limiter import AdaptiveLimiter
from tests.concurrency.test_guard import FixedSampler


def test_a_fixed_limit_never_moves() -> None:
    limit = FixedLimit(7)
    assert limit.update(5.0, 7, dropped=True) == 7
    assert limit.reset(100) == 7
    assert (limit.limit, limit.min_limit, limit.max_limit) == (7, 7, 7)
    assert repr(limit) == "<FixedLimit 7>"
    with pytest.raises(ConfigurationError):
        FixedLimit(0)


def test_a_fixed_strategy_builds_a_bare_fixed_limit() -> None:
    strategy = Strategy.fixed(12)
    algorithm = strategy.build_algorithm()
    assert isinstance(algorithm, FixedLimit)
    assert (strategy.name, algorithm.limit) == ("fixed", 12)


def climb(limit: Gradient2Limit, rtt: float, windows: int) -> list[int]:
    return [limit.update(rtt, limit.limit, dropped=False) for _ in range(windows)]


def test_slow_start_doubles_the_target_until_latency_rises() -> None:
    slow = Gradient2Limit(
        initial_limit=20, min_limit=4, max_limit=1000, smoothing=0.5, queue_size=4, slow_start=True
    )
    plain = Gradient2Limit(
        initial_limit=20, min_limit=4, max_limit=1000, smoothing=0.5, queue_size=4
    )
    # Nine samples learn the baseline at the initial load; nothing doubles before the tenth.
    assert climb(slow, 0.1, 9) == climb(plain, 0.1, 9)
    grown = climb(slow, 0.1, 5)
    assert grown[1] == int(grown[0] * 1.5)  # x1.5 a window (doubling target, smoothing 0.5)
    assert grown[-1] > 150
    assert climb(plain, 0.1, 5)[-1] < 60
    slow.update(0.5, slow.limit, dropped=False)  # queueing: the climb ends for good
    assert not slow.slow_start
    before = slow.estimate
    slow.update(0.12, slow.limit, dropped=False)  # within tolerance, above the baseline
    assert slow.estimate == pytest.approx(before + 0.5 * 4)
    before = slow.estimate
    slow.update(0.05, slow.limit, dropped=False)  # back at the baseline: doubles again
    assert slow.estimate == pytest.approx(before * 1.5)


def test_slow_start_ends_at_the_first_drop_and_cannot_raise_the_baseline() -> None:
    limit = Gradient2Limit(
        initial_limit=20,
        min_limit=4,
        max_limit=1000,
        smoothing=0.5,
        slow_start=True,
        drop_gradient=0.5,
    )
    climb(limit, 0.1, 10)
    limit.update(0.14, limit.limit, dropped=False)  # within tolerance, but slower
    assert limit.long_rtt == pytest.approx(0.1)
    limit.update(0.1, limit.limit, dropped=True)
    assert not limit.slow_start


def test_balanced_climbs_with_slow_start_and_a_fixed_strategy_does_not() -> None:
    assert BALANCED.slow_start
    assert not Strategy.fixed(3).slow_start


def test_a_cut_scales_the_work_in_flight_so_stale_readings_do_not_compound_it() -> None:
    guard = ResourceGuard(FixedSampler(ResourceReading(300.0, 0)), cpu_target=100.0)
    guard.sample()
    # The limit was already cut to 10 but 20 are still in flight: the ceiling stays 10.
    assert guard.verdict(10, in_flight=20).ceiling == 10
    assert guard.verdict(10).ceiling == 5


def test_with_room_to_spare_the_ceiling_is_the_work_that_would_reach_the_target() -> None:
    guard = ResourceGuard(FixedSampler(ResourceReading(60.0, 0)), cpu_target=100.0)
    guard.sample()
    verdict = guard.verdict(50, in_flight=2)
    assert verdict.action is GuardAction.OK
    assert verdict.ceiling == 3
    assert guard.verdict(50).ceiling is None  # work in flight unknown: no bound


def test_the_controller_takes_an_explicit_cpu_target_and_caps_a_held_estimate() -> None:
    reading = ResourceReading(95.0, 0)
    ctl = AdaptiveConcurrencyController(
        strategy=BALANCED, clock=FakeClock(), sampler=FixedSampler(reading), cpu_target=100.0
    )
    assert ctl.guard.cpu_target == 100.0
    ctl.guard.sample()
    ctl.limiter.algorithm.reset(60)
    ctl.limiter.set_ceiling(20, reason="test")
    ctl.tick()  # near the target: hold at 20, and the estimate may not wait above it
    assert ctl.limit == 20
    assert ctl.limiter.algorithm.limit == 20


def test_an_ample_reading_bounds_by_room_and_says_so() -> None:
    ctl = AdaptiveConcurrencyController(
        strategy=BALANCED,
        clock=FakeClock(),
        sampler=FixedSampler(ResourceReading(10.0, 0)),
        cpu_target=100.0,
    )
    ctl.limiter.reset(60, reason="test")
    held = [ctl.limiter.try_acquire() for _ in range(2)]
    ctl.guard.sample()
    ctl.tick()  # 2 in flight at 10%: room for 20
    assert ctl.limiter.ceiling == 20
    assert ctl.limit == 20
    assert ctl.statistics().decisions[-1].reason == "resource room"
    for listener in held:
        assert listener is not None
        listener.on_ignore()


def test_an_outside_bound_caps_the_estimate_so_queueing_is_not_read_as_light_load() -> None:
    limiter = AdaptiveLimiter(BALANCED.build_algorithm(), hard_cap=8, clock=FakeClock())
    limiter.algorithm.reset(500)
    held = [limiter.try_acquire() for _ in range(8)]
    assert limiter.limit == 8
    for listener in held:
        assert listener is not None
        listener.on_success(0.1)
    assert limiter.algorithm.limit == 8  # 8 in flight is a full load for an estimate of 8
    fixed = FixedLimit(3)
    fixed.cap(1)
    assert fixed.limit == 3


def test_room_scales_the_ticks_mean_load_not_a_moment_between_refills() -> None:
    clock = FakeClock()
    ctl = AdaptiveConcurrencyController(
        strategy=BALANCED,
        clock=clock,
        sampler=FixedSampler(ResourceReading(10.0, 0)),
        cpu_target=100.0,
    )
    ctl.limiter.reset(60, reason="test")
    for _ in range(30):  # the tick's work ran 30 at a time...
        listener = ctl.limiter.try_acquire()
        assert listener is not None
        listener.inflight = 30
        listener.on_ignore()
    held = [ctl.limiter.try_acquire() for _ in range(2)]  # ...and 2 are in flight right now
    clock.advance(1.0)
    ctl.guard.sample()
    ctl.tick()  # 30 at 10%: room for 300, not the 20 that 2 in flight would suggest
    assert ctl.limiter.ceiling == 300
    for listener in held:
        assert listener is not None
        listener.on_ignore()
