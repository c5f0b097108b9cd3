"""The engine on a durable backend: resumable after SIGKILL, shareable by several workers.

Effects are counted in the emulator (comments carrying the commenter's marker, the ``seen``
label, the emulator's own duplicate-write counter), not in the queue's bookkeeping.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from autoissue.backend import open_backend
from autoissue.cli import main
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.engine import Engine, EngineOptions
from autoissue.engine._work import WorkItem, message_for
from autoissue.engine._writeback import comment_marker
from autoissue.github import GitHubClient
from autoissue.model import Priority, decode_issue
from tests.engine._commenter import Commenter

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/widgets"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo=REPO, issues=120, seed=5, latency_ms=15)) as running:
        yield running


def eligible(emulator: Emulator) -> list[dict[str, Any]]:
    """The open issues the commenter must see: not pull requests, not locked, no skip label."""
    items: list[dict[str, Any]] = emulator.state()["repos"][0]["issues"]
    skip = {"wontfix", "duplicate", "invalid"}
    return [
        item
        for item in items
        if item["state"] == "open"
        and not item["is_pull_request"]
        and not item["locked"]
        and not skip & set(item["labels"])
    ]


def assert_exactly_once(emulator: Emulator) -> None:
    issues = eligible(emulator)
    assert issues
    for item in issues:
        marker = comment_marker("commenter", item["number"], "main")
        ours = [c for c in item["comments"] if marker in c["body"]]
        assert len(ours) == 1, f"#{item['number']} has {len(ours)} comments of ours"
        assert "seen" in item["labels"]
    assert emulator.stats()["duplicate_writes"] == 0


def spawn(base_url: str, dsn: str, role: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tests.engine._engine_process", base_url, dsn, role]
    return subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.PIPE)


def seen(emulator: Emulator) -> int:
    return sum("seen" in item["labels"] for item in eligible(emulator))


def wait_until_seen(emulator: Emulator, count: int) -> None:
    # Polls the emulator (in its own thread) until the victim has done some of the work.
    deadline = time.monotonic() + 60
    while seen(emulator) < count and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.timeout(120)
async def test_a_run_killed_mid_way_is_resumed_without_a_duplicate(
    emulator: Emulator, tmp_path: Path
) -> None:
    dsn = f"sqlite:///{tmp_path / 'state.db'}"
    victim = spawn(emulator.base_url, dsn, "run")
    await asyncio.to_thread(wait_until_seen, emulator, 15)
    victim.send_signal(signal.SIGKILL)
    await asyncio.to_thread(victim.communicate, None, 10)
    done_before = seen(emulator)
    assert 15 <= done_before < len(eligible(emulator))  # killed mid-way, for real
    resumed = spawn(emulator.base_url, dsn, "run")
    _, stderr = await asyncio.to_thread(resumed.communicate, None, 90)
    assert resumed.returncode == 0, stderr.decode()
    assert_exactly_once(emulator)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_a_worker_shares_a_run_and_nothing_is_done_twice(
    emulator: Emulator, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    dsn = (
        f"sqlite:///{tmp_path / 'state.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    helper = spawn(emulator.base_url, dsn, "worker")
    async with (
        GitHubClient(base_url=emulator.base_url, token="t0k3n") as client,
        open_backend(dsn) as stores,
    ):
        await client.warm_up()
        engine = Engine(
            client,
            REPO,
            Commenter(),
            options=EngineOptions(concurrency=1),
            queue=stores.queue,
            state=stores.state,
        )
        summary = await engine.run()
    _, stderr = await asyncio.to_thread(helper.communicate, None, 60)
    assert helper.returncode == 0, stderr.decode()
    assert_exactly_once(emulator)
    assert summary.processed < len(eligible(emulator))  # the worker really took a share


async def test_a_rerun_skips_what_the_ledger_says_is_done(
    emulator: Emulator, tmp_path: Path
) -> None:
    dsn = f"sqlite:///{tmp_path / 'state.db'}"
    async with (
        GitHubClient(base_url=emulator.base_url, token="t0k3n") as client,
        open_backend(dsn) as stores,
    ):
        await client.warm_up()
        first = await Engine(
            client, REPO, Commenter(), queue=stores.queue, state=stores.state
        ).run()
        again = await Engine(
            client, REPO, Commenter(), queue=stores.queue, state=stores.state
        ).run()
    assert first.processed == len(eligible(emulator))
    assert again.processed == 0
    assert again.writes == 0
    assert again.skipped["already processed"] == first.processed
    assert_exactly_once(emulator)


def test_the_worker_command_drains_a_backend(emulator: Emulator, tmp_path: Path) -> None:
    dsn = f"sqlite:///{tmp_path / 'state.db'}"
    raw = emulator.state()["repos"][0]["issues"][0]

    async def enqueue() -> None:
        async with GitHubClient(base_url=emulator.base_url, token="t0k3n") as client:
            issue = decode_issue(
                (await client.request("GET", f"/repos/{REPO}/issues/{raw['number']}")).body
            )
        async with open_backend(dsn) as stores:
            await stores.queue.put_many(
                [message_for(WorkItem(REPO, "triage", issue), Priority.HIGH)]
            )

    asyncio.run(enqueue())
    result = CliRunner().invoke(
        main,
        [
            *("worker", "--backend", dsn, "--base-url", emulator.base_url),
            *("--idle-exit", "0", "--state-dir", str(tmp_path)),
        ],
        env={"GITHUB_TOKEN": "t0k3n"},
    )
    assert result.exit_code == 0, result.output
    labels = emulator.state()["repos"][0]["issues"][0]["labels"]
    assert any(label.startswith("priority:") for label in labels)
