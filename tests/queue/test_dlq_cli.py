"""``autoissue dlq``: list, show, replay and purge dead letters in a SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue.cli import main
from autoissue.engine._work import WorkItem, message_for
from autoissue.model import Issue, Priority
from autoissue.queue import ErrorKind, Message, open_queue


@pytest.fixture
def dsn(tmp_path: Path) -> str:
    dsn = f"sqlite:///{tmp_path / 'q.db'}"

    async def fill() -> None:
        async with await open_queue(dsn) as queue:
            await queue.put_many([Message(b"one", key="k1"), Message(b"two"), Message(b"ok")])
            for lease in await queue.claim_many(2):
                await queue.nack(lease.id, ErrorKind.PERMANENT, f"422 on {lease.payload!r}")

    asyncio.run(fill())
    return dsn


def dlq(dsn: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["dlq", "--backend", dsn, *args], input=stdin)
    return result.exit_code, result.output


def test_list_and_show(dsn: str) -> None:
    code, out = dlq(dsn, "list")
    assert code == 0
    header = next(line for line in out.splitlines() if "attempts" in line)
    for column in ("id", "issue", "processor", "reason", "last error", "dead at"):
        assert column in header
    rows = [line for line in out.splitlines() if "permanent" in line]
    assert len(rows) == 2
    assert "422 on b'one'" in rows[0]
    assert " - " in rows[0]  # not a work item: no issue to name
    code, out = dlq(dsn, "list", "--json", "--limit", "1")
    assert json.loads(out)["key"] == "k1"
    code, out = dlq(dsn, "show", "2")
    assert code == 0
    assert json.loads(out)["payload"] == "two"


def test_show_of_an_unknown_id_fails_clearly(dsn: str) -> None:
    code, out = dlq(dsn, "show", "3")
    assert code == 1
    assert "no dead letter with id 3" in out


def test_replay_and_purge(dsn: str) -> None:
    assert dlq(dsn, "replay", "1") == (0, "replayed 1 dead letter(s)\n")
    code, out = dlq(dsn, "purge", "--all", stdin="n\n")
    assert code == 1
    assert "Aborted" in out
    assert dlq(dsn, "purge", "--all", "--yes") == (0, "purged 1 dead letter(s)\n")
    assert dlq(dsn, "list") == (0, "no dead letters\n")
    assert dlq(dsn, "replay", "--all") == (0, "replayed 0 dead letter(s)\n")


def test_replay_needs_ids_or_all(dsn: str) -> None:
    code, out = dlq(dsn, "replay")
    assert code == 2
    assert "name some ids, or pass --all" in out


def test_a_bad_backend_is_one_clear_line(tmp_path: Path) -> None:
    code, out = dlq("mysql://x", "list")
    assert code == 1
    assert "unknown scheme" in out


def test_list_names_each_work_items_issue_and_shows_hostile_titles_inert(tmp_path: Path) -> None:
    dsn = f"sqlite:///{tmp_path / 'items.db'}"
    issue = Issue(number=34, title="\x1b[2J\u202eboom", state="open", updated_at="2020")

    async def fill() -> None:
        async with await open_queue(dsn) as queue:
            await queue.put_many(
                [message_for(WorkItem("acme/widgets", "triage", issue), Priority.HIGH)]
            )
            (lease,) = await queue.claim_many(1)
            await queue.nack(lease.id, ErrorKind.PERMANENT, "422 \x1b[31mred\u202e")

    asyncio.run(fill())
    code, out = dlq(dsn, "list")
    assert code == 0
    assert "acme/widgets#34" in out
    assert "triage" in out
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\\x1b[31mred" in out.replace("\n", "").replace(" ", "")
