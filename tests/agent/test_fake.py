from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from autoissue.agent import fake

FAST = ["--sleep-min", "0", "--sleep-max", "0", "--alloc-mb", "1", "--fail-rate", "0"]


@pytest.fixture
def agent_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the fake agent in-process, in ``tmp_path``, as issue #7, with a hostile stdin."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOISSUE_ISSUE_NUMBER", "7")
    monkeypatch.setenv("AUTOISSUE_RESULT_FILE", str(tmp_path / "result.json"))
    hostile = json.dumps({"issue": {"title": "$(rm -rf /)", "body": "`reboot`"}}).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(hostile)))
    return tmp_path


def test_change_mode_writes_one_file_and_a_result(agent_env: Path) -> None:
    assert (
        fake.main([*FAST, "--label", "bug", "--title", "T", "--bytes", "5", "--cost", "0.25"]) == 0
    )
    written = (agent_env / "autoissue-fake" / "issue-7.md").read_text()
    assert written == "Issue #7 was handled.\nxxxxx"
    result = json.loads((agent_env / "result.json").read_text())
    assert result == {"labels": ["bug"], "comment": "", "title": "T", "cost_usd": 0.25}


def test_none_mode_changes_nothing(agent_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fake.main([*FAST, "--mode", "none"]) == 0
    assert not (agent_env / "autoissue-fake").exists()
    assert "nothing to change" in capsys.readouterr().out
    assert (
        "changed nothing for #7" in json.loads((agent_env / "result.json").read_text())["comment"]
    )


def test_crash_mode_exits_non_zero(agent_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fake.main([*FAST, "--mode", "crash"]) == 3
    assert "issue #7 failed" in capsys.readouterr().err


def test_without_a_result_file_it_still_works(
    agent_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTOISSUE_RESULT_FILE")
    assert fake.main(FAST) == 0
    assert not (agent_env / "result.json").exists()


def test_failures_are_reproducible_and_near_the_rate(
    agent_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = [n for n in range(1, 5001) if fake.should_fail(n, seed=3, rate=0.02)]
    assert failing == [n for n in range(1, 5001) if fake.should_fail(n, seed=3, rate=0.02)]
    assert 50 < len(failing) < 150
    number = failing[0]
    monkeypatch.setenv("AUTOISSUE_ISSUE_NUMBER", str(number))
    args = ["--sleep-min", "0", "--sleep-max", "0", "--alloc-mb", "0", "--seed", "3"]
    assert fake.main([*args, "--fail-rate", "0.02"]) == 3
