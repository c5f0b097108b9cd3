from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from autoissue.cli import main
from autoissue.cli._scan import ledger_dsn, print_report
from autoissue.cli._terminal import printable
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.github import RateLimitInfo
from autoissue.model import Issue, Priority, decode_plan
from autoissue.scan import ScanEntry, ScanReport
from autoissue.scan._forecast import Budget, CallTally, Measured, forecast
from autoissue.selection import complexity

REPO = "acme/widgets"
TOKEN = "s3cr3t-t0ken"
HOSTILE = "[bold red]pwned[/] \x1b[31mred\x1b[0m \u202eevil"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo=REPO, issues=120, seed=4)) as running:
        edit(running, 2, {"title": HOSTILE, "labels": ["p0"], "state": "open"})
        yield running


def edit(emulator: Emulator, number: int, fields: dict[str, Any]) -> None:
    url = f"{emulator.base_url}/_emulator/issues/{REPO}/{number}"
    data = json.dumps(fields).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


def invoke(emulator: Emulator, *args: str, token: str = TOKEN) -> Result:
    argv = ["scan", "--repo", REPO, "--base-url", emulator.base_url, *args]
    env = {"GITHUB_TOKEN": token, "COLUMNS": "250"}
    return CliRunner().invoke(main, argv, env=env, catch_exceptions=False)


def test_the_table_shows_untrusted_titles_literally(emulator: Emulator, tmp_path: Path) -> None:
    result = invoke(emulator, "--state-dir", str(tmp_path), "--limit", "5")
    assert result.exit_code == 0, result.output
    assert "[bold red]pwned[/]" in result.output
    assert "\\x1b[31mred\\x1b[0m" in result.output
    assert "\\u202eevil" in result.output
    assert "\x1b" not in result.output
    assert "\u202e" not in result.output
    assert "shown: --limit 0 shows all)" in result.output
    assert "binding constraint" in result.output
    assert "no rate limits" in result.output
    assert TOKEN not in result.output


def test_json_is_for_scripts(emulator: Emulator, tmp_path: Path) -> None:
    result = invoke(emulator, "--state-dir", str(tmp_path), "--format", "json", "--limit", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["listed"] == data["admitted"] + sum(data["skipped"].values())
    assert len(data["issues"]) == 3
    first = data["issues"][0]
    assert (first["number"], first["title"], first["priority"]) == (2, HOSTILE, "critical")
    assert first["priority_reason"] == "label 'p0'"
    assert TOKEN not in result.output
    every = invoke(emulator, "--state-dir", str(tmp_path), "--format", "json", "--limit", "0")
    whole = json.loads(every.output)
    writes = sum(entry["calls"] for entry in whole["issues"])
    assert 0 < writes <= whole["admitted"]  # one labels call at most: some are labelled already
    assert whole["forecast"]["calls"] == 1 + 1 + whole["pages"] + writes


def test_the_ledger_of_an_earlier_run_is_read(emulator: Emulator, tmp_path: Path) -> None:
    run = ["run", "--repo", REPO, "--base-url", emulator.base_url, "--state-dir", str(tmp_path)]
    ran = CliRunner().invoke(main, [*run, "--quiet"], env={"GITHUB_TOKEN": TOKEN})
    assert ran.exit_code == 0, ran.output
    result = invoke(emulator, "--state-dir", str(tmp_path), "--format", "json", "--limit", "0")
    data = json.loads(result.output)
    assert data["admitted"] == 0
    assert data["skipped"]["already processed"] > 50
    assert data["forecast"]["writes"] == 0


def test_a_missing_token_is_one_clear_line(emulator: Emulator) -> None:
    result = invoke(emulator, token="")
    assert result.exit_code == 1
    assert "GITHUB_TOKEN is not set" in result.output


def test_the_ledger_is_the_backend_or_an_existing_state_file(tmp_path: Path) -> None:
    assert ledger_dsn(tmp_path, "redis://h/0") == "redis://h/0"
    assert ledger_dsn(tmp_path, None) is None  # a scan never creates one
    (tmp_path / "state.db").touch()
    assert ledger_dsn(tmp_path, None) == f"sqlite:///{tmp_path / 'state.db'}"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain [b]title[/b]", "plain [b]title[/b]"),
        ("a\x00b\nc\x7f\x9b", "a\\x00b\\x0ac\\x7f\\x9b"),
        ("rtl \u202e and \u2028", "rtl \\u202e and \\u2028"),
        ("x" * 100, "x" * 79 + "…"),
    ],
)
def test_printable_escapes_controls_and_truncates(text: str, shown: str) -> None:
    assert printable(text) == shown


