"""Scanning: what a run would process, in which order and why, and what it would cost.

::

    report = await scan(client, "acme/widgets", Triage())
    report.admitted[0].number, report.forecast.calls.total, report.forecast.binding
"""

from __future__ import annotations

from autoissue.scan._counting import WriteBackCounter, writeback_calls
from autoissue.scan._forecast import (
    Bound,
    Budget,
    CallTally,
    Forecast,
    Measured,
    duration,
    forecast,
    tally_calls,
)
from autoissue.scan._scan import (
    ALREADY_PROCESSED,
    CountingGitHub,
    ScanEntry,
    Scanner,
    ScanOptions,
    ScanReport,
    queue_order,
    scan,
)

__all__ = [
    "ALREADY_PROCESSED",
    "Bound",
    "Budget",
    "CallTally",
    "CountingGitHub",
    "Forecast",
    "Measured",
    "ScanEntry",
    "ScanOptions",
    "ScanReport",
    "Scanner",
    "WriteBackCounter",
    "duration",
    "forecast",
    "queue_order",
    "scan",
    "tally_calls",
    "writeback_calls",
]
