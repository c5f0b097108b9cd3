"""``autoissue dlq list|show|replay|purge``: inspect and act on the dead letters."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from rich.console import Console
from rich.table import Table

from autoissue._dsn import DEFAULT_DSN
from autoissue._exceptions import CorruptItemError
from autoissue.cli._errors import friendly_errors
from autoissue.cli._terminal import cell
from autoissue.engine import decode_item
from autoissue.queue import DeadLetter, Queue, open_queue

__all__ = ["dlq_command"]

T = TypeVar("T")
_PIPED_WIDTH = 240


def _with_queue(dsn: str, action: Callable[[Queue], Awaitable[T]]) -> T:
    async def run() -> T:
        queue = await open_queue(dsn)
        try:
            return await action(queue)
        finally:
            await queue.close()

    with friendly_errors():
        return asyncio.run(run())


def _readable(payload: bytes) -> object:
    """A work item as JSON-ready data; anything else as text, as far as it decodes."""
    try:
        item = decode_item(payload)
    except CorruptItemError:
        return payload.decode("utf-8", errors="replace")
    return {
        "repo": item.repo,
        "processor": item.processor,
        "issue": item.issue.number,
        "title": item.issue.title,
        "updated_at": item.issue.updated_at,
    }


def _summary(letter: DeadLetter) -> dict[str, object]:
    return {
        "id": letter.id,
        "key": letter.key,
        "priority": letter.priority.name.lower(),
        "attempts": letter.attempts,
        "reason": letter.reason,
        "last_error": letter.last_error,
        "dead_at": letter.dead_at,
        "payload_bytes": len(letter.payload),
    }


@click.group("dlq")
@click.option(
    "--backend",
    default=DEFAULT_DSN,
    show_default=True,
    envvar="AUTOISSUE_BACKEND",
    help="memory://, sqlite:///path.db or redis://host:port/db?prefix=…",
)
@click.pass_context
def dlq_command(ctx: click.Context, backend: str) -> None:
    """Inspect, replay or purge the queue's dead letters."""
    ctx.obj = backend


@dlq_command.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def list_command(dsn: str, limit: int, as_json: bool) -> None:
    """List the oldest dead letters."""
    letters = _with_queue(dsn, lambda queue: queue.dead_letters(limit))
    if as_json:
        for letter in letters:
            click.echo(json.dumps(_summary(letter)))
    elif letters:
        console = Console()
        if not console.is_terminal:
            console.width = _PIPED_WIDTH  # one line per letter for grep, not 80 folded columns
        console.print(letters_table(letters))
    else:
        click.echo("no dead letters")


def letters_table(letters: list[DeadLetter]) -> Table:
    """The dead letters as a table with a header: which issue, why, and when."""
    table = Table(title=f"{len(letters):,} dead letter(s), oldest first")
    for name in ("id", "issue", "processor", "attempts", "reason", "last error", "dead at"):
        table.add_column(name, overflow="fold", justify="right" if name == "attempts" else "left")
    for letter in letters:
        issue, processor = _issue_of(letter.payload)
        table.add_row(
            cell(letter.id),
            cell(issue),
            cell(processor),
            str(letter.attempts),
            cell(letter.reason),
            cell(letter.last_error),
            _when(letter.dead_at),
        )
    return table


def _issue_of(payload: bytes) -> tuple[str, str]:
    """``OWNER/REPO#N`` and the processor of a work item; dashes for anything else."""
    try:
        item = decode_item(payload)
    except CorruptItemError:
        return "-", "-"
    return f"{item.repo}#{item.issue.number}", item.processor


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


@dlq_command.command("show")
@click.argument("item_id")
@click.pass_obj
def show_command(dsn: str, item_id: str) -> None:
    """Show one dead letter, with its work item (or its payload as text)."""
    letter = _with_queue(dsn, lambda queue: queue.dead_letter(item_id))
    if letter is None:
        raise click.ClickException(f"no dead letter with id {item_id}")
    details = _summary(letter)
    details["payload"] = _readable(letter.payload)
    click.echo(json.dumps(details, indent=2))


def _chosen(ids: tuple[str, ...], everything: bool) -> list[str] | None:
    if everything == bool(ids):
        raise click.UsageError("name some ids, or pass --all")
    return None if everything else list(ids)


@dlq_command.command("replay")
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Replay every dead letter.")
@click.pass_obj
def replay_command(dsn: str, ids: tuple[str, ...], everything: bool) -> None:
    """Put dead letters back in the queue with fresh attempts."""
    chosen = _chosen(ids, everything)
    count = _with_queue(dsn, lambda queue: queue.replay(chosen))
    click.echo(f"replayed {count} dead letter(s)")


@dlq_command.command("purge")
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Purge every dead letter.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def purge_command(dsn: str, ids: tuple[str, ...], everything: bool, yes: bool) -> None:
    """Delete dead letters for good."""
    chosen = _chosen(ids, everything)
    if not yes:
        click.confirm("Delete these dead letters for good?", abort=True)
    count = _with_queue(dsn, lambda queue: queue.purge(chosen))
    click.echo(f"purged {count} dead letter(s)")
