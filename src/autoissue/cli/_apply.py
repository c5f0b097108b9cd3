"""``autoissue apply PLANS``: apply a saved plan file, re-queueing issues changed since."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from autoissue import _runtime
from autoissue.cli._errors import friendly_errors
from autoissue.cli._github import Auth, connected, credentials, github_options
from autoissue.engine import ApplySummary, PlanApplier, open_backend, read_plans
from autoissue.github import (
    normalise_base_url,
)
from autoissue.model import Plan

__all__ = ["apply_command"]


async def apply_plans(plans: list[Plan], base_url: str, auth: Auth, backend: str) -> ApplySummary:
    """Apply ``plans`` through ``backend``'s ledger; changed issues go to its queue."""
    async with connected(base_url, auth, backend) as client, open_backend(backend) as stores:
        return await PlanApplier(client, stores.state, stores.queue).apply(plans)


@click.command("apply")
@click.argument("plans", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--backend",
    envvar="AUTOISSUE_BACKEND",
    default="sqlite:///.autoissue/state.db",
    show_default=True,
    help="Where the ledger and the queue live (the run's backend).",
)
@github_options
def apply_command(plans: Path, base_url: str, backend: str, **options: Any) -> None:
    """Apply a plan file saved by ``autoissue run --dry-run --plan-out PLANS``.

    Each issue is read again first: a plan whose issue changed since it was made is not
    applied but re-queued, for the next ``autoissue run`` or ``autoissue worker`` to plan
    afresh. Plans already applied (by an earlier apply) are skipped.
    """
    with friendly_errors():
        loaded = read_plans(plans)
        auth = credentials(options)
        summary = _runtime.run(apply_plans(loaded, normalise_base_url(base_url), auth, backend))
    click.echo(json.dumps(summary.to_dict(), indent=2))
    if summary.failed:
        raise SystemExit(1)
