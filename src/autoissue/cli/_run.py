"""``autoissue run``: process a repository's issues."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from autoissue import _runtime
from autoissue.backend import Backend, open_backend
from autoissue.cli._agent_options import agent_options, processor_options, spawns_processes
from autoissue.cli._errors import friendly_errors
from autoissue.cli._github import connected, credentials, github_options, identity
from autoissue.cli._interrupt import graceful_interrupt
from autoissue.cli._observe_options import ObserveOptions, observability_options, observed_run
from autoissue.cli._persist import backend_dsn, etag_cache_path, load_etags, save_etags
from autoissue.cli._processor_settings import config_tables, option_flag, settings_for
from autoissue.cli._repos import (
    RepoChoice,
    max_issues_per_repo_option,
    repos_options,
    resolve_repos,
)
from autoissue.cli._selection import selection_options, selection_settings
from autoissue.cli._summary import end_with_status, print_summary, saved_or_explained
from autoissue.concurrency import STRATEGIES, MemoryHistoryStore, Strategy
from autoissue.engine import (
    DEFAULT_SKIP_LABELS,
    Engine,
    EngineOptions,
    Observers,
    PlanWriter,
    RunSummary,
    Selector,
)
from autoissue.github import (
    AppAuth,
    GitHubClient,
    normalise_base_url,
)
from autoissue.model import Priority
from autoissue.processors import Processor, get_processor
from autoissue.stream import gc_tuned


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything ``autoissue run`` needs, validated."""

    repos: RepoChoice
    base_url: str
    token: str | None
    app: AppAuth | None
    processor: str
    options: EngineOptions
    state_dir: Path
    plan_out: Path | None
    backend: str
    priorities: frozenset[Priority] | None = None
    max_complexity: float | None = None
    skip_labels: frozenset[str] = DEFAULT_SKIP_LABELS
    skip_locked: bool = True
    time_scale: float = 1.0  # an emulator's compressed clock (its windows shrink with it)
    processor_options: Mapping[str, Any] = field(default_factory=dict)
    progress: bool = True  # False: quiet, whatever ``observe`` says
    observe: ObserveOptions = field(default_factory=ObserveOptions)

    def selector(self, processor: Processor) -> Selector:
        """Which issues of the listing ``processor`` gets, as the options say."""
        return Selector(
            processor,
            priorities=self.priorities,
            max_complexity=self.max_complexity,
            skip_labels=self.skip_labels,
            skip_locked=self.skip_locked,
        )

    @property
    def identity(self) -> str:
        """What the GitHub budget belongs to: the token, or the App installation."""
        return identity((self.token, self.app))


async def execute(settings: RunSettings, processor: Processor) -> RunSummary:
    """Check access to the repository, then run the engine over it with ``processor``."""
    writer = PlanWriter(settings.plan_out) if settings.plan_out else None
    cache_path = etag_cache_path(settings.state_dir, settings.base_url, settings.identity)
    cache = load_etags(cache_path)  # unchanged pages cost a free 304 on a rerun
    auth = (settings.token, settings.app)
    try:
        async with (
            open_backend(settings.backend) as stores,
            connected(
                settings.base_url, auth, stores, cache=cache, time_scale=settings.time_scale
            ) as client,
        ):
            with gc_tuned():  # start-up is done: a long run's collector settings
                return await _process(client, settings, processor, writer, stores)
    finally:
        save_etags(cache, cache_path)
        if writer is not None:
            writer.close()


async def _process(
    client: GitHubClient,
    settings: RunSettings,
    processor: Processor,
    writer: PlanWriter | None,
    stores: Backend,
) -> RunSummary:
    repositories = await resolve_repos(client, settings.repos)
    names = [repository.full_name for repository in repositories]
    total = None
    if settings.options.state == "open":
        total = sum(repository.open_issues_count for repository in repositories)
    labels = {"repo": _metric_label(names), "processor": settings.processor}
    observe = settings.observe if settings.progress else replace(settings.observe, quiet=True)
    async with observed_run(
        observe, client=client, state_dir=settings.state_dir, total=total, labels=labels
    ) as session:
        history = await stores.scaling_history(history_name(settings))
        engine = _engine(client, settings, processor, writer, stores, repos=names, history=history)
        try:
            with graceful_interrupt(engine):
                return await session.run(engine)
        finally:
            await stores.keep_scaling_history(history_name(settings), history)


def _engine(
    client: GitHubClient,
    settings: RunSettings,
    processor: Processor,
    writer: PlanWriter | None,
    stores: Backend,
    *,
    repos: list[str],
    history: MemoryHistoryStore,
) -> Engine:
    return Engine(
        client,
        repos,
        processor,
        options=settings.options,
        selector=settings.selector(processor),
        observers=Observers(plan_writer=writer),
        history=history,
        # A dry run rehearses in a queue of its own: the durable one may hold real work
        # (a killed run's) that a rehearsal must not claim and ack unapplied.
        queue=None if settings.options.dry_run else stores.queue,
        state=stores.state,
    )


