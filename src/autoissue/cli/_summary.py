"""Printing a run summary for people, and saving it for programs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autoissue.engine import RunSummary


def summary_table(summary: RunSummary) -> Table:
    """The summary as a two-column table."""
    table = Table(title=f"{summary.processor} on {summary.repo}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("listed", summary.listed),
        ("processed", summary.processed),
        ("skipped", sum(summary.skipped.values())),
        *((f"  {reason}", count) for reason, count in sorted(summary.skipped.items())),
        ("failed", summary.failed),
        ("writes" if not summary.dry_run else "writes (dry run)", summary.writes),
        ("API calls", summary.api_calls),
        ("  retried", summary.retries),
        ("seconds", f"{summary.seconds:.2f}"),
        ("issues/s", f"{summary.issues_per_s:.0f}"),
        *_concurrency_rows(summary),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def _concurrency_rows(summary: RunSummary) -> list[tuple[str, object]]:
    figures = summary.concurrency
    if not figures:
        return []
    cap = f" (cap {figures['hard_cap']})" if figures.get("hard_cap") else ""
    return [
        ("concurrency", f"{figures['strategy']}{cap}"),
        ("  limit at end / peak", f"{figures['limit']} / {figures['limit_peak']}"),
        ("  p95 latency", f"{figures['latency_p95_s'] * 1000:.0f} ms"),
    ]


def print_summary(summary: RunSummary, console: Console | None = None) -> None:
    """Print the summary, and the first failures if there were any."""
    console = console or Console()
    console.print(summary_table(summary))
    for failure in summary.failures[:10]:
        console.print(f"  #{failure['issue']}: {failure['error']}", markup=False)


def save_summary(summary: RunSummary, state_dir: Path) -> Path:
    """Write the summary as JSON under ``state_dir/runs/``; returns the file's path."""
    runs = state_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{time.strftime('%Y%m%dT%H%M%S')}-{summary.processor}.json"
    path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path
