"""What a run shows while it goes: a live dashboard, plain lines, JSON lines, or nothing.

- ``live`` (stderr is a terminal): a rich panel redrawn with every sample - progress and ETA,
  issues/s, concurrency limit against work in flight, queue depth, GitHub budget, errors.
- ``plain`` (stderr is a file or a pipe): one line every few seconds, and a last one at the end.
- ``json`` (``--log-format json``): the same lines as JSON objects, and every log record of the
  run as one too, so stderr is machine-readable throughout.
- ``quiet`` (``--quiet``): nothing until the final summary.

Lines are log records of the ``autoissue.progress`` logger, with a handler of its own so they
show whatever the root logger's level.
"""

from __future__ import annotations

import enum
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from autoissue.observe import Sample

PROGRESS_LOGGER = "autoissue.progress"
_PLAIN_EVERY_S = 3.0


class DisplayMode(enum.Enum):
    """How a run shows its progress."""

    LIVE = "live"
    PLAIN = "plain"
    JSON = "json"
    QUIET = "quiet"

    @classmethod
    def choose(cls, *, quiet: bool, log_format: str, console: Console) -> DisplayMode:
        """Quiet wins, then JSON; otherwise live on a terminal and plain lines elsewhere."""
        if quiet:
            return cls.QUIET
        if log_format == "json":
            return cls.JSON
        return cls.LIVE if console.is_terminal else cls.PLAIN


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _count(value: int | None, unknown: str = "?", *, grouped: bool = True) -> str:
    if value is None:
        return unknown
    return f"{value:,}" if grouped else str(value)


def _ms(seconds: float | None) -> str:
    return "--" if seconds is None else f"{seconds * 1000:.0f} ms"


def plain_line(sample: Sample) -> str:
    """The sample as one line for a log."""
    share = f" ({sample.done / sample.total:.0%})" if sample.total else ""
    parts = [
        f"done {sample.done}/{_count(sample.total, grouped=False)}{share}",
        f"{sample.issues_per_s:.0f} issues/s",
        f"ETA {_clock(sample.eta_s)}",
        f"limit {_count(sample.limit, '-')} in flight {_count(sample.in_flight, '-')}",
    ]
    if sample.queue_waiting is not None:
        parts.append(f"queue {sample.queue_waiting}")
    if sample.budget_remaining is not None:
        parts.append(f"budget {sample.budget_remaining}")
    parts.append(f"failed {sample.failed} retries {sample.retries}")
    return ", ".join(parts)


def panel(sample: Sample) -> RenderableType:
    """The live dashboard for one sample."""
    bar = Table.grid(padding=(0, 1))
    share = f" {sample.done / sample.total:>4.0%}" if sample.total else ""
    bar.add_row(
        ProgressBar(total=sample.total or None, completed=sample.done, width=48),
        Text(f"{sample.done:,}/{_count(sample.total)}{share}  ETA {_clock(sample.eta_s)}"),
    )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", min_width=12)
    grid.add_column()
    grid.add_row("progress", bar)
    for name, value in _rows(sample):
        grid.add_row(name, value)
    return Group(grid)


def _rows(sample: Sample) -> Iterator[tuple[str, str]]:
    yield "rate", f"{sample.issues_per_s:,.0f} issues/s  (elapsed {_clock(sample.t)})"
    yield (
        "concurrency",
        (f"limit {_count(sample.limit, '-')}  in flight {_count(sample.in_flight, '-')}"),
    )
    if sample.queue_waiting is not None:
        yield "queue", f"{sample.queue_waiting:,} waiting  {_count(sample.dead_letters)} dead"
    budget = sample.budget_remaining
    yield "GitHub", "no rate limit" if budget is None else f"budget {budget:,} requests left"
    yield "errors", f"failed {sample.failed:,}  retries {sample.retries:,}"
    yield "latency", f"p50 {_ms(sample.latency_p50_s)}  p95 {_ms(sample.latency_p95_s)}"


class Dashboard:
    """Shows samples in ``mode``; ``every_s`` spaces plain and JSON lines.

    Use as a context manager around the run; :meth:`show` each sample as it is taken and
    :meth:`note` for a one-off message (where metrics are served).
    """

    def __init__(
        self, mode: DisplayMode, *, console: Console | None = None, every_s: float = _PLAIN_EVERY_S
    ) -> None:
        self.mode = mode
        self.console = console or Console(stderr=True)
        self._every_s = every_s
        self._live: Live | None = None
        self._logger = logging.getLogger(PROGRESS_LOGGER)
        self._handler: logging.Handler | None = None
        self._last_line = float("-inf")
        self._last: Sample | None = None

    def __repr__(self) -> str:
        return f"<Dashboard {self.mode.value}>"

    def __enter__(self) -> Dashboard:
        if self.mode is DisplayMode.LIVE:
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        elif self.mode is not DisplayMode.QUIET:
            self._start_lines()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._handler is not None:
            if self._last is not None:
                self._line(self._last)  # the figures at the end, however recent the last line
            self._logger.removeHandler(self._handler)
            self._logger.propagate, self._handler = True, None

    def show(self, sample: Sample) -> None:
        """Display ``sample`` (lines only every ``every_s`` seconds)."""
        self._last = sample
        if self._live is not None:
            self._live.update(panel(sample), refresh=True)
        elif self._handler is not None and time.monotonic() - self._last_line >= self._every_s:
            self._line(sample)

    def note(self, message: str) -> None:
        """Say something once (nothing when quiet)."""
        if self._live is not None:
            self._live.console.print(message, markup=False, highlight=False)
        elif self._handler is not None:
            self._logger.info("%s", message)

    def _start_lines(self) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            JsonLogFormatter()
            if self.mode is DisplayMode.JSON
            else logging.Formatter("%(message)s")
        )
        self._logger.addHandler(handler)
        self._logger.setLevel(logging.INFO)  # shown whatever the root logger's level...
        self._logger.propagate = False  # ...and only once, not again by the root's handlers
        self._handler = handler

    def _line(self, sample: Sample) -> None:
        self._last_line = time.monotonic()
        fields = {"event": "progress", **sample.to_dict()}
        self._logger.info("%s", plain_line(sample), extra={"fields": fields})


@contextmanager
def json_root_logs(enabled: bool) -> Iterator[None]:
    """While active, root handlers writing to stderr format records as JSON (when enabled)."""
    if not enabled:
        yield
        return
    touched = [
        (handler, handler.formatter)
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr
    ]
    for handler, _ in touched:
        handler.setFormatter(JsonLogFormatter())
    try:
        yield
    finally:
        for handler, formatter in touched:
            handler.setFormatter(formatter)
