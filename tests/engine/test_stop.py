"""Stopping a run: no new work, the work in flight finishes and is settled, the rest waits."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoissue.backend import open_backend
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.engine import Engine, EngineOptions
from autoissue.engine._work import WorkItem, message_for
from autoissue.model import Issue, Plan, Priority
from autoissue.processors import ProcessContext
from autoissue.queue import MemoryQueue
from tests.engine.test_dispatch import Busy, offline, pages

ROOT = Path(__file__).resolve().parents[2]


class Stopper(Busy):
    """Asks its engine to stop once it has seen ``after`` issues."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after
        self.engine: Engine | None = None

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        if len(self.seen) + 1 == self.after and self.engine is not None:
            self.engine.request_stop()
        return await super().process(issue, context)


def stopped_after(after: int, queue: MemoryQueue) -> Engine:
    """An offline run over 200 issues that asks itself to stop at its ``after``-th."""
    stopper = Stopper(after=after)
    engine = Engine(
        offline(),
        "o/r",
        stopper,
        options=EngineOptions(dry_run=True, concurrency=4),
        pages=pages(200, size=50),
        queue=queue,
    )  # type: ignore[arg-type]
    stopper.engine = engine
    return engine


async def test_a_stopped_run_settles_what_it_started_and_leaves_the_rest_queued() -> None:
    queue = MemoryQueue()
    summary = await stopped_after(12, queue).run()
    assert 12 <= summary.processed < 200
    stats = await queue.statistics()
    assert stats.in_flight == 0  # everything started was acked
    assert stats.waiting > 0  # the rest waits for the next run
    assert summary.processed + stats.waiting <= summary.listed


async def test_a_run_stopped_while_its_listing_waits_on_a_full_queue_ends_at_once() -> None:
    # The listing waits for room that no one makes once the worker stops: the pages it holds
    # are listed again by the next run, not drained for the pipeline's 30 s.
    queue = MemoryQueue(max_depth=8)
    summary = await asyncio.wait_for(stopped_after(12, queue).run(), 10)
    assert summary.interrupted == "stop requested"
    assert 12 <= summary.processed < 200
    assert (await queue.statistics()).in_flight == 0


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(repo="acme/widgets", issues=800, seed=4, latency_ms=30)
    with run_in_thread(config) as running:
        yield running


def labelled(emulator: Emulator) -> int:
    items: list[dict[str, Any]] = emulator.state()["repos"][0]["issues"]
    return sum(any(name.startswith("priority:") for name in item["labels"]) for item in items)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("stop", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_a_signal_finishes_the_issues_in_flight_and_a_rerun_does_the_rest(
    emulator: Emulator, tmp_path: Path, stop: signal.Signals, status: int
) -> None:
    argv = [
        sys.executable,
        "-m",
        "autoissue",
        "run",
        "--repo",
        "acme/widgets",
        "--base-url",
        emulator.base_url,
        "--state-dir",
        str(tmp_path),
        "--quiet",
        "--concurrency",
        "8",
    ]
    env = {**os.environ, "GITHUB_TOKEN": "t0k3n"}
    seeded = labelled(emulator)  # some issues come with priority labels already
    first = await asyncio.to_thread(start, argv, env)
    await asyncio.to_thread(wait_for, lambda: labelled(emulator) >= seeded + 50)
    first.send_signal(stop)
    out, err = await asyncio.to_thread(first.communicate, None, 60)
    assert first.returncode == status, err.decode()[-2000:]
    assert b"finishing the issues in flight" in err
    assert b"still queued - rerun to resume" in out.replace("—".encode(), b"-")
    assert b"summary saved to" in out
    stopped_at = labelled(emulator)
    rerun = await asyncio.to_thread(
        subprocess.run, argv, cwd=ROOT, env=env, capture_output=True, timeout=90, check=False
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert labelled(emulator) > stopped_at
    assert emulator.stats()["duplicate_writes"] == 0


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 60
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


async def _leave_queued(dsn: str, count: int) -> None:
    async with open_backend(dsn) as stores:
        items = [
            WorkItem(
                "acme/widgets",
                "triage",
                Issue(number=n, title="x", state="open", updated_at="2020"),
            )
            for n in range(1, count + 1)
        ]
        await stores.queue.put_many([message_for(item, Priority.LOW) for item in items])


@pytest.mark.timeout(120)
async def test_sigterm_stops_a_worker_gracefully_with_its_summary_and_report(
    emulator: Emulator, tmp_path: Path
) -> None:
    dsn = f"sqlite:///{tmp_path / 'state.db'}"
    await _leave_queued(dsn, 600)
    report = tmp_path / "worker.json"
    argv = [
        *(sys.executable, "-m", "autoissue", "worker", "--backend", dsn),
        *("--base-url", emulator.base_url, "--state-dir", str(tmp_path), "--concurrency", "4"),
        *("--quiet", "--report-json", str(report)),
    ]
    seeded = labelled(emulator)
    worker = await asyncio.to_thread(start, argv, {**os.environ, "GITHUB_TOKEN": "t0k3n"})
    await asyncio.to_thread(wait_for, lambda: labelled(emulator) >= seeded + 20)
    worker.send_signal(signal.SIGTERM)
    out, err = await asyncio.to_thread(worker.communicate, None, 60)
    assert worker.returncode == 143, err.decode()[-2000:]
    assert b"still queued - rerun to resume" in out.replace("\u2014".encode(), b"-")
    assert json.loads(report.read_text())["summary"]["interrupted"] == "SIGTERM"
