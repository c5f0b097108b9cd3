"""``autoissue apply PLANS``: apply a saved plan file, re-queueing issues changed since."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from autoissue import _runtime
from autoissue.backend import open_backend
from autoissue.cli._errors import friendly_errors
from autoissue.cli._github import Auth, connected, credentials, github_options
from autoissue.cli._terminal import inert
from autoissue.engine import ApplySummary, PlanApplier, read_plans
from autoissue.github import (
    normalise_base_url,
)
from autoissue.model import Plan

__all__ = ["apply_command"]

_PLAIN_EVERY_S = 3.0


class ApplyProgress:
    """Plans settled so far: a bar on a terminal, a line every few seconds elsewhere."""

    def __init__(
        self,
        total: int,
        *,
        quiet: bool,
        console: Console | None = None,
        every_s: float = _PLAIN_EVERY_S,
    ) -> None:
        self.total, self.done, self.quiet, self.every_s = total, 0, quiet, every_s
        self._console = console or Console(stderr=True)
        self._bar: Progress | None = None
        self._task: Any = None
        self._last_line = time.monotonic()

    def __enter__(self) -> ApplyProgress:
        if not self.quiet and self._console.is_terminal:
            columns = (TextColumn("applying"), BarColumn(), MofNCompleteColumn())
            self._bar = Progress(*columns, TimeRemainingColumn(), console=self._console)
            self._bar.start()
            self._task = self._bar.add_task("apply", total=self.total)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def settled(self) -> None:
        """One more plan is settled (applied, skipped, re-queued or failed)."""
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        elif not self.quiet and time.monotonic() - self._last_line >= self.every_s:
            self._last_line = time.monotonic()
            self._console.print(f"applying: {self.done:,}/{self.total:,} plans", markup=False)


async def apply_plans(
    plans: list[Plan], base_url: str, auth: Auth, backend: str, progress: ApplyProgress
) -> ApplySummary:
    """Apply ``plans`` through ``backend``'s ledger; changed issues go to its queue."""
    async with open_backend(backend) as stores, connected(base_url, auth, stores) as client:
        applier = PlanApplier(client, stores.state, stores.queue, on_settled=progress.settled)
        return await applier.apply(plans)


def apply_table(summary: ApplySummary, plans: Path, total: int) -> Table:
    """The summary as a two-column table, like ``run``'s: its counts add up to ``total``."""
    table = Table(title=f"apply {plans}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("plans", total),
        ("  applied", summary.applied),
        ("  already applied", summary.already_applied),
        ("  re-queued (changed since)", summary.requeued),
        ("  failed", summary.failed),
        ("writes", summary.writes),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    return table


def _print(summary: ApplySummary, plans: Path, total: int, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
        return
    console = Console()
    console.print(apply_table(summary, plans, total))
    for failure in summary.failures[:10]:
        console.print(f"  #{failure['issue']}: {inert(failure['error'])}", markup=False)
    if summary.requeued:
        console.print(
            f"{summary.requeued:,} changed since planned: queued for the next run or worker",
            markup=False,
        )


@click.command("apply")
@click.argument("plans", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--backend",
    envvar="AUTOISSUE_BACKEND",
    default="sqlite:///.autoissue/state.db",
    show_default=True,
    help="Where the ledger and the queue live (the run's backend).",
)
@click.option("--quiet", is_flag=True, help="Show nothing but the final summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@github_options
def apply_command(
    plans: Path, base_url: str, backend: str, quiet: bool, as_json: bool, **options: Any
) -> None:
    """Apply a plan file saved by ``autoissue run --dry-run --plan-out PLANS``.

    Each issue is read again first: a plan whose issue changed since it was made is not
    applied but re-queued, for the next ``autoissue run`` or ``autoissue worker`` to plan
    afresh. Plans already applied (by an earlier apply) are skipped.
    """
    with friendly_errors():
        loaded = read_plans(plans)
        auth = credentials(options)
        with ApplyProgress(len(loaded), quiet=quiet) as progress:
            job = apply_plans(loaded, normalise_base_url(base_url), auth, backend, progress)
            summary = _runtime.run(job)
    _print(summary, plans, len(loaded), as_json)
    if summary.failed:
        raise SystemExit(1)
