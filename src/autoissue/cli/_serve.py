"""``autoissue serve``: receive GitHub's webhooks and process issues as they change.

::

    GitHub ──signed delivery──▶ WebhookReceiver ──offer──▶ LiveIntake ──▶ queue ──▶ Worker
    reconcile (on start, then every --reconcile) ──sweep since the last one──┘  (same process,
                                                                               or autoissue worker)

Deliveries are queued durably before GitHub hears 2xx; a sweep on start and every
``--reconcile`` seconds catches what changed while nothing listened (the first sweep of a
repository is its backlog). The webhook port also answers ``GET /healthz`` and ``GET /metrics``
(a worker's Prometheus metrics, plus the deliveries' and the sweeps'). The worker runs until
SIGINT or SIGTERM, then drains what it holds and prints the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from autoissue import _runtime
from autoissue._exceptions import ConfigurationError
from autoissue.backend import Backend, open_backend
from autoissue.cli._agent_options import agent_options, spawns_processes
from autoissue.cli._errors import friendly_errors
from autoissue.cli._github import Auth, connected, credentials, github_options
from autoissue.cli._interrupt import graceful_interrupt
from autoissue.cli._persist import backend_dsn
from autoissue.cli._processor_settings import option_flag
from autoissue.cli._summary import end_with_status, print_summary
from autoissue.cli._worker import build_processors
from autoissue.engine import LiveIntake, RunSummary, RunTally, Worker, WorkerOptions
from autoissue.github import GitHubClient, normalise_base_url, parse_repo_name
from autoissue.observe import Sources, metrics_response
from autoissue.processors import Processor
from autoissue.queue import QueueStatistics
from autoissue.serve import HealthFigures, WebhookOptions, WebhookReceiver, WebhookServer

__all__ = ["serve_command"]

logger = logging.getLogger(__name__)


def read_secret(path: Path) -> str:
    """The webhook secret in ``path``, without the line end an editor adds."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read the webhook secret file {path}: {error}") from None
    if not secret:
        raise ConfigurationError(f"the webhook secret file {path} is empty")
    return secret


async def serve(
    options: dict[str, Any], auth: Auth, processors: list[Processor], secret: str
) -> RunSummary:
    """Serve until stopped; return the worker's summary."""
    async with (
        open_backend(options["backend"]) as stores,
        connected(options["base_url"], auth, stores) as client,
    ):
        worker = _worker(client, stores, processors, options)
        live = _live(client, stores, processors, worker, options["repo"])
        own_login = (await client.get_authenticated_user()).login if auth[0] else None
        swept: Counter[str] = Counter()
        names = ",".join(processor.name for processor in processors)
        sources = watched(client, worker, swept, labels={"processor": names})
        figures = health_figures(worker, swept)
        receiver = _receiver(secret, live, stores, own_login, figures=figures, sources=sources)
        async with WebhookServer(receiver, host=options["host"], port=options["port"]) as server:
            click.echo(f"listening for webhooks on {server.url}", err=True)
            with graceful_interrupt(worker):
                work = _serving(worker, live, options, swept)
                return await worker.summarised(work, repo=_served(options), processor=names)


def watched(
    client: GitHubClient, worker: Worker, swept: Counter[str], *, labels: dict[str, str]
) -> Sources:
    """What ``GET /metrics`` reads: what a worker's metrics read, its pool, and the sweeps.

    The receiver is added once it exists (:func:`_receiver`), since it serves these.
    """
    return Sources(
        client=client,
        controller=worker,
        tally=worker.tally,
        queue=worker.queue,
        pool=worker.planner,
        sweeps=swept,
        labels=labels,
    )


def _receiver(
    secret: str,
    live: LiveIntake,
    stores: Backend,
    own_login: str | None,
    *,
    figures: HealthFigures,
    sources: Sources,
) -> WebhookReceiver:
    """The receiver: ``figures`` beside its counts at ``/healthz``, ``sources`` at ``/metrics``.

    The receiver joins ``sources`` here, once it exists: it serves them.
    """
    receiver = WebhookReceiver(
        secret=secret,
        admission=live,
        state=stores.state,
        options=WebhookOptions(own_login=own_login),
        figures=figures,
        metrics=functools.partial(metrics_response, sources),
    )
    sources.webhooks = receiver
    return receiver


