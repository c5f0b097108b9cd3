"""The pool with real worker processes: results, errors, crashes, timeouts, recycling, shutdown."""

from __future__ import annotations

import asyncio
import os
import pickle
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from autoissue import PoolClosedError, PoolError, TaskTimeoutError, WorkerCrashedError
from autoissue.concurrency import LimitChange
from autoissue.model import Priority
from autoissue.pool import (
    PoolConfig,
    RecycleReason,
    RemoteTraceback,
    SharedArray,
    SharedArrays,
    WarmPool,
    WorkerState,
)
from tests.pool import _tasks
from tests.pool.conftest import SHM

T = "tests.pool._tasks"


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a real condition until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


def config(**overrides: object) -> PoolConfig:
    base: dict[str, object] = {
        "min_workers": 1,
        "max_workers": 2,
        "task_timeout_s": 5.0,
        "kill_grace_s": 0.1,
        "scale_down_delay_s": 0.2,
        "heartbeat_s": 0.05,
    }
    return PoolConfig(**(base | overrides))  # type: ignore[arg-type]


@pytest.fixture
def pool() -> Iterator[WarmPool]:
    with WarmPool(config()) as running:
        yield running


def test_runs_tasks_sync_async_and_in_batches(pool: WarmPool) -> None:
    assert pool.submit_sync(_tasks.add, 2, 3) == 5
    assert pool.map_sync(f"{T}:echo", [1, 2, 3]) == [1, 2, 3]
    assert pool.map_sync(_tasks.echo, ["a", {"b": 1}]) == ["a", {"b": 1}]
    assert pool.submit_future("math:sqrt", 16.0).result() == 4.0

    async def main() -> list[int]:
        one = await pool.submit(_tasks.add, 1, 1)
        return [one, *await pool.map(_tasks.echo, [3, 4])]

    assert asyncio.run(main()) == [2, 3, 4]
    stats = pool.statistics()
    assert stats.completed == stats.submitted == 10
    assert stats.queue_wait_p99_s >= stats.queue_wait_p50_s > 0


def test_a_worker_is_reused_between_tasks(pool: WarmPool) -> None:
    pids = {pool.submit_sync(_tasks.pid) for _ in range(5)}
    assert len(pids) == 1
    assert pids <= {p.pid for p in psutil.Process().children(recursive=True)}


def test_exceptions_carry_the_worker_traceback_and_pickle(pool: WarmPool) -> None:
    with pytest.raises(ValueError, match="boom") as caught:
        pool.submit_sync(_tasks.fail, "boom")
    cause = caught.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "raise ValueError(message)" in str(cause)
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == "boom"
    with pytest.raises(PoolError, match="unpicklable"):
        pool.submit_sync(_tasks.fail_unpicklably)
    assert pool.statistics().failed == 2
    assert pool.submit_sync(_tasks.add, 1, 2) == 3  # the worker survived both


@pytest.mark.parametrize(
    ("task", "args", "exitcode"), [("exit_hard", (3,), 3), ("kill_self", (), -9)]
)
def test_a_crash_fails_only_its_task_and_the_worker_is_replaced(
    pool: WarmPool, task: str, args: tuple[int, ...], exitcode: int
) -> None:
    before = pool.submit_sync(_tasks.pid)
    with pytest.raises(WorkerCrashedError) as caught:
        pool.submit_sync(f"{T}:{task}", *args)
    assert (caught.value.pid, caught.value.exitcode) == (before, exitcode)
    assert str(before) in str(caught.value)
    assert pool.submit_sync(_tasks.pid) != before
    stats = pool.statistics()
    assert (stats.crashes, stats.crashed) == (1, 1)


