"""``autoissue bench all``: every workload in turn, gathered in one document.

The document holds each workload's own report (the JSON BENCH.md defines) under
``reports``, keyed by workload, with the seconds each took; a workload that failed is
under ``errors`` instead, and the others still run. The Markdown is each workload's
table in turn, after a table of what ran and how long it took.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoissue.bench._report import BenchReport, machine_info

logger = logging.getLogger(__name__)

#: Every workload of BENCH.md, in the order ``bench all`` runs them: quick ones first.
WORKLOADS = (
    "queue",
    "scaling",
    "triage",
    "memory",
    "ratelimited",
    "faults",
    "pool",
    "agent",
    "adaptive",
    "live",
)


@dataclass
class SuiteReport:
    """The reports of several workloads, how long each took, and those that failed."""

    quick: bool
    machine: dict[str, Any] = field(default_factory=machine_info)
    reports: dict[str, BenchReport] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """One JSON document: each workload's report under ``reports``."""
        return {
            "workload": "all",
            "quick": self.quick,
            "machine": self.machine,
            "seconds": self.seconds,
            "reports": {name: report.to_dict() for name, report in self.reports.items()},
            "errors": self.errors,
        }

    def write_json(self, path: Path) -> None:
        """Write the document to ``path`` (creating its folder)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def to_markdown(self, columns: dict[str, list[str]]) -> str:
        """What ran and for how long, then each workload's table (with ``columns[name]``)."""
        lines = ["# `autoissue bench all`" + (" (quick)" if self.quick else ""), ""]
        lines += ["| workload | seconds | outcome |", "|---|---|---|"]
        for name, seconds in self.seconds.items():
            lines.append(f"| {name} | {seconds:,.1f} | {self.errors.get(name, 'ok')} |")
        parts = ["\n".join(lines) + "\n"]
        parts += [report.to_markdown(columns[name]) for name, report in self.reports.items()]
        return "\n".join(parts)


def run_suite(
    workloads: Iterable[str], run_one: Callable[[str], BenchReport], *, quick: bool
) -> SuiteReport:
    """Run each workload with ``run_one``; one workload's failure is recorded, not raised."""
    suite = SuiteReport(quick=quick)
    for name in workloads:
        started = time.perf_counter()
        try:
            suite.reports[name] = run_one(name)
        except Exception as error:
            logger.exception("bench all: %s failed", name)
            suite.errors[name] = f"{type(error).__name__}: {error}"
        suite.seconds[name] = round(time.perf_counter() - started, 2)
    return suite
