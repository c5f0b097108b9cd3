from __future__ import annotations

import math

import pytest

from autoissue import ConfigurationError
from autoissue.concurrency._aimd import AIMDLimit
from autoissue.concurrency._gradient2 import Gradient2Limit
from autoissue.concurrency._limit import log10_root, sqrt_root
from autoissue.concurrency._vegas import VegasLimit
from autoissue.concurrency._windowed import WindowedLimit


def steady(algorithm: Gradient2Limit, rtt: float, count: int) -> int:
    limit = algorithm.limit
    for _ in range(count):
        limit = algorithm.update(rtt, algorithm.limit, dropped=False)
    return limit


# --- Gradient2 ---------------------------------------------------------------------------


def test_gradient2_grows_by_the_queue_size_while_latency_is_steady() -> None:
    limit = Gradient2Limit(initial_limit=50, min_limit=10, max_limit=200)
    # gradient 1: new = 50 * 0.8 + (50 + 4) * 0.2 = 50.8
    assert limit.update(0.1, 50, dropped=False) == 50
    assert limit.estimate == pytest.approx(50.8)


def test_gradient2_cuts_when_latency_rises_past_the_tolerance() -> None:
    limit = Gradient2Limit(initial_limit=100, min_limit=10, max_limit=200)
    steady(limit, 0.1, 20)
    before = limit.estimate
    limit.update(0.6, limit.limit, dropped=False)
    # long ~0.1 + one sample: gradient = 1.5 * long / 0.6 ~ 0.25 -> clamped to 0.5
    assert limit.estimate == pytest.approx(before * 0.8 + before * 0.5 * 0.2, rel=0.01)


def test_gradient2_tolerates_latency_within_the_tolerance() -> None:
    limit = Gradient2Limit(initial_limit=100, min_limit=10, max_limit=200)
    steady(limit, 0.1, 20)
    before = limit.estimate
    limit.update(0.14, limit.limit, dropped=False)
    assert limit.estimate > before


def test_gradient2_does_not_grow_when_app_limited() -> None:
    limit = Gradient2Limit(initial_limit=100, min_limit=10, max_limit=200)
    assert limit.update(0.1, 10, dropped=False) == 100
    assert limit.estimate == 100


def test_gradient2_reference_ignores_drops_but_drop_gradient_cuts() -> None:
    reference = Gradient2Limit(initial_limit=100, min_limit=10)
    steady(reference, 0.1, 20)
    before = reference.estimate
    reference.update(0.1, reference.limit, dropped=True)
    assert reference.estimate >= before
    cutting = Gradient2Limit(initial_limit=100, min_limit=10, drop_gradient=0.5)
    steady(cutting, 0.1, 20)
    before = cutting.estimate
    cutting.update(0.01, cutting.limit, dropped=True)  # a fast 429
    assert cutting.estimate == pytest.approx(before * 0.9)


def test_gradient2_reference_drifts_to_max_under_steady_overload() -> None:
    # The known weakness (Netflix/concurrency-limits#137): constant latency, however high,
    # becomes the long-term average, and the limit climbs to its maximum.
    limit = Gradient2Limit(initial_limit=20, min_limit=20, max_limit=300)
    assert steady(limit, 2.0, 5000) == 300


def test_gradient2_probe_measures_the_noload_rtt_at_min_limit() -> None:
    limit = Gradient2Limit(initial_limit=100, min_limit=10, probe_interval=4, probe_samples=2)
    for _ in range(4):
        limit.update(0.3, 100, dropped=False)
    assert limit.probing
    assert limit.limit == 10
    limit.update(0.3, 90, dropped=False)  # started before the probe: skipped
    limit.update(0.1, 10, dropped=False)
    limit.update(0.1, 8, dropped=False)
    assert not limit.probing
    assert limit.noload_rtt == pytest.approx(0.1)
    assert limit.long_rtt == pytest.approx(0.1)
    assert limit.limit >= 90
    assert "Gradient2Limit" in repr(limit)


def test_gradient2_with_probing_holds_under_steady_overload() -> None:
    limit = Gradient2Limit(initial_limit=100, min_limit=10, max_limit=300, probe_interval=50)
    for _ in range(60):
        limit.update(0.1, limit.min_limit if limit.probing else limit.limit, dropped=False)
    assert limit.noload_rtt == pytest.approx(0.1)
    for _ in range(2000):
        if not limit.probing:
            limit.update(0.5, limit.limit, dropped=False)
        else:  # the probe runs at low load, where the server is fast again
            limit.update(0.1, limit.min_limit, dropped=False)
    assert limit.estimate < 100


def test_gradient2_sheds_a_stale_long_rtt_quickly() -> None:
    limit = Gradient2Limit(initial_limit=100, min_limit=10)
    steady(limit, 1.0, 20)
    long_before = limit.long_rtt
    limit.update(0.1, limit.limit, dropped=False)
    assert limit.long_rtt < long_before * 0.96


def test_gradient2_rejects_bad_options() -> None:
    with pytest.raises(ConfigurationError):
        Gradient2Limit(smoothing=0)
    with pytest.raises(ConfigurationError):
        Gradient2Limit(min_limit=10, max_limit=5)


# --- Vegas -------------------------------------------------------------------------------


def vegas(**options: object) -> VegasLimit:
    limit = VegasLimit(initial_limit=100, probe_multiplier=10_000, **options)  # type: ignore[arg-type]
    limit.update(0.1, 100, dropped=False)  # learn rtt_noload
    return limit


def test_vegas_grows_by_beta_without_queueing() -> None:
    limit = vegas()
    assert limit.update(0.1, 100, dropped=False) == 100 + 6 * 2


