"""Percentiles by nearest rank: how the project reads a distribution of durations."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["percentile", "percentiles_ms"]


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values, nearest-rank; 0 when empty."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def percentiles_ms(seconds: Iterable[float]) -> dict[str, float]:
    """``p50``, ``p95`` and ``p99`` of durations given in seconds, in milliseconds."""
    values = sorted(seconds)
    return {f"p{q}": percentile(values, q) * 1000.0 for q in (50, 95, 99)}
