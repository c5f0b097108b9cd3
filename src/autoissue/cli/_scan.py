"""``autoissue scan``: what a run would process, in order, and what it would cost — no writes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from autoissue import _runtime
from autoissue.cli._agent_options import (
    command_chosen,
    sandbox_from,
    sandbox_line,
    sandbox_options,
)
from autoissue.cli._errors import friendly_errors
from autoissue.cli._github import credentials, github_options
from autoissue.cli._processor_settings import config_tables, option_flag, settings_for
from autoissue.cli._repos import (
    RepoChoice,
    max_issues_per_repo_option,
    repos_options,
    resolve_repos,
)
from autoissue.cli._selection import selection_options, selector
from autoissue.cli._terminal import cell
from autoissue.github import GitHubClient, normalise_base_url
from autoissue.processors import Processor, get_processor
from autoissue.scan import (
    Forecast,
    ScanEntry,
    ScanOptions,
    ScanReport,
    ScanSet,
    duration,
    scan_many,
)
from autoissue.state import StateStore, open_state

_TITLE_CHARS = 60
#: The issues table's columns, left to right, and how each aligns its cells.
_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("#", "right"),
    ("title", "left"),
    ("priority", "left"),
    ("why", "left"),
    ("complexity", "right"),
    ("top factors", "left"),
    ("verdict", "left"),
)


def issues_table(report: ScanReport, limit: int | None) -> Table:
    """The issues in the order the run would take them, then the skipped."""
    listed, admitted = len(report.entries), len(report.admitted)
    title = f"{report.processor} on {report.repo}: {admitted:,} of {listed:,} to do"
    return _entries_table(title, report.entries[:limit], with_repo=False)


def _entries_table(title: str, entries: Sequence[ScanEntry], *, with_repo: bool) -> Table:
    table = Table(title=title)
    if with_repo:
        table.add_column("repository")
    for name, justify in _COLUMNS:
        table.add_column(name, justify=justify)
    for entry in entries:
        repo = (cell(entry.repo),) if with_repo else ()
        table.add_row(*repo, *_row(entry))
    return table


def _row(entry: ScanEntry) -> tuple[Text, ...]:
    priority = "" if entry.priority is None else entry.priority.name.lower()
    verdict = (
        cell(f"process: {entry.calls} call{'' if entry.calls == 1 else 's'}", style="green")
        if entry.admitted
        else cell(f"skip: {entry.skip_reason}", style="dim")
    )
    return (
        Text(str(entry.number)),
        cell(entry.title, _TITLE_CHARS),
        Text(priority),
        cell(entry.priority_reason),
        Text(f"{entry.complexity.score:.2f}"),
        cell(", ".join(entry.top_factors())),
        verdict,
    )


def repositories_table(scanned: ScanSet) -> Table:
    """One row per repository: issues listed, to do, skipped, and the calls their plans need."""
    table = Table(title=f"{len(scanned.reports):,} repositories")
    for name in ("repository", "listed", "to do", "skipped", "write-back calls"):
        table.add_column(name, justify="left" if name == "repository" else "right")
    for report in scanned.reports:
        skipped = sum(report.skipped.values())
        counts = (len(report.entries), len(report.admitted), skipped, report.write_calls)
        table.add_row(cell(report.repo), *(Text(f"{n:,}") for n in counts))
    return table


def forecast_table(forecast: Forecast) -> Table:
    """The calls a run would make and the least time its limits allow."""
    calls = forecast.calls
    table = Table(title="forecast", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("API calls", f"{calls.total:,}"),
        ("  reads / writes", f"{calls.total - calls.mutations:,} / {calls.mutations:,}"),
        ("  content creations", f"{calls.content:,}"),
        *((f"  {endpoint}", f"{n:,}") for endpoint, n in sorted(calls.counts.items())),
        *_budget_rows(forecast),
        *((f"bound: {b.name}", b.detail) for b in forecast.bounds),
        ("duration at least", duration(forecast.seconds)),
        ("binding constraint", forecast.binding),
    ]
    if forecast.note:
        rows.append(("note", forecast.note))
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table


def _budget_rows(forecast: Forecast) -> list[tuple[str, str]]:
    budget = forecast.budget
    if not forecast.limited:
        return [("primary budget", "none: the server has no rate limits")]
    if budget is None:
        return [("primary budget", "unknown: GitHub's documented 5,000 an hour assumed")]
    return [("primary budget", f"{budget.remaining:,} of {budget.limit:,} left")]


def print_report(report: ScanReport, *, limit: int | None, console: Console | None = None) -> None:
    """Print the issues table and the forecast."""
    console = console or Console()
    console.print(issues_table(report, limit))
    _print_shown(console, limit, len(report.entries))
    console.print(forecast_table(report.forecast))


def print_scan(scanned: ScanSet, *, limit: int | None, console: Console | None = None) -> None:
    """Print a scan: for one repository as :func:`print_report` does.

    For several: their issues in the queue's order, a table of the repositories, and the
    forecast of the one run over all of them.
    """
    console = console or Console()
    if len(scanned.reports) == 1:
        only = replace(scanned.reports[0], forecast=scanned.forecast)
        print_report(only, limit=limit, console=console)
        return
    entries = scanned.entries
    title = f"{scanned.processor}: {scanned.admitted:,} of {scanned.listed:,} to do"
    console.print(_entries_table(title, entries[:limit], with_repo=True))
    _print_shown(console, limit, len(entries))
    console.print(repositories_table(scanned))
    console.print(forecast_table(scanned.forecast))


def _print_shown(console: Console, limit: int | None, listed: int) -> None:
    shown = listed if limit is None else min(limit, listed)
    if shown < listed:
        console.print(f"({shown:,} of {listed:,} shown: --limit 0 shows all)")


@asynccontextmanager
async def _ledger(dsn: str | None) -> AsyncIterator[StateStore | None]:
    """The run's ledger, when there is one: a scan never creates it."""
    if dsn is None:
        yield None
        return
    state = await open_state(dsn)
    try:
        yield state
    finally:
        await state.close()


