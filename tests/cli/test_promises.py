"""What ``autoissue run`` promises on the command line: caps that cap, counts that add up,
one line (not a traceback) when the disk or the backend fails."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from autoissue.backend import open_backend
from autoissue.cli._apply import ApplyProgress
from autoissue.cli._interrupt import exit_status
from autoissue.emulator import Emulator
from autoissue.engine._handler import SUPERSEDED
from autoissue.engine._work import WorkItem, message_for
from autoissue.model import Issue, Priority
from tests.cli.test_run import emulator_state, invoke, labels_by_issue

REPO = "acme/widgets"


def _run_args(emulator: Emulator, state_dir: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--repo",
        REPO,
        "--base-url",
        emulator.base_url,
        "--state-dir",
        str(state_dir),
        "--quiet",
        *extra,
    ]


def _summary(state_dir: Path) -> dict[str, Any]:
    (path,) = (state_dir / "runs").glob("*.json")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


async def _leave_queued(state_dir: Path, numbers: range) -> None:
    """Items a killed run left in the backend's queue, as the engine enqueues them."""
    async with open_backend(f"sqlite:///{state_dir / 'state.db'}") as stores:
        items = [
            WorkItem(REPO, "triage", Issue(number=n, title="x", state="open", updated_at="2020"))
            for n in numbers
        ]
        await stores.queue.put_many([message_for(item, Priority.LOW) for item in items])


def _changed(before: dict[str, Any], emulator: Emulator) -> set[int]:
    old, new = labels_by_issue(before), labels_by_issue(emulator_state(emulator))
    return {number for number, labels in new.items() if labels != old[number]}


