"""Observability: Prometheus metrics, a run's timeline and its reports, all from snapshots.

::

    components' statistics() ──▶ Sources.read() ──▶ Reading ─┬─▶ ReadingCollector ──▶ /metrics
                                                             ├─▶ Timeline ──▶ Sample ──▶ dashboard
                                                             └─────────────────────────▶ report

:class:`Sources` holds whatever a run has to watch (GitHub client and governor, concurrency
controller, run tally, queue, process pool, webhook receiver and sweeps, this process);
:class:`MetricsServer` serves a fresh reading on every scrape from the run's own event loop,
and :func:`metrics_response` is that scrape for another server (``autoissue serve``'s
webhook port); :class:`Timeline` turns readings into the samples the dashboard shows and the
report charts. The metric names are in :data:`METRICS`.
"""

from __future__ import annotations

from autoissue.observe._metrics import METRICS
from autoissue.observe._report import (
    REPORT_SUFFIXES,
    render_report,
    report_document,
    require_matplotlib,
    write_json_report,
)
from autoissue.observe._server import DEFAULT_METRICS_HOST, MetricsServer, metrics_response
from autoissue.observe._sources import ClientSource, Sources
from autoissue.observe._timeline import Sample, Timeline

__all__ = [
    "DEFAULT_METRICS_HOST",
    "METRICS",
    "REPORT_SUFFIXES",
    "ClientSource",
    "MetricsServer",
    "Sample",
    "Sources",
    "Timeline",
    "metrics_response",
    "render_report",
    "report_document",
    "require_matplotlib",
    "write_json_report",
]