def ledger_dsn(state_dir: Path, backend: str | None) -> str | None:
    """Where the run's ledger is: ``backend``, else ``STATE_DIR/state.db`` if it exists."""
    if backend:
        return backend
    path = state_dir / "state.db"
    return f"sqlite:///{path}" if path.exists() else None


async def execute(options: dict[str, Any], *, progress: bool = False) -> ScanSet:
    """Warm up as a run does, then scan with the run's selector and ledger.

    ``progress``: say on stderr as each of several repositories is listed.
    """
    choice = RepoChoice.from_options(options)
    token, app = credentials(options)
    processor = _processor(options)
    dsn = ledger_dsn(options["state_dir"], options["backend"])
    base_url = normalise_base_url(options["base_url"])
    async with GitHubClient(base_url=base_url, token=token, app=app) as client, _ledger(dsn) as st:
        await client.warm_up()
        before = _requests_by_endpoint(client)
        repos = [repo.full_name for repo in await resolve_repos(client, choice)]
        lookups = _requests_by_endpoint(client) - before
        return await scan_many(
            client,
            repos,
            processor,
            selector=selector(processor, options),
            options=_scan_options(options),
            state=st,
            lookups=lookups,
            on_scanned=_progress_line(len(repos)) if progress else lambda repo, listed: None,
        )


def _processor(options: dict[str, Any]) -> Processor:
    chosen = options["processor"]
    own = settings_for([chosen], options["processor_settings"], config_tables())
    return get_processor(chosen, **own[chosen])


def _scan_options(options: dict[str, Any]) -> ScanOptions:
    return ScanOptions(
        state=options["state"],
        max_issues=options["max_issues"],
        max_issues_per_repo=options["max_issues_per_repo"],
    )


def _requests_by_endpoint(client: GitHubClient) -> Counter[str]:
    endpoints = client.statistics().endpoints
    return Counter({name: endpoint.requests for name, endpoint in endpoints.items()})


def _progress_line(total: int) -> Callable[[str, int], None]:
    """What says each repository is listed, when there are several to list."""
    done = 0

    def listed(repo: str, issues: int) -> None:
        nonlocal done
        done += 1
        if total > 1:
            click.echo(f"listed {repo}: {issues:,} issues ({done:,} of {total:,})", err=True)

    return listed


@click.command("scan")
@repos_options
@click.option("--processor", default="triage", show_default=True, help="Which processor to plan.")
@option_flag
@click.option("--state", default="open", type=click.Choice(["open", "closed", "all"]))
@selection_options
@max_issues_per_repo_option
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(0),
    help="Issues shown (0: all); the forecast always covers every issue.",
)
@click.option(
    "--format", "output", default="table", type=click.Choice(["table", "json"]), help="Output."
)
@click.option("--state-dir", default=".autoissue", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--backend",
    envvar="AUTOISSUE_BACKEND",
    help="The run's state (its ledger says what is done): default STATE_DIR/state.db.",
)
@sandbox_options
@github_options
def scan_command(**options: Any) -> None:
    """Show what a run would process, in order, and forecast its API calls and duration.

    Reads only: issues are listed, selected and planned as ``autoissue run`` would, and
    nothing is written to GitHub. Several repositories (--repo repeated, --org, --all-repos)
    are forecast as one run over all of them, sharing the token's budget.
    """
    with friendly_errors(repo=",".join(options["repo"]), base_url=options["base_url"]):
        sandbox = _sandbox(options)
        table = options["output"] == "table"
        scanned = _runtime.run(execute(options, progress=table))
    limit = options["limit"] or None
    if not table:
        shown = scanned.to_dict(limit=limit) | ({"sandbox": sandbox} if sandbox else {})
        click.echo(json.dumps(shown, indent=2))
    else:
        print_scan(scanned, limit=limit)
        if sandbox:
            click.echo(sandbox)


def _sandbox(options: dict[str, Any]) -> str:
    """The sandbox line of a scan of the command processor; sandbox options elsewhere fail."""
    if not command_chosen(options["processor"], options):
        return ""
    return sandbox_line(sandbox_from(options), options["state_dir"])
