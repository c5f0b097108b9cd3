"""The command processor end to end, through ``autoissue run`` in a real process.

Two hundred emulator issues, the bundled fake agent, real worktrees and pushes; the run is
SIGKILLed mid-way and started again. Every eligible issue ends with exactly one pull request on
its really pushed branch, an issue that already had a pull request is left alone, and the
emulator counts no duplicate write.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoissue.agent._leftovers import STAGING
from autoissue.agent._worktree import PRUNE_EVERY
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from tests.emulator.conftest import push_branch

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/widgets"
FAST_AGENT = ("--sleep-min=0", "--sleep-max=0.05", "--alloc-mb=1", "--fail-rate=0")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo=REPO, issues=200, seed=8, latency_ms=5)) as running:
        yield running


def snapshot(emulator: Emulator) -> dict[str, Any]:
    repos: list[dict[str, Any]] = emulator.state()["repos"]
    return repos[0]


def eligible(emulator: Emulator) -> list[int]:
    skip = {"wontfix", "duplicate", "invalid"}
    return [
        item["number"]
        for item in snapshot(emulator)["issues"]
        if item["state"] == "open"
        and not item["is_pull_request"]
        and not item["locked"]
        and not skip & set(item["labels"])
    ]


def ours(emulator: Emulator) -> list[dict[str, Any]]:
    pulls: list[dict[str, Any]] = snapshot(emulator)["pulls"]
    return [pull for pull in pulls if pull["head"].startswith("autoissue/command/")]


def run(emulator: Emulator, state_dir: Path) -> subprocess.Popen[bytes]:
    agent_args = [f"--agent-arg={arg}" for arg in FAST_AGENT]
    argv = [
        sys.executable,
        "-m",
        "autoissue",
        "run",
        "--repo",
        REPO,
        "--base-url",
        emulator.base_url,
        "--processor",
        "command",
        "--agent",
        "fake",
        *agent_args,
        "--concurrency",
        "8",
        "--state-dir",
        str(state_dir),
        "--quiet",
        "--pr-label",
        "automated",
    ]
    env = {**os.environ, "GITHUB_TOKEN": "t0k3n"}
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_pulls(emulator: Emulator, count: int) -> None:
    deadline = time.monotonic() + 90
    while len(ours(emulator)) < count and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.timeout(240)
async def test_pull_requests_once_each_across_a_kill_and_a_rerun(
    emulator: Emulator, tmp_path: Path
) -> None:
    taken = eligible(emulator)[0]
    push_branch(snapshot(emulator)["clone_url"], "someone/fix", tmp_path)
    await asyncio.to_thread(open_pull, emulator, taken)

    victim = run(emulator, tmp_path / "state")
    await asyncio.to_thread(wait_for_pulls, emulator, 10)
    victim.send_signal(signal.SIGKILL)
    await asyncio.to_thread(victim.communicate, None, 10)
    before = len(ours(emulator))
    assert 10 <= before < len(eligible(emulator)) - 1  # killed mid-way, for real

    rerun = run(emulator, tmp_path / "state")
    out, err = await asyncio.to_thread(rerun.communicate, None, 180)
    assert rerun.returncode == 0, (out + err).decode()[-2000:]

    heads = [pull["head"] for pull in ours(emulator)]
    expected = {f"autoissue/command/issue-{n}" for n in eligible(emulator) if n != taken}
    assert sorted(heads) == sorted(expected)  # one each, none twice, none for the taken one
    assert all(pull["labels"] == ["automated"] for pull in ours(emulator))
    assert all(
        f"Closes #{pull['head'].rsplit('-', 1)[1]}" in pull["body"] for pull in ours(emulator)
    )
    assert emulator.stats()["duplicate_writes"] == 0
    # The rerun deleted the killed run's worktrees, and git forgot them. (A folder the kill
    # caught while it was being marked waits for a later run: the window is microseconds.)
    work = tmp_path / "state" / "work"
    assert [f.name for f in work.iterdir() if not f.name.startswith(STAGING)] == []
    mirror = tmp_path / "state" / "repos" / "acme__widgets.git"
    argv = ["git", "-C", str(mirror), "worktree", "list", "--porcelain"]
    listed = await asyncio.to_thread(subprocess.check_output, argv, text=True)
    assert listed.count("worktree ") <= PRUNE_EVERY  # the mirror, and what awaits a prune


def open_pull(emulator: Emulator, number: int) -> None:

    body = {"head": "someone/fix", "base": "main", "title": "A fix", "body": f"Fixes #{number}"}
    request = urllib.request.Request(
        f"{emulator.base_url}/repos/{REPO}/pulls",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": "token t0k3n", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 201


async def test_the_cost_cap_stops_the_agents(emulator: Emulator, tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "autoissue",
        "run",
        "--repo",
        REPO,
        "--base-url",
        emulator.base_url,
        "--processor",
        "command",
        "--agent",
        "fake",
        *[f"--agent-arg={arg}" for arg in (*FAST_AGENT, "--cost=0.4")],
        "--concurrency",
        "1",
        "--max-cost-usd",
        "1",
        "--state-dir",
        str(tmp_path),
        "--quiet",
        "--report-json",
        str(tmp_path / "report.json"),
    ]
    env = {**os.environ, "GITHUB_TOKEN": "t0k3n"}
    done = await asyncio.to_thread(
        subprocess.run, argv, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert summary["processed"] == 3  # 0.4 + 0.4 + 0.4 reaches the cap of 1
    assert summary["cost_usd"] == pytest.approx(1.2)
    assert len(ours(emulator)) == 3
