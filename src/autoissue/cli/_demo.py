"""``autoissue demo``: the whole pipeline against a built-in GitHub emulator, then a check."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from autoissue import _runtime
from autoissue.backend import Backend, fresh_backend
from autoissue.cli._errors import friendly_errors
from autoissue.cli._observe_options import ObserveOptions, observability_options, observed_run
from autoissue.cli._summary import print_summary
from autoissue.emulator import EmulatorConfig, run_in_thread
from autoissue.engine import DEFAULT_SKIP_LABELS, Engine, EngineOptions, Observers, RunSummary
from autoissue.github import GitHubClient
from autoissue.model import priority_from_labels
from autoissue.processors import Triage
from autoissue.stream import gc_tuned

_DEMO_TOKEN = "demo-token"  # noqa: S105 - the emulator's stand-in, not a secret
_STATE_DIR = Path(".autoissue")  # where ``autoissue run`` keeps its state by default


def _needs_processing(issue: Mapping[str, Any]) -> bool:
    return (
        not issue["is_pull_request"]
        and issue["state"] == "open"
        and not issue["locked"]
        and not DEFAULT_SKIP_LABELS & set(issue["labels"])
    )


def verify(
    state: Mapping[str, Any], repo: str, planned: Mapping[int, frozenset[str]], listed: int
) -> list[str]:
    """Problems with the emulator's final state after triage, or ``[]`` when it is right.

    Every item of the repository must have been listed. Every open issue that is not a
    pull request, not locked and has no skip label must have been processed, carry each
    label its plan added, and carry a priority label (in any spelling triage reads).
    """
    issues = next(entry["issues"] for entry in state["repos"] if entry["full_name"] == repo)
    problems = [] if listed == len(issues) else [f"listed {listed} of {len(issues)} items"]
    for issue in filter(_needs_processing, issues):
        number, labels = issue["number"], set(issue["labels"])
        if number not in planned:
            problems.append(f"#{number} was not processed")
        elif missing := planned[number] - labels:
            problems.append(f"#{number} lacks {', '.join(sorted(missing))}")
        elif priority_from_labels(labels) is None:  # any spelling: "priority: high", "P1"
            problems.append(f"#{number} has no priority label")
    return problems


async def run_demo(
    base_url: str,
    repo: str,
    *,
    issues: int,
    concurrency: int | None,
    observe: ObserveOptions | None = None,
) -> tuple[RunSummary, list[str], int]:
    """Triage every issue on the emulator at ``base_url``; returns summary, problems, checked."""
    planned: dict[int, frozenset[str]] = {}
    async with GitHubClient(base_url=base_url, token=_DEMO_TOKEN) as client:
        await client.warm_up()
        await client.get_repository(repo)
        summary = await _triage_observed(
            client, repo, planned, issues=issues, concurrency=concurrency, observe=observe
        )
        state = await client.get_json("/_emulator/state")
    return summary, verify(state, repo, planned, summary.listed), len(planned)


async def _triage_observed(
    client: GitHubClient,
    repo: str,
    planned: dict[int, frozenset[str]],
    *,
    issues: int,
    concurrency: int | None,
    observe: ObserveOptions | None,
) -> RunSummary:
    """One observed triage run on a fresh backend, each plan's labels noted in ``planned``."""
    async with (
        fresh_backend() as stores,
        observed_run(
            observe or ObserveOptions(),
            client=client,
            state_dir=_STATE_DIR,
            total=issues,
            labels={"repo": repo, "processor": "triage"},
        ) as session,
    ):
        engine = _triage_engine(client, repo, stores, concurrency, planned)
        with gc_tuned():
            summary = await session.run(engine)
    return summary


def _triage_engine(
    client: GitHubClient,
    repo: str,
    stores: Backend,
    concurrency: int | None,
    planned: dict[int, frozenset[str]],
) -> Engine:
    """Triage over every issue, open or closed; each plan's labels are noted in ``planned``."""
    return Engine(
        client,
        repo,
        Triage(),
        options=EngineOptions(concurrency=concurrency, state="all"),
        observers=Observers(
            on_plan=lambda plan: planned.__setitem__(plan.issue, plan.labels_to_add)
        ),
        queue=stores.queue,
        state=stores.state,
    )


@click.command("demo")
@click.option("--issues", default=5000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--latency-ms",
    default=50.0,
    show_default=True,
    type=click.FloatRange(0, 10_000),
    help="The emulator's median response time.",
)
@click.option(
    "--faults",
    default=0.01,
    show_default=True,
    type=click.FloatRange(0, 0.5),
    help="Share of requests the emulator fails (502/503, resets, slow answers).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    help="Force this many issues in flight (default: the adaptive controller decides).",
)
@observability_options
def demo_command(
    issues: int,
    seed: int,
    latency_ms: float,
    faults: float,
    concurrency: int | None,
    *,
    observe: ObserveOptions,
) -> None:
    """Triage a synthetic repository on a built-in GitHub emulator, then check every label."""
    config = EmulatorConfig(issues=issues, seed=seed, latency_ms=latency_ms, faults=faults)
    with friendly_errors(), run_in_thread(config) as emulator:
        click.echo(
            f"emulator: {config.repo} with {issues} issues at {emulator.base_url}"
            f" ({latency_ms:g} ms median latency, {faults:.0%} faults)"
        )
        summary, problems, checked = _runtime.run(
            run_demo(
                emulator.base_url,
                config.repo,
                issues=issues,
                concurrency=concurrency,
                observe=observe,
            )
        )
    print_summary(summary)
    _report_check(summary, problems, checked)


def _report_check(summary: RunSummary, problems: list[str], checked: int) -> None:
    """Say the check passed, or show its first problems and fail the command."""
    if problems or summary.failed:
        for problem in problems[:20]:
            Console(stderr=True).print(f"  {problem}", markup=False)
        raise click.ClickException(f"check failed: {len(problems)} problems")
    click.echo(
        f"check passed: all {summary.listed} items listed; all {checked} open issues"
        " needing triage carry their labels"
    )