def test_max_issues_caps_the_run_whatever_was_already_queued(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    asyncio.run(_leave_queued(tmp_path, range(1, 41)))
    before = emulator_state(fresh_emulator)
    result = invoke(_run_args(fresh_emulator, tmp_path, "--max-issues", "5"))
    assert result.exit_code == 0, result.output
    assert len(_changed(before, fresh_emulator)) <= 5  # the most urgent may be labelled already
    summary = _summary(tmp_path)
    # Five are started. A leftover whose issue the listing queued again at a newer version is
    # settled as superseded (the newer one waits for a later run): it is one of the five.
    superseded = summary["skipped"].get(SUPERSEDED, 0)
    assert summary["processed"] + superseded == 5
    assert summary["queued_before"] == 40


def test_the_summary_adds_up_and_its_rate_is_of_processed_issues(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    asyncio.run(_leave_queued(tmp_path, range(1, 11)))
    result = invoke(_run_args(fresh_emulator, tmp_path))
    assert result.exit_code == 0, result.output
    s = _summary(tmp_path)
    at_intake = sum(s["skipped"].values()) - s["skipped_at_work"]
    assert s["listed"] == s["enqueued"] + at_intake
    handled = s["processed"] + s["failed"] + s["skipped_at_work"]
    assert s["queued_before"] + s["enqueued"] == handled + s["still_queued"]
    assert s["elsewhere"] == 0  # no other worker shared this backend
    assert s["issues_per_s"] == round(s["processed"] / s["seconds"], 1)
    assert "queued by earlier runs" in result.output


def test_a_backend_path_that_cannot_be_created_is_one_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    backend = f"sqlite:///{blocker / 'x.db'}"
    result = invoke(_run_args(emulator, tmp_path, "--backend", backend))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: the backend is unavailable")
    assert str(blocker) in lines[0]


def test_an_etag_cache_that_cannot_be_saved_costs_a_warning_not_the_summary(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "etag-cache").write_text("a file where the cache folder goes")
    before = emulator_state(fresh_emulator)
    result = invoke(_run_args(fresh_emulator, tmp_path))
    assert result.exit_code == 0, result.output
    assert "could not save the ETag cache" in result.output
    assert "Traceback" not in result.output
    assert _summary(tmp_path)["writes"] == len(_changed(before, fresh_emulator)) > 0


def test_a_summary_that_cannot_be_saved_is_one_line_after_the_summary(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "runs").write_text("a file where the runs folder goes")
    result = invoke(_run_args(fresh_emulator, tmp_path))
    assert result.exit_code == 1
    assert "processed" in result.output  # the summary was shown first
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: could not save the summary")
    assert str(tmp_path / "runs") in last


def test_only_a_signal_changes_the_exit_status() -> None:
    assert (exit_status("SIGINT"), exit_status("SIGTERM")) == (130, 143)
    assert exit_status(None) == 0
    assert exit_status("stop requested") == 0  # a stop from code: failures still decide


def test_a_dry_run_with_nothing_to_plan_still_leaves_the_plan_file_it_names(
    emulator: Emulator, tmp_path: Path
) -> None:
    plans = tmp_path / "out" / "plans.jsonl"
    args = _run_args(emulator, tmp_path, "--dry-run", "--plan-out", str(plans))
    result = invoke([*args, "--state", "closed"])  # closed issues are listed, never planned
    assert result.exit_code == 0, result.output
    assert f"plans to {plans}" in result.output
    assert plans.read_bytes() == b""
    backend = f"sqlite:///{tmp_path / 'state.db'}"
    applied = invoke(["apply", str(plans), "--base-url", emulator.base_url, "--backend", backend])
    assert applied.exit_code == 0, applied.output


def test_apply_prints_a_table_like_run_and_json_on_request(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    plans = tmp_path / "plans.jsonl"
    backend = ["--backend", f"sqlite:///{tmp_path / 'state.db'}"]
    dry = invoke(_run_args(fresh_emulator, tmp_path, "--dry-run", "--plan-out", str(plans)))
    assert dry.exit_code == 0, dry.output
    count = len(plans.read_bytes().splitlines())
    common = [str(plans), "--base-url", fresh_emulator.base_url, *backend, "--quiet"]
    table = invoke(["apply", *common])
    assert table.exit_code == 0, table.output
    assert plans.name in table.output
    assert "already applied" in table.output
    assert "{" not in table.output
    again = json.loads(invoke(["apply", *common, "--json"]).output)
    assert again["already_applied"] + again["applied"] == count


def test_apply_shows_progress_as_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    plain = Console(file=io.StringIO(), force_terminal=False, width=100)
    with ApplyProgress(3, quiet=False, console=plain, every_s=0) as progress:
        for _ in range(3):
            progress.settled()
    assert plain.file.getvalue().splitlines()[-1] == "applying: 3/3 plans"  # type: ignore[attr-defined]
    live = Console(file=io.StringIO(), force_terminal=True, width=100)
    with ApplyProgress(2, quiet=False, console=live) as progress:
        progress.settled()
        progress.settled()
    assert "2/2" in live.file.getvalue()  # type: ignore[attr-defined]
    silent = Console(file=io.StringIO(), force_terminal=False)
    with ApplyProgress(1, quiet=True, console=silent, every_s=0) as progress:
        progress.settled()
    assert silent.file.getvalue() == ""  # type: ignore[attr-defined]


def test_vv_adds_each_issue_and_request_over_v(emulator: Emulator, tmp_path: Path) -> None:
    def stderr_of(verbosity: str) -> str:
        args = _run_args(emulator, tmp_path / verbosity, "--dry-run")
        argv = [sys.executable, "-m", "autoissue", verbosity, *args]
        env = {**os.environ, "GITHUB_TOKEN": "t0k3n"}
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    verbose, debug = stderr_of("-v"), stderr_of("-vv")
    assert " INFO " in verbose
    assert " DEBUG " not in verbose
    assert " DEBUG autoissue.engine._intake: #" in debug
    assert " DEBUG autoissue.engine._handler: #" in debug
    assert " DEBUG autoissue.github._client: GET http" in debug
    assert " DEBUG asyncio" not in debug