def _metric_label(names: list[str]) -> str:
    # Metrics carry a few fixed values: a long list of repositories is counted, not named.
    return names[0] if len(names) == 1 else f"{len(names)} repositories"


def history_name(settings: RunSettings) -> str:
    """Under which name the backend keeps the controller's scaling history.

    What concurrency suits a run depends on the server and on the work, not on the
    repository, so runs of one processor against one host share what they learned.
    """
    host = settings.base_url.split("://", 1)[-1].split("/", 1)[0]
    return f"{host}:{settings.processor}"


def _plan_path(state_dir: Path, plan_out: Path | None, dry_run: bool) -> Path | None:
    if plan_out is not None or not dry_run:
        return plan_out
    return state_dir / "plans" / f"{time.strftime('%Y%m%dT%H%M%S')}.jsonl"


@click.command("run")
@repos_options
@click.option("--processor", default="triage", show_default=True, help="Which processor to run.")
@option_flag
@click.option("--dry-run", is_flag=True, help="Plan every write, make none (plans are saved).")
@click.option(
    "--force",
    is_flag=True,
    help="Also process issues the ledger says are done (nothing is written twice).",
)
@click.option(
    "--plan-out", type=click.Path(dir_okay=False, path_type=Path), help="Save plans here."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    help="Force this many issues in flight (default: the adaptive controller decides).",
)
@click.option(
    "--strategy",
    default="balanced",
    show_default=True,
    type=click.Choice(sorted(STRATEGIES)),
    help="How the adaptive controller trades latency for throughput.",
)
@click.option("--state", default="open", type=click.Choice(["open", "closed", "all"]))
@selection_options
@click.option(
    "--max-cost-usd",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop taking new issues once the agents' reported spend reaches this.",
)
@click.option(
    "--max-issues-per-hour",
    type=click.IntRange(min=1),
    help="Process at most this many per clock hour, counted across runs in the backend.",
)
@click.option(
    "--watch",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Once listed, go on until Ctrl-C or SIGTERM: every SECONDS, process what changed"
    " since (GitHub's since, ETags), without webhooks.",
)
@max_issues_per_repo_option
@click.option("--state-dir", default=".autoissue", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--backend",
    envvar="AUTOISSUE_BACKEND",
    help="Where state shared between processes lives, such as the token's GitHub budget: "
    "sqlite:///PATH (default: STATE_DIR/state.db) or redis://HOST:PORT/DB.",
)
@click.option(
    "--emulator-time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    hidden=True,  # for benchmarks: an emulator whose rate-limit clock runs this much faster
)
@github_options
@agent_options
@observability_options
def run_command(**options: Any) -> None:
    """Process the issues of a repository on GitHub.

    Authenticates with GITHUB_TOKEN, or as a GitHub App installation when --app-id,
    --app-key-file and --installation-id are given.
    """
    with friendly_errors(repo=",".join(options["repo"]), base_url=options["base_url"]):
        settings = _settings(options)
        processor = get_processor(settings.processor, **settings.processor_options)
        summary = _runtime.run(execute(settings, processor), spawning=spawns_processes([processor]))
    print_summary(summary)
    saved = saved_or_explained(summary, settings.state_dir)
    plans = f", plans to {settings.plan_out}" if settings.plan_out else ""
    click.echo(f"summary saved to {saved}{plans}")
    end_with_status(summary)


def _engine_options(options: dict[str, Any]) -> EngineOptions:
    return EngineOptions(
        concurrency=options["concurrency"],
        strategy=Strategy.named(options["strategy"]),
        state=options["state"],
        dry_run=options["dry_run"],
        max_issues=options["max_issues"],
        max_issues_per_hour=options["max_issues_per_hour"],
        max_issues_per_repo=options["max_issues_per_repo"],
        max_cost_usd=options["max_cost_usd"],
        force=options["force"],
        watch_s=options["watch"],
    )


def _processor_options(options: dict[str, Any], token: str | None) -> dict[str, Any]:
    name = options["processor"]
    own = settings_for([name], options["processor_settings"], config_tables())[name]
    agent = processor_options(
        name, options, token, options["state_dir"], base_url=options["base_url"]
    )
    return {**own, **agent}


def _settings(options: dict[str, Any]) -> RunSettings:
    dry_run = options["dry_run"]
    token, app = credentials(options)
    return RunSettings(
        repos=RepoChoice.from_options(options),
        base_url=normalise_base_url(options["base_url"]),
        token=token,
        app=app,
        processor=options["processor"],
        options=_engine_options(options),
        **selection_settings(options),
        time_scale=options["emulator_time_scale"],
        processor_options=_processor_options(options, token),
        state_dir=options["state_dir"],
        plan_out=_plan_path(options["state_dir"], options["plan_out"], dry_run),
        backend=backend_dsn(options["backend"], options["state_dir"]),
        observe=options["observe"],
    )
