"""Watching a run from the command line: the shared options and what they start around it.

::

    observed_run(options, client=...) ──▶ Session
        metrics server (--metrics-port)  ┐
        dashboard (live | plain | json)  ├─ every --sample seconds: Sources.read() ──▶ Timeline
        sampler ─────────────────────────┘        (the dashboard shows each sample)
    session.run(engine) ──▶ RunSummary ──▶ JSON report (always), HTML/PNG report (--report)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import click
from rich.console import Console

from autoissue._exceptions import AutoIssueError, ConfigurationError
from autoissue.cli._dashboard import Dashboard, DisplayMode, json_root_logs
from autoissue.engine import Engine, RunSummary, Worker
from autoissue.observe import (
    DEFAULT_METRICS_HOST,
    REPORT_SUFFIXES,
    ClientSource,
    MetricsServer,
    Sample,
    Sources,
    Timeline,
    render_report,
    report_document,
    require_matplotlib,
    write_json_report,
)

logger = logging.getLogger(__name__)

Command = Callable[..., Any]


@dataclass(frozen=True, kw_only=True)
class ObserveOptions:
    """How a run is watched: metrics, display, reports (see :func:`observability_options`)."""

    metrics_port: int | None = None
    metrics_host: str = DEFAULT_METRICS_HOST
    quiet: bool = False
    log_format: str = "text"
    report_json: Path | None = None
    report: Path | None = None
    sample_s: float = 0.5

    def json_report_path(self, state_dir: Path) -> Path:
        """``--report-json``, or a new ``STATE_DIR/reports/run-<timestamp>.json``."""
        if self.report_json is not None:
            return self.report_json
        reports = state_dir / "reports"
        stamp = time.strftime("%Y%m%dT%H%M%S")
        path, n = reports / f"run-{stamp}.json", 1
        while path.exists():  # two runs in one second keep a report each
            n += 1
            path = reports / f"run-{stamp}-{n}.json"
        return path


def _chart_path(context: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is None:
        return None
    if value.suffix.lower() not in REPORT_SUFFIXES:
        raise click.BadParameter("a report is an .html or a .png file", context, param)
    try:
        require_matplotlib()
    except ConfigurationError as error:  # fail now, not after the whole run
        raise click.BadParameter(str(error), context, param) from error
    return value


_OPTIONS = (
    click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        help="Serve Prometheus metrics on this port (0: any free one) during the run.",
    ),
    click.option(
        "--metrics-host",
        default=DEFAULT_METRICS_HOST,
        show_default=True,
        help="The address the metrics are served on.",
    ),
    click.option("--quiet", is_flag=True, help="Show nothing but the final summary."),
    click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json: progress and log records as JSON on stderr.",
    ),
    click.option(
        "--report-json",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the JSON run report here (default: STATE_DIR/reports/).",
    ),
    click.option(
        "--report",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=_chart_path,
        help="Also write an HTML page or a PNG chart of the run (needs matplotlib).",
    ),
)
_NAMES = ("metrics_port", "metrics_host", "quiet", "log_format", "report_json", "report")


def observability_options(command: Command) -> Command:
    """Add the metrics, display and report options; the command receives ``observe=``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        chosen = {name: kwargs.pop(name) for name in _NAMES}
        return command(*args, observe=ObserveOptions(**chosen), **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


@dataclass(eq=False)
class Session:
    """One observed run: :meth:`run` the engine inside :func:`observed_run`."""

    options: ObserveOptions
    sources: Sources
    timeline: Timeline
    dashboard: Dashboard
    metrics_url: str | None = None
    summary: RunSummary | None = None
    reports: list[Path] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    async def run(self, engine: Engine | Worker) -> RunSummary:
        """Watch a run or a worker (controller, tally, queue, pool) while it goes; its summary."""
        self.sources.controller, self.sources.tally = engine, engine.tally
        self.sources.queue = engine.queue
        worker = engine.worker if isinstance(engine, Engine) else engine
        self.sources.pool = worker.planner  # a pooled processor's warm pool, once it starts
        await self.sample()  # time zero of the timeline
        self.summary = await engine.run()
        return self.summary

    async def sample(self) -> Sample:
        """Read every source, add the sample to the timeline and show it."""
        sample = self.timeline.add(await self.sources.read())
        self.dashboard.show(sample)
        return sample

    async def sample_forever(self) -> None:
        """Sample every ``options.sample_s`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.options.sample_s)
            try:
                await self.sample()
            except AutoIssueError as error:
                # A backend that cannot be read this time (a locked database, Redis away) costs
                # one sample of the display, not the run; the run meets it soon enough itself.
                logger.warning("could not read the run's figures: %s", error)

    def write_reports(self, state_dir: Path) -> list[Path]:
        """Write the JSON report, and the chart when asked; nothing if the run did not finish."""
        if self.summary is None:
            return []
        document = report_document(
            self.summary,
            self.timeline.samples,
            started=self.started,
            finished=time.time(),
            labels=self.sources.labels,
        )
        self.reports.append(write_json_report(document, self.options.json_report_path(state_dir)))
        if self.options.report is not None:
            self.reports.append(render_report(document, self.options.report))
        return self.reports


async def _serve_metrics(session: Session, stack: contextlib.AsyncExitStack) -> None:
    options = session.options
    if options.metrics_port is None:
        return
    server = MetricsServer(session.sources, host=options.metrics_host, port=options.metrics_port)
    await stack.enter_async_context(server)
    session.metrics_url = server.url
    session.dashboard.note(f"metrics at {server.url}")


async def _stop_sampling(session: Session, sampler: asyncio.Task[None]) -> None:
    sampler.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler
    await session.sample()  # the figures at the end, for the display and the report


def _session(
    options: ObserveOptions,
    client: ClientSource,
    total: int | None,
    labels: Mapping[str, str] | None,
) -> Session:
    console = Console(stderr=True)
    mode = DisplayMode.choose(quiet=options.quiet, log_format=options.log_format, console=console)
    dashboard = Dashboard(mode, console=console)
    sources = Sources(client=client, labels=MappingProxyType(dict(labels or {})))
    return Session(options, sources, Timeline(total=total), dashboard)


@contextlib.asynccontextmanager
async def observed_run(
    options: ObserveOptions,
    *,
    client: ClientSource,
    state_dir: Path,
    total: int | None = None,
    labels: Mapping[str, str] | None = None,
) -> AsyncIterator[Session]:
    """Start metrics, dashboard and sampler; on a finished run, write its reports."""
    session = _session(options, client, total, labels)
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(json_root_logs(options.log_format == "json"))
        stack.enter_context(session.dashboard)
        await _serve_metrics(session, stack)
        sampler = asyncio.create_task(session.sample_forever())
        stack.push_async_callback(_stop_sampling, session, sampler)
        yield session
    for path in session.write_reports(state_dir):
        click.echo(f"report saved to {path}")
