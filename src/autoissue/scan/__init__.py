"""Scanning: what a run would process, in which order and why, and what it would cost.

::

    report = await scan(client, "acme/widgets", Triage())
    report.admitted[0].number, report.forecast.calls.total, report.forecast.binding

    several = await scan_many(client, ["acme/api", "acme/web"], Triage())
    several.entries[0].repo, several.forecast.seconds  # one run over both, one budget
"""

from __future__ import annotations

from autoissue.scan._forecast import Forecast, duration
from autoissue.scan._scan import ScanEntry, ScanOptions, ScanReport, ScanSet, scan, scan_many

__all__ = [
    "Forecast",
    "ScanEntry",
    "ScanOptions",
    "ScanReport",
    "ScanSet",
    "duration",
    "scan",
    "scan_many",
]
