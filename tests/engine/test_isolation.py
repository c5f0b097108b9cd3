"""Isolation is where a processor runs: pooled processors really plan in warm pool workers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoissue.concurrency import LimitChange
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.engine import Engine, EngineOptions
from autoissue.engine._isolation import Planner, default_pool_config, pool_summary
from autoissue.github import GitHubClient
from autoissue.model import Issue
from autoissue.pool import PoolConfig
from autoissue.processors import ProcessContext, ReadOnlyGitHub, Triage
from tests.engine._pooled import PlannedWhere

REPO = "acme/widgets"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo=REPO, issues=60, seed=3, latency_ms=2)) as running:
        yield running


def issue(number: int) -> Issue:
    return Issue(number=number, title=f"Issue {number}", updated_at="2026-01-01T00:00:00Z")


def context(repo: str = REPO) -> ProcessContext:
    return ProcessContext(repo=repo, github=ReadOnlyGitHub(None))  # type: ignore[arg-type]


def small_pool() -> PoolConfig:
    return PoolConfig(min_workers=1, max_workers=2, preload=("tests.engine._pooled",))


def planned_by(reasons: tuple[str, ...]) -> int:
    (reason,) = reasons
    return int(reason.removeprefix("pid "))


async def test_an_inline_processor_is_awaited_here_and_starts_no_pool() -> None:
    planner = Planner(small_pool())
    plan = await planner.plan(Triage(), issue(1), context())
    assert plan.issue == 1
    assert planner.statistics() is None
    assert pool_summary(planner.statistics()) == {}
    await planner.aclose()


async def test_a_pooled_processor_plans_in_worker_processes_prepared_once_per_repo() -> None:
    planner = Planner(small_pool())
    processor = PlannedWhere()
    try:
        plans = await asyncio.gather(
            *(planner.plan(processor, issue(n), context()) for n in range(8))
        )
        other = await planner.plan(processor, issue(1), context("acme/gadgets"))
    finally:
        await planner.aclose()
    pids = {planned_by(plan.reasons) for plan in plans}
    assert os.getpid() not in pids
    assert processor.prepared == [REPO, "acme/gadgets"]
    assert other.repo == "acme/gadgets"
    stats = planner.statistics()
    assert stats is not None
    assert sum(stats.completed_by_pid.values()) == stats.completed == 9
    assert set(stats.completed_by_pid) >= pids
    summary = pool_summary(stats)
    assert summary["tasks"] == 9
    assert sum(summary["tasks_by_pid"].values()) == 9


async def test_the_pool_follows_the_controllers_limit_within_its_cores() -> None:
    planner = Planner(small_pool(), limit=1)
    try:
        await planner.plan(PlannedWhere(), issue(1), context())
        stats = planner.statistics()
        assert stats is not None
        assert stats.limit == 1
        planner.on_limit_change(LimitChange(time=0.0, old=1, new=64, reason="test"))
        stats = planner.statistics()
        assert stats is not None
        assert stats.limit == 2  # never more workers than max_workers
    finally:
        await planner.aclose()


def test_the_default_pool_has_a_worker_per_core_and_a_task_timeout() -> None:
    config = default_pool_config()
    assert config.max_workers == (os.cpu_count() or 1)
    assert config.task_timeout_s is not None
    assert "autoissue.processors" in config.preload


async def run_engine(emulator: Emulator, processor: Any) -> Any:
    async with GitHubClient(base_url=emulator.base_url, token="t0k3n") as client:
        await client.warm_up()  # the emulator has no limits: no pacing between writes
        engine = Engine(client, REPO, processor, options=EngineOptions(concurrency=8))
        engine.worker.planner.config = small_pool()
        return await engine.run()


async def test_a_run_plans_every_pooled_issue_in_pool_workers(emulator: Emulator) -> None:
    summary = await run_engine(emulator, PlannedWhere())
    assert summary.processed > 0
    assert summary.failed == 0
    assert summary.pool["tasks"] == summary.processed
    pids = {int(pid) for pid in summary.pool["tasks_by_pid"]}
    assert pids
    assert os.getpid() not in pids
    assert summary.to_dict()["pool"]["tasks_by_pid"] == summary.pool["tasks_by_pid"]


async def test_a_worker_killed_mid_task_loses_nothing(tmp_path: Path) -> None:
    config = EmulatorConfig(repo=REPO, issues=30, seed=4, latency_ms=2)
    with run_in_thread(config) as emulator:
        summary = await run_engine(emulator, PlannedWhere(crash_once=tmp_path))
        stats = emulator.stats()
        labelled = [
            item["number"]
            for item in emulator.state()["repos"][0]["issues"]
            if "seen" in item["labels"]
        ]
    assert (tmp_path / "crashed").exists()
    assert summary.pool["crashes"] == 1
    assert summary.requeued == 1  # the crashed issue went back to the queue, then through
    assert summary.failed == 0
    assert 2 in labelled
    assert len(labelled) == summary.processed
    assert stats["duplicate_writes"] == 0


async def test_a_plan_cancelled_while_the_pool_starts_leaves_no_process_behind() -> None:
    import psutil  # noqa: PLC0415 - only this test counts processes

    before = {child.pid for child in psutil.Process().children(recursive=True)}
    planner = Planner(small_pool())
    planning = asyncio.create_task(planner.plan(PlannedWhere(), issue(1), context()))
    await asyncio.sleep(0)  # the pool is asked for; its start runs in a thread
    for _ in range(3):
        await asyncio.sleep(0)
    planning.cancel()
    await asyncio.gather(planning, return_exceptions=True)
    await planner.aclose()
    after = {child.pid for child in psutil.Process().children(recursive=True)}
    assert after - before == set()
