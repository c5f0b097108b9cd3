"""Printing a run summary for people, and saving it for programs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from autoissue.cli._interrupt import exit_status
from autoissue.cli._terminal import inert
from autoissue.engine import RunSummary


def summary_table(summary: RunSummary) -> Table:
    """The summary as a two-column table whose counts add up.

    ``listed = enqueued + skipped at intake``, and ``queued by earlier runs + enqueued =
    processed + failed + nothing to do + by other workers + still queued``.
    """
    table = Table(title=f"{summary.processor} on {summary.repo}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        *_count_rows(summary),
        *_outcome_rows(summary),
        ("writes" if not summary.dry_run else "writes (dry run)", summary.writes),
        ("API calls", summary.api_calls),
        ("  retried", summary.retries),
        ("seconds", f"{summary.seconds:.2f}"),
        ("issues/s (processed)", f"{summary.issues_per_s:.0f}"),
        *_concurrency_rows(summary),
        *_pool_rows(summary),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def _count_rows(summary: RunSummary) -> list[tuple[str, object]]:
    at_intake = sum(summary.skipped.values()) - summary.skipped_at_work
    rows: list[tuple[str, object]] = [
        ("listed", summary.listed),
        ("  enqueued", summary.enqueued),
        ("  skipped at intake", at_intake),
        ("queued by earlier runs", summary.queued_before),
        ("processed", summary.processed),
        ("failed", summary.failed),
        ("nothing to do", summary.skipped_at_work),
        ("by other workers", summary.elsewhere),
        ("still queued", summary.still_queued),
    ]
    optional = {"queued by earlier runs", "nothing to do", "by other workers", "still queued"}
    rows = [(name, value) for name, value in rows if value or name not in optional]
    if summary.skipped:
        rows.append(("skipped, by reason", ""))
        rows += [(f"  {reason}", count) for reason, count in sorted(summary.skipped.items())]
    return rows


def _outcome_rows(summary: RunSummary) -> list[tuple[str, object]]:
    # What the processor decided (triage: learned, from keywords, abstained...).
    if not summary.outcomes:
        return []
    return [("decided", ""), *((f"  {name}", n) for name, n in sorted(summary.outcomes.items()))]


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


def _pool_rows(summary: RunSummary) -> list[tuple[str, object]]:
    # Which worker processes planned the pooled issues: the proof that they ran there.
    figures = summary.pool
    if not figures:
        return []
    by_pid = figures["tasks_by_pid"]
    rows: list[tuple[str, object]] = [("planned in pool workers", figures["tasks"])]
    rows += [(f"  pid {pid}", count) for pid, count in by_pid.items()]
    if figures["crashes"] or figures["timed_out"]:
        rows.append(
            ("  workers crashed / timed out", f"{figures['crashes']} / {figures['timed_out']}")
        )
    return rows


_REPO_COLUMNS = ("listed", "enqueued", "processed", "failed")


def repository_table(summary: RunSummary) -> Table:
    """Each repository's line of the summary: listed, enqueued, processed, failed."""
    table = Table(title="by repository")
    table.add_column("repository", style="bold")
    for column in _REPO_COLUMNS:
        table.add_column(column, justify="right")
    for repo, counts in summary.by_repo.items():
        table.add_row(inert(repo), *(f"{counts.get(column, 0):,}" for column in _REPO_COLUMNS))
    return table


def print_summary(summary: RunSummary, console: Console | None = None) -> None:
    """Print the summary, and the first failures if there were any."""
    console = console or Console()
    console.print(summary_table(summary))
    if len(summary.by_repo) > 1:
        console.print(repository_table(summary))
    for note in summary.notes:
        console.print(inert(note), markup=False, soft_wrap=True)
    if summary.interrupted:
        console.print(
            f"interrupted: {summary.still_queued:,} still queued — rerun to resume", markup=False
        )
    for failure in summary.failures[:10]:
        console.print(f"  #{failure['issue']}: {inert(failure['error'])}", markup=False)


def end_with_status(summary: RunSummary) -> None:
    """Exit as the shell expects: 128 + the signal that stopped the run, 1 if issues failed."""
    status = exit_status(summary.interrupted)
    if status:
        raise SystemExit(status)
    if summary.failed:
        raise SystemExit(1)


def saved_or_explained(summary: RunSummary, state_dir: Path) -> Path:
    """Save the summary; a disk that refuses it ends the command with one line saying where."""
    try:
        return save_summary(summary, state_dir)
    except OSError as error:
        where = error.filename or state_dir / "runs"
        reason = error.strerror or str(error)
        raise click.ClickException(f"could not save the summary under {where}: {reason}") from None


def save_summary(summary: RunSummary, state_dir: Path) -> Path:
    """Write the summary as JSON under ``state_dir/runs/``; returns the file's path."""
    runs = state_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{time.strftime('%Y%m%dT%H%M%S')}-{summary.processor}.json"
    path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path