def test_vegas_decreases_when_the_queue_exceeds_beta() -> None:
    limit = vegas()
    # queue = ceil(100 * (1 - 0.1 / 0.2)) = 50 > beta 12: decrease by log10(100) = 2
    assert limit.update(0.2, 100, dropped=False) == 98


def test_vegas_grows_slowly_in_a_small_queue_and_holds_in_the_sweet_spot() -> None:
    limit = vegas()
    # queue = ceil(100 * (1 - 0.1/0.1035)) = 4: threshold 2 < 4 < alpha 6 -> +2
    assert limit.update(0.1035, 100, dropped=False) == 102
    limit.reset(100)
    # queue = ceil(100 * (1 - 0.1/0.109)) = 9: alpha 6 <= 9 <= beta 12 -> unchanged
    assert limit.update(0.109, 100, dropped=False) == 100


def test_vegas_drop_decreases_and_app_limited_holds() -> None:
    limit = vegas()
    assert limit.update(0.1, 100, dropped=True) == 98
    assert limit.update(0.1, 10, dropped=False) == 98
    assert "VegasLimit" in repr(limit)


def test_vegas_learns_a_lower_noload_rtt_and_probes_it_again() -> None:
    limit = VegasLimit(initial_limit=10, probe_multiplier=1)
    limit.update(0.2, 10, dropped=False)
    limit.update(0.1, 10, dropped=False)
    assert limit.rtt_noload == 0.1
    for _ in range(12):
        limit.update(0.5, 10, dropped=False)
    assert limit.rtt_noload == 0.5  # re-probed: the server really became slower


# --- AIMD --------------------------------------------------------------------------------


def test_aimd_adds_one_near_the_limit_and_backs_off_on_drop() -> None:
    limit = AIMDLimit(initial_limit=30, min_limit=5, max_limit=100)
    assert limit.update(0.1, 20, dropped=False) == 31
    assert limit.update(0.1, 5, dropped=False) == 31  # far below the limit: no growth
    assert limit.update(0.1, 31, dropped=True) == 27
    assert limit.update(6.0, 27, dropped=False) == 24  # slower than the timeout counts as drop
    assert "AIMDLimit" in repr(limit)


def test_aimd_stays_within_its_bounds() -> None:
    limit = AIMDLimit(initial_limit=20, min_limit=20, max_limit=21)
    assert limit.update(0.1, 20, dropped=True) == 20
    assert limit.update(0.1, 20, dropped=False) == 21
    assert limit.update(0.1, 21, dropped=False) == 21
    with pytest.raises(ConfigurationError):
        AIMDLimit(backoff_ratio=1.0)


# --- shared pieces -----------------------------------------------------------------------


def test_helpers_and_reset_clamp() -> None:
    assert [log10_root(v) for v in (0, 5, 10, 999, 1000)] == [1, 1, 1, 2, 3]
    assert sqrt_root(100) == 10
    assert sqrt_root(4) == 4
    limit = AIMDLimit(min_limit=5, max_limit=50)
    assert limit.reset(1000) == 50
    assert limit.reset(math.nan) == 5
    assert limit.reset(math.inf) == 50


def test_windowed_limit_feeds_one_averaged_sample_per_window() -> None:
    inner = AIMDLimit(initial_limit=20, min_limit=1, max_limit=100)
    windowed = WindowedLimit(inner, min_window=1.0, max_window=1.0, window_size=3)
    for index in range(10):
        windowed.update(0.1, 20, dropped=False, now=index * 0.1)
    assert inner.limit == 20  # no window has closed yet
    windowed.update(0.1, 20, dropped=False, now=1.05)
    assert windowed.limit == 21
    windowed.update(0.00001, 20, dropped=False, now=1.5)  # below the RTT threshold
    windowed.update(0.1, 20, dropped=True, now=1.6)
    windowed.update(0.1, 20, dropped=False, now=2.2)  # only two samples: the window stays open
    assert windowed.limit == 21
    windowed.update(0.1, 20, dropped=False, now=2.3)
    assert windowed.limit == 18  # the drop in the window counts
    assert windowed.reset(40) == 40
    assert "WindowedLimit" in repr(windowed)
    with pytest.raises(ConfigurationError):
        WindowedLimit(inner, min_window=2.0, max_window=1.0)


def test_windowed_limit_reports_drops_from_any_sample() -> None:
    inner = AIMDLimit(initial_limit=50, min_limit=1, max_limit=100)
    windowed = WindowedLimit(inner, min_window=0.5, window_size=2)
    for index, dropped in enumerate([False, True, False, False]):
        windowed.update(0.1, 50, dropped=dropped, now=index * 0.2)
    assert windowed.limit == 45


def test_a_probe_window_holds_probe_samples_only() -> None:
    inner = Gradient2Limit(initial_limit=100, min_limit=10, probe_interval=2, probe_samples=1)
    windowed = WindowedLimit(inner, min_window=0.1, max_window=0.1, window_size=3)
    for index in range(6):  # two windows at full load: the probe starts
        windowed.update(0.3, 100, dropped=False, now=index * 0.1)
    assert inner.probing
    # Work started before the probe keeps finishing: left out, it cannot spoil the window
    # (its in-flight count would have the whole window discarded by the probe).
    for index in range(5):
        windowed.update(0.3, 90, dropped=False, now=1.0 + index * 0.01)
    assert inner.probing
    for index in range(3):
        windowed.update(0.1, 10, dropped=False, now=1.2 + index * 0.01)
    assert not inner.probing
    assert inner.noload_rtt == pytest.approx(0.1)
