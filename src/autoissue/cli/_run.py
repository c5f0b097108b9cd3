"""``autoissue run``: process a repository's issues."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from autoissue import _runtime
from autoissue._exceptions import ConfigurationError
from autoissue.cli._errors import friendly_errors
from autoissue.cli._persist import etag_cache_path, load_etags, save_etags
from autoissue.cli._progress import ProgressReporter
from autoissue.cli._summary import print_summary, save_summary
from autoissue.concurrency import STRATEGIES, JsonFileHistoryStore, Strategy
from autoissue.engine import Engine, EngineOptions, PlanWriter, RunSummary
from autoissue.github import (
    DEFAULT_BASE_URL,
    AppAuth,
    GitHubClient,
    SharedGovernor,
    normalise_base_url,
    open_budget_store,
    parse_repo_name,
)
from autoissue.processors import Processor, get_processor


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything ``autoissue run`` needs, validated."""

    repo: str
    base_url: str
    token: str | None
    app: AppAuth | None
    processor: str
    options: EngineOptions
    state_dir: Path
    plan_out: Path | None
    progress: bool
    backend: str

    @property
    def identity(self) -> str:
        """What the GitHub budget belongs to: the token, or the App installation."""
        if self.app is not None:
            return f"app:{self.app.app_id}:{self.app.installation_id}"
        return self.token or ""


async def execute(settings: RunSettings) -> RunSummary:
    """Check access to the repository, then run the engine over it."""
    processor = get_processor(settings.processor)
    writer = PlanWriter(settings.plan_out) if settings.plan_out else None
    store = open_budget_store(settings.backend, base_url=settings.base_url, token=settings.identity)
    governor = SharedGovernor(store)  # every process on this token shares one budget
    cache_path = etag_cache_path(settings.state_dir, settings.base_url, settings.identity)
    cache = load_etags(cache_path)  # unchanged pages cost a free 304 on a rerun
    try:
        client = GitHubClient(
            base_url=settings.base_url, token=settings.token, app=settings.app,
            governor=governor, cache=cache,
        )  # fmt: skip
        async with client:
            await client.warm_up()
            return await _process(client, settings, processor, writer)
    finally:
        save_etags(cache, cache_path)
        await governor.flush()
        await store.close()
        if writer is not None:
            writer.close()


async def _process(
    client: GitHubClient, settings: RunSettings, processor: Processor, writer: PlanWriter | None
) -> RunSummary:
    repository = await client.get_repository(settings.repo)
    total = repository.open_issues_count if settings.options.state == "open" else None
    with ProgressReporter(total=total, enabled=settings.progress) as progress:
        engine = Engine(
            client,
            settings.repo,
            processor,
            options=settings.options,
            plan_writer=writer,
            on_progress=progress.update,
            history=JsonFileHistoryStore(history_path(settings)),
        )
        return await engine.run()


def history_path(settings: RunSettings) -> Path:
    """Where the controller's scaling history lives: one file per server and processor.

    What concurrency suits a run depends on the server and on the work, not on the
    repository, so runs of one processor against one host share what they learned.
    """
    host = settings.base_url.split("://", 1)[-1].split("/", 1)[0].replace(":", "_")
    return settings.state_dir / "scaling" / f"{host}-{settings.processor}.json"


def _credentials(options: dict[str, Any]) -> tuple[str | None, AppAuth | None]:
    """A GitHub App's installation when one is configured, else GITHUB_TOKEN."""
    app_id, key_file, installation = (
        options["app_id"],
        options["app_key_file"],
        options["installation_id"],
    )
    if app_id or key_file or installation:
        if not (app_id and key_file and installation):
            raise ConfigurationError(
                "a GitHub App needs all three: --app-id, --app-key-file and --installation-id"
            )
        key = Path(key_file).read_text(encoding="utf-8")
        return None, AppAuth(app_id=app_id, private_key=key, installation_id=installation)
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise ConfigurationError(
            "GITHUB_TOKEN is not set: export a token that can read and label the issues"
        )
    return token, None


def _plan_path(state_dir: Path, plan_out: Path | None, dry_run: bool) -> Path | None:
    if plan_out is not None or not dry_run:
        return plan_out
    return state_dir / "plans" / f"{time.strftime('%Y%m%dT%H%M%S')}.jsonl"


@click.command("run")
@click.option("--repo", required=True, help="The repository, as OWNER/NAME.")
@click.option(
    "--base-url",
    default=DEFAULT_BASE_URL,
    show_default=True,
    envvar="AUTOISSUE_BASE_URL",
    help="The REST API root: GitHub Enterprise Server uses https://HOST/api/v3.",
)
@click.option("--processor", default="triage", show_default=True, help="Which processor to run.")
@click.option("--dry-run", is_flag=True, help="Plan every write, make none (plans are saved).")
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
@click.option("--state-dir", default=".autoissue", type=click.Path(file_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option(
    "--backend",
    envvar="AUTOISSUE_BACKEND",
    help="Where state shared between processes lives, such as the token's GitHub budget: "
    "sqlite:///PATH (default: STATE_DIR/state.db) or redis://HOST:PORT/DB.",
)
@click.option("--app-id", envvar="AUTOISSUE_APP_ID", help="Authenticate as this GitHub App.")
@click.option(
    "--app-key-file",
    envvar="AUTOISSUE_APP_KEY_FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="The GitHub App's private key (PEM).",
)
@click.option(
    "--installation-id",
    envvar="AUTOISSUE_APP_INSTALLATION_ID",
    type=int,
    help="The App installation that can reach the repository.",
)
def run_command(**options: Any) -> None:
    """Process the issues of a repository on GitHub.

    Authenticates with GITHUB_TOKEN, or as a GitHub App installation when --app-id,
    --app-key-file and --installation-id are given.
    """
    with friendly_errors(repo=options["repo"], base_url=options["base_url"]):
        settings = _settings(options)
        summary = _runtime.run(execute(settings))
    print_summary(summary)
    saved = save_summary(summary, settings.state_dir)
    plans = f", plans to {settings.plan_out}" if settings.plan_out else ""
    click.echo(f"summary saved to {saved}{plans}")
    if summary.failed:
        raise SystemExit(1)


def _settings(options: dict[str, Any]) -> RunSettings:
    owner, name = parse_repo_name(options["repo"])
    dry_run = options["dry_run"]
    token, app = _credentials(options)
    return RunSettings(
        repo=f"{owner}/{name}",
        base_url=normalise_base_url(options["base_url"]),
        token=token,
        app=app,
        processor=options["processor"],
        options=EngineOptions(
            concurrency=options["concurrency"],
            strategy=Strategy.named(options["strategy"]),
            state=options["state"],
            dry_run=dry_run,
        ),
        state_dir=options["state_dir"],
        plan_out=_plan_path(options["state_dir"], options["plan_out"], dry_run),
        progress=not options["quiet"],
        backend=options["backend"] or f"sqlite:///{options['state_dir'] / 'state.db'}",
    )
