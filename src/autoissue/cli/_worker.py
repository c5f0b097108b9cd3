"""``autoissue worker``: join a run from another process or machine, through a shared backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from autoissue import _runtime
from autoissue.backend import Backend, open_backend
from autoissue.cli._agent_options import agent_options, processor_options, spawns_processes
from autoissue.cli._errors import friendly_errors
from autoissue.cli._github import Auth, connected, credentials, github_options
from autoissue.cli._interrupt import graceful_interrupt
from autoissue.cli._observe_options import ObserveOptions, observability_options, observed_run
from autoissue.cli._processor_settings import config_tables, option_flag, settings_for
from autoissue.cli._summary import end_with_status, print_summary
from autoissue.engine import RunSummary, Worker, WorkerOptions
from autoissue.github import (
    GitHubClient,
    normalise_base_url,
)
from autoissue.processors import Processor, get_processor
from autoissue.stream import gc_tuned

__all__ = ["worker_command"]


def build_processors(options: dict[str, Any], token: str | None) -> list[Processor]:
    """The worker's processors, built before anything is opened: a bad name fails first."""
    names = options["processor"]
    own = settings_for(names, options["processor_settings"], config_tables())
    return [
        get_processor(name, **own[name], **_options_for(name, options, token)) for name in names
    ]


async def work(
    backend: str, base_url: str, auth: Auth, options: dict[str, Any], processors: list[Processor]
) -> RunSummary:
    """Claim and process items from ``backend`` until it stays empty for ``idle_exit_s``."""
    observe: ObserveOptions = options["observe"]
    labels = {"processor": ",".join(processor.name for processor in processors)}
    async with (
        open_backend(backend) as stores,
        connected(base_url, auth, stores) as client,
        observed_run(
            observe, client=client, state_dir=options["state_dir"], labels=labels
        ) as session,
    ):
        worker = _worker(client, stores, processors, options)
        with gc_tuned(), graceful_interrupt(worker):
            return await session.run(worker)


def _options_for(name: str, options: dict[str, Any], token: str | None) -> dict[str, Any]:
    # The agent options configure the command processor; the others take their defaults.
    if name != "command":
        return {}
    return processor_options(
        name, options, token, options["state_dir"], base_url=options["base_url"]
    )


def _worker(
    client: GitHubClient, stores: Backend, processors: list[Processor], options: dict[str, Any]
) -> Worker:
    worker_options = WorkerOptions(
        concurrency=options["concurrency"], idle_exit_s=options["idle_exit"]
    )
    return Worker(client, stores.queue, stores.state, processors, options=worker_options)


@click.command("worker")
@click.option(
    "--backend",
    required=True,
    envvar="AUTOISSUE_BACKEND",
    help="The run's backend: sqlite:///path/state.db or redis://host:port/db.",
)
@click.option(
    "--processor",
    multiple=True,
    default=("triage",),
    show_default=True,
    help="A processor this worker handles items for (repeat for several).",
)
@option_flag
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Force this many in flight.")
@click.option(
    "--idle-exit",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Exit once the queue has been empty this many seconds.",
)
@click.option(
    "--state-dir",
    default=".autoissue",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where reports go and the command processor keeps its mirrors and worktrees.",
)
@github_options
@agent_options
@observability_options
def worker_command(**options: Any) -> None:
    """Process queued issues from a shared backend, beside ``autoissue run`` or after it.

    Credentials come from GITHUB_TOKEN or --app-id/--app-key-file/--installation-id, as for
    ``autoissue run``; the repository and processor of each item travel with it.
    """
    with friendly_errors():
        base_url = normalise_base_url(options["base_url"])
        auth = credentials(options)
        processors = build_processors(options, auth[0])
        summary = _runtime.run(
            work(options["backend"], base_url, auth, options, processors),
            spawning=spawns_processes(processors),
        )
    print_summary(summary)
    end_with_status(summary)
