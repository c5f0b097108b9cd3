"""A benchmark's report: the JSON document BENCH.md defines, and a Markdown rendering of it."""

from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    """What the figures were measured on: CPUs, memory, Python, OS."""
    return {
        "cpus": os.cpu_count() or 1,
        "cpu_model": platform.processor() or platform.machine(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
    }


def _memory_gb() -> float:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):  # not a POSIX system: unknown
        return 0.0


def median(values: list[float]) -> float:
    """The median of ``values`` (0 for none): what the report quotes over repeats."""
    return statistics.median(values) if values else 0.0


@dataclass
class BenchReport:
    """One workload's results: ``results`` are dicts so each workload adds its own fields."""

    workload: str
    params: dict[str, Any]
    machine: dict[str, Any] = field(default_factory=machine_info)
    results: list[dict[str, Any]] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as the JSON document BENCH.md describes."""
        return {
            "workload": self.workload,
            "params": self.params,
            "machine": self.machine,
            "results": self.results,
            "ratios": self.ratios,
        }

    def write_json(self, path: Path) -> None:
        """Write the JSON document to ``path`` (creating its folder)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def to_markdown(self, columns: list[str]) -> str:
        """A Markdown table of ``columns`` from each result, then the ratios."""
        lines = [f"# `autoissue bench {self.workload}`", "", _machine_line(self.machine), ""]
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for result in self.results:
            lines.append("| " + " | ".join(_cell(result.get(c, "")) for c in columns) + " |")
        if self.ratios:
            lines += ["", "| ratio | value |", "|---|---|"]
            lines += [f"| {name} | {value:.2f} |" for name, value in self.ratios.items()]
        return "\n".join(lines) + "\n"


def _machine_line(machine: dict[str, Any]) -> str:
    return (
        f"Machine: {machine.get('cpus')} CPUs, {machine.get('memory_gb')} GB, "
        f"Python {machine.get('python')}, {machine.get('os')}."
    )


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {_cell(item)}" for key, item in value.items())
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)