def health_figures(worker: Worker, swept: Counter[str]) -> HealthFigures:
    """What ``/healthz`` adds to the deliveries: the worker's counts, the queue's, the sweeps.

    ``worker``: items enqueued (by deliveries and sweeps), processed, failed, found with
    nothing to do, retried; ``queue``: items unfinished (waiting or leased), waiting, leased,
    dead letters; ``swept``: how many sweeps of each repository have listed to the end.
    """

    async def figures() -> dict[str, Any]:
        queue = await worker.queue.statistics()
        counts = {"worker": _worker_counts(worker.tally), "queue": _queue_counts(queue)}
        return {**counts, "swept": dict(swept)}

    return figures


def _worker_counts(tally: RunTally) -> dict[str, int]:
    return {
        "enqueued": tally.enqueued,
        "processed": tally.processed,
        "failed": tally.failed,
        "nothing_to_do": tally.skipped_at_work,
        "requeued": tally.requeued,
    }


def _queue_counts(queue: QueueStatistics) -> dict[str, int]:
    return {
        "unfinished": queue.unfinished,
        "waiting": queue.waiting,
        "in_flight": queue.in_flight,
        "dead_letters": queue.dead_letters,
    }


async def _serving(
    worker: Worker, live: LiveIntake, options: dict[str, Any], swept: Counter[str]
) -> None:
    reconciling = asyncio.create_task(
        live.sweep_forever(options["reconcile"], on_swept=lambda repo: swept.update([repo]))
    )
    try:
        await worker.work(pending=lambda: True)  # ends only when a stop is requested
    finally:
        reconciling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reconciling


def _worker(
    client: GitHubClient, stores: Backend, processors: list[Processor], options: dict[str, Any]
) -> Worker:
    worker_options = WorkerOptions(concurrency=options["concurrency"])
    return Worker(client, stores.queue, stores.state, processors, options=worker_options)


def _live(
    client: GitHubClient,
    stores: Backend,
    processors: list[Processor],
    worker: Worker,
    repos: Sequence[str],
) -> LiveIntake:
    return LiveIntake(
        client,
        stores.queue,
        stores.state,
        processors,
        tally=worker.tally,
        on_enqueued=worker.wake,
        repos=frozenset(repos) or None,
    )


def _served(options: dict[str, Any]) -> str:
    return ", ".join(options["repo"]) or "any repository"


def _checked_repos(repos: Sequence[str]) -> tuple[str, ...]:
    for repo in repos:
        parse_repo_name(repo)
    return tuple(dict.fromkeys(repos))


@click.command("serve")
@click.option(
    "--repo",
    multiple=True,
    help="OWNER/NAME to serve and reconcile (repeat for several; none: any repository's"
    " deliveries, and no sweep).",
)
@click.option(
    "--processor",
    multiple=True,
    default=("triage",),
    show_default=True,
    help="A processor every admitted issue goes to (repeat for several).",
)
@option_flag
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--webhook-secret-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the webhook's secret (as set on the GitHub App or the hook).",
)
@click.option(
    "--reconcile",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds between sweeps for what changed while no delivery came (one on start).",
)
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Force this many in flight.")
@click.option(
    "--backend",
    envvar="AUTOISSUE_BACKEND",
    help="Where the queue, ledger and budget live: sqlite:///PATH (default:"
    " STATE_DIR/state.db) or redis://HOST:PORT/DB.",
)
@click.option(
    "--state-dir",
    default=".autoissue",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the state database is, and the command processor keeps mirrors and worktrees.",
)
@github_options
@agent_options
def serve_command(**options: Any) -> None:
    """Receive GitHub's webhooks and process issues as they are opened, edited or labelled.

    Point the webhook (or GitHub App) at http://HOST:PORT/webhook with the same secret, and
    subscribe to the Issues and Issue comment events. Credentials come from GITHUB_TOKEN or
    --app-id/--app-key-file/--installation-id, as for ``autoissue run``.
    """
    with friendly_errors():
        options["base_url"] = normalise_base_url(options["base_url"])
        options["repo"] = _checked_repos(options["repo"])
        options["backend"] = backend_dsn(options["backend"], options["state_dir"])
        secret = read_secret(options["webhook_secret_file"])
        auth = credentials(options)
        processors = build_processors(options, auth[0])
        summary = _runtime.run(
            serve(options, auth, processors, secret), spawning=spawns_processes(processors)
        )
    print_summary(summary)
    end_with_status(summary)
