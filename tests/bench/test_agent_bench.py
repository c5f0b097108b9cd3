"""The ``agent`` workload at a tiny size: every expected pull request, none twice, none lost."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue.agent import Sandbox, SandboxKind
from autoissue.agent.fake import should_fail
from autoissue.bench import AgentBenchConfig
from autoissue.bench._agent import Quota, check, open_issue_numbers, run_spawn_loop
from autoissue.cli import main
from autoissue.model import Issue
from autoissue.model._issue import PullRequestRef
from autoissue.processors import CommandProcessor

pytestmark = pytest.mark.timeout(90)


def test_the_cli_runs_the_quick_agent_bench(tmp_path: Path) -> None:
    out = tmp_path / "agent.json"
    args = [
        "bench",
        "agent",
        "--quick",
        "--issues",
        "10",
        "--json",
        str(out),
        "--markdown",
        str(tmp_path / "agent.md"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    ceiling, engine = report["results"]
    assert ceiling["contender"] == "spawn-ceiling"
    assert engine["issues"] == ceiling["issues"] == 10
    assert engine["prs_opened"] == engine["prs_expected"] == engine["prs_correct"]
    assert engine["prs_expected"] == 10 - engine["failed"]
    assert (engine["lost"], engine["duplicate_writes"], engine["prs_repeated"]) == (0, 0, 0)
    assert engine["spawn_ceiling_share"] > 0
    assert report["ratios"]["autoissue/spawn-ceiling"] == engine["spawn_ceiling_share"]
    assert report["params"]["pool_warm_start"]["p50_ms"] > 0
    assert "spawn_ceiling_share" in (tmp_path / "agent.md").read_text()
    assert "autoissue/spawn-ceiling" in result.output


def test_check_counts_missing_unexpected_and_repeated_pull_requests() -> None:
    config = AgentBenchConfig(fail_rate=0.5, seed=2)
    numbers = list(range(1, 9))
    failing = [n for n in numbers if should_fail(n, seed=2, rate=0.5)]
    passing = [n for n in numbers if n not in failing]
    assert failing
    assert passing
    pulls = [{"head": f"autoissue/bench/issue-{n}", "body": f"Closes #{n}"} for n in passing[1:]]
    pulls += [
        {"head": f"autoissue/bench/issue-{passing[-1]}", "body": None},
        {"head": f"autoissue/bench/issue-{failing[0]}", "body": "x"},
        {"head": "contrib/3-fix", "body": "Closes #3"},
    ]
    found = check(pulls, numbers, config)
    assert found == {
        "prs_opened": len(passing) + 1,
        "prs_expected": len(passing),
        "prs_correct": len(passing) - 1,
        "prs_missing": 1,
        "prs_unexpected": 1,
        "prs_repeated": 1,
    }


def test_the_quota_admits_open_issues_then_declines(tmp_path: Path) -> None:
    quota = Quota(CommandProcessor.from_preset("fake", state_dir=tmp_path), 2)
    issue = Issue(number=1, title="t", state="open", updated_at="x")
    pull = Issue(number=2, title="t", state="open", updated_at="x", pull_request=PullRequestRef())
    assert quota.select(pull) is None
    assert [quota.select(issue) is not None for _ in range(3)] == [True, True, False]
    assert "2/2" in repr(quota)
    state = {
        "issues": [
            {"number": 3, "state": "open", "is_pull_request": False},
            {"number": 1, "state": "closed", "is_pull_request": False},
            {"number": 2, "state": "open", "is_pull_request": True},
            {"number": 4, "state": "open", "is_pull_request": False},
        ]
    }
    assert open_issue_numbers(state, 5) == [3, 4]
    assert open_issue_numbers(state, 1) == [3]


class ExitsByNumber(AgentBenchConfig):
    """An agent whose exit code the seed does not predict: every third issue fails."""

    def agent_argv(self) -> tuple[str, ...]:
        code = "import os, sys; sys.exit(int(os.environ['AUTOISSUE_ISSUE_NUMBER']) % 3 == 0)"
        return (sys.executable, "-c", code)


def test_the_spawn_ceiling_counts_failures_from_exit_codes(tmp_path: Path) -> None:
    numbers = list(range(1, 10))
    spawned = asyncio.run(run_spawn_loop(numbers, ExitsByNumber(concurrency=3), tmp_path))
    assert (spawned["failed"], spawned["finished"]) == (3, 9)
    assert spawned["seconds"] > 0


class WritesOutside(AgentBenchConfig):
    """An agent that writes beside its folder, then fails if it sees what lies there."""

    def agent_argv(self) -> tuple[str, ...]:
        code = (
            "import pathlib, sys\n"
            "outside = pathlib.Path.cwd().parent / 'escaped'\n"
            "outside.write_text('x')\n"
            "sys.exit((pathlib.Path.cwd().parent / 'secret').exists())\n"
        )
        return (sys.executable, "-c", code)


NO_BWRAP = shutil.which("bwrap") is None and os.environ.get("AUTOISSUE_REQUIRE_SANDBOX") != "1"


@pytest.mark.skipif(NO_BWRAP, reason="bubblewrap is not installed")
def test_the_spawn_ceiling_runs_each_agent_in_the_sandbox(tmp_path: Path) -> None:
    config = WritesOutside(concurrency=2, sandbox=Sandbox(kind=SandboxKind.BWRAP))
    (tmp_path / "secret").write_text("ours")
    spawned = asyncio.run(run_spawn_loop([1, 2], config, tmp_path))
    assert (spawned["failed"], spawned["finished"]) == (0, 2)
    assert not (tmp_path / "escaped").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2", "secret"]


def test_without_a_sandbox_the_same_agent_escapes(tmp_path: Path) -> None:
    config = WritesOutside(concurrency=2, sandbox=Sandbox(kind=SandboxKind.NONE))
    (tmp_path / "secret").write_text("ours")
    spawned = asyncio.run(run_spawn_loop([1], config, tmp_path))
    assert spawned["failed"] == 1
    assert (tmp_path / "escaped").read_text() == "x"
