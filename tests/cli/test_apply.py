"""Dry run, an edit, then apply: the edited issue is re-queued, never overwritten."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from autoissue.backend import open_backend
from autoissue.cli import main
from autoissue.emulator import Emulator
from autoissue.engine._work import WorkItem, message_for
from autoissue.model import Issue, Priority, decode_plan, priority_from_labels


def state(emulator: Emulator) -> dict[int, dict[str, Any]]:
    with urllib.request.urlopen(emulator.base_url + "/_emulator/state") as answer:
        items = json.load(answer)["repos"][0]["issues"]
    return {item["number"]: item for item in items}


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(main, args, env={"GITHUB_TOKEN": "t0ken"}, catch_exceptions=False)


def edit_title(emulator: Emulator, number: int) -> None:
    body = json.dumps({"title": "Edited meanwhile: crash on start"}).encode()
    request = urllib.request.Request(
        f"{emulator.base_url}/repos/acme/widgets/issues/{number}",
        data=body,
        method="PATCH",
        headers={"Authorization": "token t0ken", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


def test_dry_run_then_apply_requeues_what_changed(fresh_emulator: Emulator, tmp_path: Path) -> None:
    plans = tmp_path / "plans.jsonl"
    backend = f"sqlite:///{tmp_path / 'state.db'}"
    base = ["--base-url", fresh_emulator.base_url]
    common = [*base, "--backend", backend]
    dry = invoke(
        [
            "run",
            "--repo",
            "acme/widgets",
            *common,
            "--dry-run",
            "--plan-out",
            str(plans),
            "--state-dir",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert dry.exit_code == 0, dry.output
    written = [decode_plan(line) for line in plans.read_bytes().splitlines()]
    with_writes = [plan for plan in written if plan.actions]
    untouched = state(fresh_emulator)
    assert all(plan.actions for plan in written if untouched[plan.issue]["labels"] == [])
    edited = with_writes[0].issue
    edit_title(fresh_emulator, edited)

    applied = invoke(["apply", str(plans), *common, "--json"])
    assert applied.exit_code == 0, applied.output
    summary = json.loads(applied.output)
    assert summary["requeued"] == 1
    assert summary["applied"] == len(written) - 1
    after = state(fresh_emulator)
    assert after[edited]["labels"] == untouched[edited]["labels"]  # not overwritten
    for plan in with_writes[1:]:
        assert plan.labels_to_add <= set(after[plan.issue]["labels"])

    again = json.loads(invoke(["apply", str(plans), *common, "--json"]).output)
    assert again["already_applied"] == len(written) - 1  # nothing is applied twice

    drained = invoke(
        ["worker", "--backend", backend, *base, "--idle-exit", "0", "--state-dir", str(tmp_path)]
    )
    assert drained.exit_code == 0, drained.output
    relabelled = state(fresh_emulator)[edited]["labels"]
    assert priority_from_labels(relabelled) is not None
    assert asyncio.run(unfinished(backend)) == 0  # the worker planned the re-queued one afresh


async def unfinished(backend: str) -> int:
    async with open_backend(backend) as stores:
        return (await stores.queue.statistics()).unfinished


def test_a_bad_plan_file_is_refused_before_anything_is_done(tmp_path: Path) -> None:
    plans = tmp_path / "plans.jsonl"
    plans.write_text('{"processor": "triage"}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["apply", str(plans)], env={"GITHUB_TOKEN": "t"})
    assert result.exit_code != 0
    assert "plans.jsonl:1: not a plan" in result.output


def test_a_dry_run_leaves_real_queued_work_alone(fresh_emulator: Emulator, tmp_path: Path) -> None:
    backend = f"sqlite:///{tmp_path / 'state.db'}"
    issue = Issue(number=99_999, title="left by a killed run", state="open", updated_at="u")

    async def leave_work() -> int:
        async with open_backend(backend) as stores:
            await stores.queue.put_many(
                [message_for(WorkItem("acme/widgets", "triage", issue), Priority.LOW)]
            )
            return (await stores.queue.statistics()).waiting

    assert asyncio.run(leave_work()) == 1
    where = ["--backend", backend, "--state-dir", str(tmp_path)]
    dry = invoke(
        [
            "run",
            "--repo",
            "acme/widgets",
            "--base-url",
            fresh_emulator.base_url,
            *where,
            "--dry-run",
            "--quiet",
        ]
    )
    assert dry.exit_code == 0, dry.output

    async def waiting() -> int:
        async with open_backend(backend) as stores:
            return (await stores.queue.statistics()).waiting

    assert asyncio.run(waiting()) == 1
