"""One percentile for the whole project: nearest rank, a value that occurred."""

from __future__ import annotations

from collections import deque

from hypothesis import given
from hypothesis import strategies as st

from autoissue._percentiles import percentile, percentiles


def test_nothing_measured_reads_zero() -> None:
    assert percentile([], 50) == 0.0
    assert percentiles([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0}


def test_nearest_rank_takes_the_smallest_value_with_q_percent_at_or_below_it() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # unsorted input is sorted first
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile(range(1, 101), 99) == 99
    assert percentile(range(1, 101), 100) == 100
    assert percentile([5.0], 1) == 5.0


def test_percentiles_scale_seconds_for_a_report_in_milliseconds() -> None:
    seconds = deque([0.010, 0.020, 0.030, 0.040, 1.0])
    assert percentiles(seconds) == {"p50": 0.030, "p95": 1.0, "p99": 1.0}
    assert percentiles(seconds, scale=1000.0) == {"p50": 30.0, "p95": 1000.0, "p99": 1000.0}


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1), st.floats(0, 100))
def test_a_percentile_is_a_value_that_occurred_and_grows_with_q(
    values: list[float], q: float
) -> None:
    found = percentile(values, q)
    assert found in values
    assert percentile(values, min(100.0, q + 10)) >= found
    assert sum(value <= found for value in values) >= q / 100 * len(values)