def test_a_hung_task_is_killed_at_its_timeout(pool: WarmPool) -> None:
    victim = pool.submit_sync(_tasks.pid)
    started = time.monotonic()
    with pytest.raises(TaskTimeoutError) as caught:
        pool.submit_sync(_tasks.hang, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 3.0
    assert (caught.value.pid, caught.value.timeout) == (victim, 0.3)
    eventually(lambda: not psutil.pid_exists(victim))
    assert pool.submit_sync(_tasks.pid) != victim
    assert pool.statistics().timed_out == 1


def test_a_task_ignoring_sigterm_is_killed_after_the_grace(pool: WarmPool) -> None:
    with pytest.raises(TaskTimeoutError):
        pool.submit_sync(_tasks.hang_ignoring_sigterm, timeout=0.3)
    assert pool.submit_sync(_tasks.add, 2, 2) == 4
    eventually(lambda: pool.statistics().workers[WorkerState.STOPPING] == 0)


def test_the_default_timeout_applies(tmp_path: Path) -> None:
    with WarmPool(config(task_timeout_s=0.3)) as pool, pytest.raises(TaskTimeoutError):
        pool.submit_sync(_tasks.hang)


def test_a_worker_is_recycled_when_it_keeps_memory() -> None:
    with WarmPool(config(max_rss_growth=30 * 1024 * 1024)) as pool:
        first = pool.submit_sync(_tasks.keep_memory, 5)
        assert pool.submit_sync(_tasks.pid) == first  # 5 MB kept: under the limit
        assert pool.submit_sync(_tasks.keep_memory, 40) == first
        assert pool.submit_sync(_tasks.pid) != first
        assert pool.statistics().recycles == {RecycleReason.RSS: 1}


def test_a_worker_is_recycled_after_max_tasks() -> None:
    with WarmPool(config(max_workers=1, max_tasks=3)) as pool:
        pids = [pool.submit_sync(_tasks.pid) for _ in range(7)]
        assert [len(set(pids[i : i + 3])) for i in (0, 3)] == [1, 1]
        assert len(set(pids)) == 3
        assert pool.statistics().recycles[RecycleReason.TASKS] == 2


def test_a_worker_is_recycled_by_age() -> None:
    with WarmPool(config(max_workers=1, max_age_s=0.2)) as pool:
        first = pool.submit_sync(_tasks.pid)
        eventually(lambda: pool.statistics().recycles.get(RecycleReason.AGE, 0) >= 1)
        assert pool.submit_sync(_tasks.pid) != first


def test_higher_priorities_run_first(tmp_path: Path) -> None:
    log, gate = tmp_path / "order.log", tmp_path / "gate"
    with WarmPool(config(max_workers=1)) as pool:
        blocker = pool.submit_future(_tasks.wait_for_file, str(gate))
        futures = [
            pool.submit_future(_tasks.record, str(log), p.name, priority=p)
            for p in (Priority.LOW, Priority.MEDIUM, Priority.CRITICAL, Priority.HIGH)
        ]
        gate.touch()
        blocker.result()
        assert [f.result() for f in futures] == ["LOW", "MEDIUM", "CRITICAL", "HIGH"]
    assert log.read_text().split() == ["CRITICAL", "HIGH", "MEDIUM", "LOW"]


def test_a_cancelled_queued_task_never_runs(tmp_path: Path) -> None:
    log, gate = tmp_path / "ran.log", tmp_path / "gate"
    with WarmPool(config(max_workers=1)) as pool:
        blocker = pool.submit_future(_tasks.wait_for_file, str(gate))
        doomed = pool.submit_future(_tasks.record, str(log), "doomed")
        kept = pool.submit_future(_tasks.record, str(log), "kept")
        assert doomed.cancel()
        eventually(lambda: pool.statistics().queued == 1)
        gate.touch()
        assert (blocker.result() > 0, kept.result()) == (True, "kept")
        assert pool.statistics().cancelled == 1
    assert log.read_text().split() == ["kept"]


def test_cancelling_a_running_task_kills_its_worker(tmp_path: Path, pool: WarmPool) -> None:
    marker = tmp_path / "running"
    future = pool.submit_future(_tasks.touch_then_hang, str(marker))
    eventually(marker.exists)
    victim = int(marker.read_text())
    assert future.cancel()
    eventually(lambda: not psutil.pid_exists(victim))
    assert pool.submit_sync(_tasks.pid) != victim
    assert pool.statistics().cancelled == 1


def test_cancelling_the_awaiting_coroutine_cancels_the_task(tmp_path: Path, pool: WarmPool) -> None:
    marker = tmp_path / "running"

    async def main() -> None:
        task = asyncio.create_task(pool.submit(_tasks.touch_then_hang, str(marker)))
        await asyncio.to_thread(eventually, marker.exists)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    eventually(lambda: not psutil.pid_exists(int(marker.read_text())))


def test_shared_arrays_are_attached_without_copy(pool: WarmPool) -> None:
    handle = pool.shared_array((1000, 10))
    assert pool.submit_sync(_tasks.fill, handle, 2.5) == 1
    mine = handle.attach()
    assert float(mine.sum()) == 25_000.0
    mine[0, 0] = 100.0
    assert pool.submit_sync(_tasks.total, handle) == 25_000.0 + 97.5
    copy = pool.share([[1, 2], [3, 4]])
    assert (copy.shape, copy.nbytes) == ((2, 2), 32)
    assert pool.submit_sync(_tasks.total, copy) == 10.0
    pool.release(copy)
    with pytest.raises(FileNotFoundError):
        copy.attach()  # gone by name; a worker that mapped it keeps its mapping until it exits
    del mine


def test_shared_strings_reach_a_worker_by_name(pool: WarmPool) -> None:
    owner = SharedArrays()
    words = ["parser", "", "naïve café", "日本語", "x" * 1000]
    handle = owner.from_strings(words)
    assert len(pickle.dumps(handle)) < 400  # names and shapes, not the text
    decoded, worker = pool.submit_sync(_tasks.strings_of, handle)
    assert decoded == tuple(words)
    assert worker != os.getpid()
    assert handle.attach() == tuple(words)
    empty = owner.from_strings([])
    assert pool.submit_sync(_tasks.strings_of, empty)[0] == ()
    owner.close()
    assert len(owner) == 0


def test_autoscaling_up_to_max_and_back_down_after_the_delay(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with WarmPool(config(min_workers=1, max_workers=3)) as pool:
        futures = pool.map_futures(_tasks.wait_for_file, [str(gate)] * 5)
        eventually(lambda: pool.statistics().workers[WorkerState.BUSY] == 3)
        assert pool.statistics().queued == 2
        gate.touch()
        assert len({f.result() for f in futures}) == 3
        eventually(lambda: pool.statistics().live_workers == 1)
        assert pool.statistics().recycles[RecycleReason.IDLE] == 2


def test_resize_follows_the_concurrency_controller(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with WarmPool(config(min_workers=1, max_workers=3)) as pool:
        pool.on_limit_change(LimitChange(time=0.0, old=3, new=1, reason="test"))
        futures = pool.map_futures(_tasks.wait_for_file, [str(gate)] * 3)
        eventually(lambda: pool.statistics().workers[WorkerState.BUSY] == 1)
        assert pool.statistics().queued == 2
        assert pool.resize(2) == 2
        eventually(lambda: pool.statistics().workers[WorkerState.BUSY] == 2)
        gate.touch()
        assert all(f.result() for f in futures)
        assert pool.resize(1) == 1
        eventually(lambda: pool.statistics().live_workers == 1)


def test_graceful_shutdown_finishes_queued_work(tmp_path: Path) -> None:
    log = tmp_path / "ran.log"
    pool = WarmPool(config(max_workers=2))
    pool.start()
    futures = [pool.submit_future(_tasks.record, str(log), str(i)) for i in range(6)]
    pool.close()
    assert [f.result() for f in futures] == [str(i) for i in range(6)]
    assert sorted(log.read_text().split()) == [str(i) for i in range(6)]
    assert "closed" in repr(pool)
    with pytest.raises(PoolClosedError):
        pool.submit_sync(_tasks.pid)


def test_forced_shutdown_kills_running_and_cancels_queued(tmp_path: Path) -> None:
    marker = tmp_path / "running"
    pool = WarmPool(config(max_workers=1))
    pool.start()
    shm = pool.shared_array(10)
    running = pool.submit_future(_tasks.touch_then_hang, str(marker))
    queued = pool.submit_future(_tasks.pid)
    eventually(marker.exists)
    pool.close(force=True)
    assert queued.cancelled()
    with pytest.raises(PoolClosedError):
        running.result()
    assert not psutil.pid_exists(int(marker.read_text()))
    assert shm.name not in {p.name for p in Path(SHM).iterdir()}
    pool.close()  # idempotent
    with pytest.raises(PoolClosedError):
        pool.start()


def test_async_context_manager_and_repr() -> None:
    async def main() -> str:
        async with WarmPool(config()) as pool:
            assert await pool.submit(_tasks.add, 1, 2) == 3
            return repr(pool)

    text = asyncio.run(main())
    assert text.startswith("<WarmPool running workers[")
    assert "\n" not in text


def test_an_exception_in_the_with_block_forces_shutdown(tmp_path: Path) -> None:
    marker = tmp_path / "running"
    with pytest.raises(RuntimeError), WarmPool(config()) as pool:  # noqa: PT012
        future = pool.submit_future(_tasks.touch_then_hang, str(marker))
        eventually(marker.exists)
        raise RuntimeError
    assert isinstance(future.exception(), PoolClosedError)


def test_a_pool_must_be_started_first() -> None:
    pool = WarmPool(config())
    assert repr(pool) == "<WarmPool not started 1..2>"
    for call in (lambda: pool.submit_future(_tasks.pid), pool.statistics, lambda: pool.resize(2)):
        with pytest.raises(PoolError, match="start"):
            call()
    pool.close()
    assert repr(pool) == "<WarmPool closed 1..2>"
    with pytest.raises(PoolClosedError):
        pool.submit_future(_tasks.pid)


def test_the_pool_survives_its_template_being_killed(pool: WarmPool) -> None:
    manager = pool._manager
    assert manager is not None
    template = manager._spawner.pid  # type: ignore[attr-defined]
    psutil.Process(template).kill()
    eventually(lambda: manager._spawner.pid != template)  # type: ignore[attr-defined]
    assert pool.submit_sync(_tasks.add, 20, 22) == 42
    with pytest.raises(WorkerCrashedError):
        pool.submit_sync(_tasks.exit_hard, 1)
    assert pool.submit_sync(_tasks.add, 1, 1) == 2


def test_warm_workers_start_fast() -> None:
    with WarmPool(config(max_workers=1, max_tasks=1)) as pool:
        for _ in range(5):
            pool.submit_sync(_tasks.pid)
        stats = pool.statistics()
    assert stats.spawned >= 5
    # The goal is < 5 ms (scripts/pool_warm_start.py); coverage tracing slows it here.
    assert stats.warm_start_p50_s < 0.25


def test_statistics_name_the_workers_and_what_each_completed(pool: WarmPool) -> None:
    pids = [pool.submit_sync(_tasks.pid) for _ in range(6)]
    stats = pool.statistics()
    assert sum(stats.completed_by_pid.values()) == stats.completed
    assert {pid: pids.count(pid) for pid in pids}.items() <= stats.completed_by_pid.items()
    assert stats.pids
    assert all(psutil.pid_exists(pid) for pid in stats.pids)


class OneArrayOnly(SharedArrays):
    """Shared memory with room for a single array."""

    def from_array(self, source: object) -> SharedArray:
        if len(self):
            raise OSError(28, "No space left on device")
        return super().from_array(source)  # type: ignore[arg-type]


def test_strings_that_do_not_fit_leave_nothing_behind() -> None:
    full = OneArrayOnly()
    with pytest.raises(OSError, match="No space left"):
        full.from_strings(["a", "b"])
    assert len(full) == 0
