"""Progress while a run goes: a live bar on a terminal, a plain line now and then elsewhere."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from autoissue.engine import RunTally

_PLAIN_EVERY_S = 2.0


class ProgressReporter:
    """Shows how far a run has got; ``total`` is an estimate that may be refined."""

    def __init__(
        self, *, total: int | None, enabled: bool = True, plain_every_s: float = _PLAIN_EVERY_S
    ) -> None:
        self._console = Console(stderr=True)
        self._enabled = enabled
        self._live = enabled and self._console.is_terminal
        self._total = total
        self._last_line = time.monotonic()
        self._plain_every_s = plain_every_s
        self._progress = Progress(
            TextColumn("[bold]processing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8.0f} issues/s  failed {task.fields[failed]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            disable=not self._live,
        )
        self._task = self._progress.add_task("run", total=total, rate=0.0, failed=0)
        self._started = time.monotonic()

    def __enter__(self) -> ProgressReporter:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def update(self, tally: RunTally) -> None:
        """Show the tally's latest figures."""
        now = time.monotonic()
        rate = tally.done / max(now - self._started, 1e-9)
        total = max(self._total or 0, tally.listed)
        self._progress.update(
            self._task, completed=tally.done, total=total, rate=rate, failed=tally.failed
        )
        if self._enabled and not self._live and now - self._last_line >= self._plain_every_s:
            self._last_line = now
            sys.stderr.write(f"processed {tally.done}/{total} ({rate:.0f} issues/s)\n")
