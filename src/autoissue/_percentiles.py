"""Percentiles by nearest rank: how the project reads every distribution of durations.

Durations are kept in seconds everywhere; :func:`percentiles` scales them only for a report
that speaks in milliseconds (``scale=1000``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["QUANTILES", "percentile", "percentiles"]

#: The percentiles every report quotes, by name.
QUANTILES = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0))


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values`` by nearest rank; 0 when there are none.

    Nearest rank is a value that occurred (never an interpolation between two), the smallest
    with at least ``q`` % of the values at or below it.
    """
    return _nearest_rank(sorted(values), q)


def percentiles(values: Iterable[float], scale: float = 1.0) -> dict[str, float]:
    """``p50``, ``p95`` and ``p99`` of ``values``, each times ``scale``; 0 when there are none."""
    ordered = sorted(values)  # once for all three
    return {name: _nearest_rank(ordered, q) * scale for name, q in QUANTILES}


def _nearest_rank(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
