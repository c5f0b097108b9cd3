from __future__ import annotations

import runpy
import sys

import pytest
from rich.console import Console

from autoissue.cli._summary import print_summary
from autoissue.engine import RunSummary


def printed(**fields: object) -> str:
    """The summary of a five-issue run, with ``fields`` changed, as the terminal shows it."""
    made = RunSummary(
        **{
            "repo": "o/r",
            "processor": "triage",
            "dry_run": False,
            "listed": 5,
            "processed": 5,
            "skipped": {},
            "failed": 0,
            "writes": 5,
            "api_calls": 6,
            "retries": 0,
            "seconds": 1.0,
            **fields,
        }
    )
    console = Console(record=True, width=100)
    print_summary(made, console)
    return console.export_text()


def test_summary_lists_the_first_failures() -> None:
    failures = [{"issue": 7, "error": "ServerError: 502 [bad]"}]
    text = printed(processed=4, failed=1, failures=failures)
    assert "#7: ServerError: 502 [bad]" in text
    assert "issues/s" in text


def test_summary_names_the_pool_workers_that_planned_issues() -> None:
    calm = printed(
        pool={"tasks": 5, "crashes": 0, "timed_out": 0, "tasks_by_pid": {"101": 3, "102": 2}}
    )
    assert "planned in pool workers" in calm
    assert "pid 101" in calm
    assert "pid 102" in calm
    assert "crashed" not in calm
    rough = printed(pool={"tasks": 5, "crashes": 1, "timed_out": 2, "tasks_by_pid": {"101": 5}})
    assert "workers crashed / timed out" in rough
    assert "1 / 2" in rough
    assert "pool workers" not in printed()


def test_python_dash_m_runs_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["autoissue", "--version"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("autoissue", run_name="__main__")
    assert exit_.value.code == 0
