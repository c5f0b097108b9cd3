"""Scanning: what a run would process, in which order and why, and what it would cost.

::

    report = await scan(client, "acme/widgets", Triage())
    report.admitted[0].number, report.forecast.calls.total, report.forecast.binding
"""

from __future__ import annotations

from autoissue.scan._forecast import Forecast, duration
from autoissue.scan._scan import ScanEntry, ScanOptions, ScanReport, scan

__all__ = [
    "Forecast",
    "ScanEntry",
    "ScanOptions",
    "ScanReport",
    "duration",
    "scan",
]
