from __future__ import annotations

import runpy
import sys

import pytest
from rich.console import Console

from autoissue.cli._summary import print_summary
from autoissue.engine import RunSummary


def test_summary_lists_the_first_failures() -> None:
    summary = RunSummary(
        repo="o/r",
        processor="triage",
        dry_run=False,
        listed=2,
        processed=1,
        skipped={},
        failed=1,
        writes=1,
        api_calls=3,
        retries=1,
        seconds=0.5,
        failures=[{"issue": 7, "error": "ServerError: 502 [bad]"}],
    )
    console = Console(record=True, width=100)
    print_summary(summary, console)
    text = console.export_text()
    assert "#7: ServerError: 502 [bad]" in text
    assert "issues/s" in text


def test_python_dash_m_runs_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["autoissue", "--version"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("autoissue", run_name="__main__")
    assert exit_.value.code == 0
