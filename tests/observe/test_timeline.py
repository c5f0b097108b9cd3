from __future__ import annotations

from types import MappingProxyType

import pytest

from autoissue.github import GovernorStatistics, Mode
from autoissue.observe import Sample, Timeline
from autoissue.observe._sources import Reading, TallySnapshot
from tests.observe.conftest import controller_statistics, full_reading


def at(t: float, done: int, **changes: object) -> Reading:
    tally = TallySnapshot(listed=done, processed=done)
    return full_reading(at=t, tally=tally, **{"queue": None, **changes})


def test_rate_and_eta_follow_the_recent_window() -> None:
    timeline = Timeline(total=1000, window_s=2.0)
    first = timeline.add(at(10.0, 0))
    assert first.t == 0.0
    assert first.issues_per_s == 0.0
    assert first.eta_s is None
    timeline.add(at(11.0, 100))
    third = timeline.add(at(12.0, 200))
    assert third.issues_per_s == pytest.approx(100.0)
    assert third.eta_s == pytest.approx(8.0)
    slower = [timeline.add(at(12.0 + n, 200 + 10 * n)) for n in range(1, 6)][-1]
    assert slower.issues_per_s == pytest.approx(10.0)  # the early burst has left the window
    assert slower.t == pytest.approx(7.0)


def test_the_total_grows_to_what_was_listed_and_none_stays_unknown() -> None:
    assert Timeline(total=10).add(at(0.0, 25)).total == 25
    sample = Timeline().add(at(0.0, 25))
    assert sample.total is None
    assert sample.eta_s is None


def test_figures_come_from_the_components() -> None:
    sample = Timeline(total=300).add(full_reading())
    assert (sample.limit, sample.in_flight) == (12, 9)
    assert (sample.latency_p50_s, sample.latency_p95_s) == (0.04, 0.12)
    assert (sample.queue_waiting, sample.dead_letters) == (27, 1)
    assert sample.budget_remaining == 4321
    assert sample.retries == 2
    assert (sample.processed, sample.failed, sample.done) == (200, 3, 250)


def test_no_completion_means_no_latency_and_no_budget_means_none() -> None:
    unlimited = GovernorStatistics(
        mode=Mode.UNLIMITED,
        in_flight=0,
        max_concurrent=256,
        budget=MappingProxyType({}),
        waits=MappingProxyType({}),
        waited_s=MappingProxyType({}),
        paused_until=0.0,
    )
    reading = full_reading(controller=controller_statistics(completed=0), governor=unlimited)
    sample = Timeline().add(reading)
    assert sample.latency_p50_s is None
    assert sample.budget_remaining is None
    bare = Timeline().add(
        full_reading(tally=None, controller=None, queue=None, client=None, governor=None)
    )
    assert (bare.done, bare.limit, bare.queue_waiting, bare.retries) == (0, None, None, 0)


def test_long_runs_keep_a_bounded_thinned_timeline() -> None:
    timeline = Timeline(max_samples=4)
    for n in range(20):
        timeline.add(at(float(n), n))
    assert len(timeline.samples) <= 4
    times = [sample.t for sample in timeline.samples]
    assert times == sorted(times)
    assert times[0] == 0.0
    assert "one per 8 readings" in repr(timeline)


def test_a_sample_is_json_ready() -> None:
    data = Timeline(total=300).add(full_reading()).to_dict()
    assert data["limit"] == 12
    assert data["issues_per_s"] == 0.0
    assert isinstance(Sample(**data), Sample)


def test_progress_counts_what_left_the_queue_whoever_finished_it() -> None:
    # 40 were queued before the run and 100 listed (80 enqueued); 36 wait or are leased, so
    # 104 of 140 are done, though this run processed only 10 (workers beside it did the rest).
    tally = TallySnapshot(listed=100, enqueued=80, queued_before=40, processed=10)
    sample = Timeline(total=100).add(full_reading(tally=tally))
    assert (sample.done, sample.total) == (140 - 36, 140)


def test_progress_never_passes_its_total() -> None:
    tally = TallySnapshot(listed=100, processed=500, skipped=MappingProxyType({"closed": 9}))
    sample = Timeline(total=100).add(full_reading(tally=tally, queue=None))
    assert (sample.done, sample.total) == (100, 100)