def report_with(budget: Budget) -> ScanReport:
    issue = Issue(number=3, title="[link=http://x]click[/link]", state="open", updated_at="x")
    entry = ScanEntry(
        number=3,
        title=issue.title,
        position=0,
        priority=Priority.LOW,
        priority_reason="no priority label or word",
        complexity=complexity(issue),
    )
    calls = CallTally({"GET /repos/{owner}/{repo}/issues": 1})
    result = forecast(calls, budget, Measured(), now=0.0)
    return ScanReport(
        repo=REPO,
        processor="triage",
        entries=(entry,),
        pages=1,
        processor_reads=0,
        forecast=result,
    )


def test_a_report_reads_as_a_scan_of_one_repository() -> None:
    data = report_with(Budget(limited=False)).to_dict()
    assert data["repo"] == REPO
    assert data["repos"] == [REPO]
    assert data["by_repo"] == [
        {"repo": REPO, "listed": 1, "admitted": 1, "skipped": {}, "calls": 0}
    ]
    assert [issue["number"] for issue in data["issues"]] == [3]


@pytest.mark.parametrize(
    ("budget", "line"),
    [
        (Budget(limited=True), "unknown: GitHub's documented 5,000 an hour assumed"),
        (Budget(limited=False), "none: the server has no rate limits"),
        (
            Budget(limited=True, core=RateLimitInfo(5_000, 4_321, 679, 3_600.0)),
            "4,321 of 5,000 left",
        ),
    ],
)
def test_the_forecast_says_what_it_knows_of_the_budget(budget: Budget, line: str) -> None:
    console = Console(record=True, width=200)
    print_report(report_with(budget), limit=None, console=console)
    text = console.export_text()
    assert line in text
    assert "[link=http://x]click[/link]" in text


def test_scan_previews_the_capped_run_that_run_settings_describe(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = '[run]\nmax_issues = 4\npriorities = ["critical", "high"]\nmax_complexity = 0.9\n'
    (tmp_path / "autoissue.toml").write_text(settings)
    scanned = invoke(emulator, "--state-dir", str(tmp_path), "--format", "json", "--limit", "0")
    assert scanned.exit_code == 0, scanned.output
    data = json.loads(scanned.output)
    admitted = [entry["number"] for entry in data["issues"] if entry["admitted"]]
    assert len(admitted) == 4
    assert data["skipped"]["cap reached"] > 0
    assert any(reason.endswith("not targeted") for reason in data["skipped"])
    plans = tmp_path / "plans.jsonl"
    argv = ["run", "--repo", REPO, "--base-url", emulator.base_url, "--dry-run", "--quiet"]
    env = {"GITHUB_TOKEN": TOKEN}
    ran = CliRunner().invoke(main, [*argv, "--plan-out", str(plans)], env=env)
    assert ran.exit_code == 0, ran.output
    planned = [decode_plan(line).issue for line in plans.read_bytes().splitlines()]
    assert sorted(planned) == sorted(admitted)


def test_scan_takes_the_runs_selection_flags(emulator: Emulator, tmp_path: Path) -> None:
    args = ("--state-dir", str(tmp_path), "--format", "json", "--limit", "0")
    result = invoke(emulator, *args, "--priority", "critical", "--max-issues", "1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [entry["priority"] for entry in data["issues"] if entry["admitted"]] == ["critical"]
    assert data["admitted"] == 1
