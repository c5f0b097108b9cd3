"""An incremental rerun: only the issues changed since are processed, the rest costs 304s."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from autoissue.cli import main
from autoissue.emulator import Emulator

LISTINGS = ("GET /repos/{owner}/{repo}/issues", "GET /repositories/{id}/issues")


def stats(emulator: Emulator) -> dict[str, Any]:
    with urllib.request.urlopen(emulator.base_url + "/_emulator/stats") as answer:
        result: dict[str, Any] = json.load(answer)
    return result


def listing_statuses(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for route in LISTINGS:
        old = before["requests"].get(route, {})
        for status, count in after["requests"].get(route, {}).items():
            counts[status] = counts.get(status, 0) + count - old.get(status, 0)
    return {status: count for status, count in counts.items() if count}


def eligible(emulator: Emulator) -> int:
    with urllib.request.urlopen(emulator.base_url + "/_emulator/state") as answer:
        items = json.load(answer)["repos"][0]["issues"]
    return int(
        next(
            item["number"]
            for item in items
            if item["state"] == "open"
            and not item["is_pull_request"]
            and not item["locked"]
            and not {"wontfix", "duplicate", "invalid"} & set(item["labels"])
        )
    )


def edit(emulator: Emulator, number: int) -> None:
    request = urllib.request.Request(
        f"{emulator.base_url}/repos/acme/widgets/issues/{number}",
        data=json.dumps({"body": "Edited: it crashes on start with a traceback."}).encode(),
        method="PATCH",
        headers={"Authorization": "token t0ken", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


def run(emulator: Emulator, state_dir: Path) -> dict[str, Any]:
    report_path = state_dir / "last.json"
    args = [
        "run",
        "--repo",
        "acme/widgets",
        "--base-url",
        emulator.base_url,
        "--quiet",
        "--state-dir",
        str(state_dir),
        "--report-json",
        str(report_path),
    ]
    result = CliRunner().invoke(main, args, env={"GITHUB_TOKEN": "t0ken"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(report_path.read_text())["summary"]
    return summary


def test_a_rerun_touches_only_what_changed_and_lists_from_the_cache(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    first = run(fresh_emulator, tmp_path)
    assert first["processed"] > 100
    settled = run(fresh_emulator, tmp_path)  # sees the labels the first run wrote
    assert settled["processed"] == 0
    assert settled["writes"] == 0
    before = stats(fresh_emulator)
    unchanged = run(fresh_emulator, tmp_path)
    assert unchanged["processed"] == 0
    assert listing_statuses(before, stats(fresh_emulator)) == {"304": 3}  # every page cached

    # GitHub's times have whole seconds: a person's edit lands in a later second than the
    # writes of a run that finished a moment ago (the ledger keeps that second).
    time.sleep(1.1)
    edit(fresh_emulator, eligible(fresh_emulator))
    before = stats(fresh_emulator)
    incremental = run(fresh_emulator, tmp_path)
    assert incremental["processed"] == 1  # only the edited issue
    assert incremental["skipped"]["already processed"] == first["processed"] - 1
    listed = listing_statuses(before, stats(fresh_emulator))
    assert listed.get("304", 0) > listed.get("200", 0)  # paid mostly in 304s
