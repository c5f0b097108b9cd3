"""The pool's parts in-process: messages, the worker loop, recycling and scaling rules, stats."""

from __future__ import annotations

import gc
import mmap
import os
import pickle
import threading
from concurrent.futures import Future
from multiprocessing import Pipe

import pytest

from autoissue import (
    ConfigurationError,
    PoolError,
    TaskTimeoutError,
    WorkerCrashedError,
)
from autoissue.pool import (
    PoolConfig,
    RecycleReason,
    RemoteTraceback,
    Scaler,
    SharedArrays,
    WorkerState,
)
from autoissue.pool._config import recycle_reason
from autoissue.pool._shm import _unlink_all
from autoissue.pool._stats import Counters
from autoissue.pool._task import Beat, Call, Outcome, Ready, callable_ref, capture, resolve
from autoissue.pool._worker import COLLECT_AFTER_GROWTH, _Collector, rss_bytes, run_call, serve
from autoissue.pool._workers import Worker, settle
from tests.pool import _tasks
from tests.pool.conftest import shm_segments


def test_callable_ref_names_top_level_functions() -> None:
    assert callable_ref(_tasks.add) == "tests.pool._tasks:add"
    assert callable_ref("math:sqrt") == "math:sqrt"
    assert resolve("os.path:join") is __import__("os").path.join


@pytest.mark.parametrize("bad", [lambda: 0, "no-colon", ":x", "mod:"])
def test_callable_ref_refuses_what_a_worker_cannot_import(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="module:callable"):
        callable_ref(bad)  # type: ignore[arg-type]


def test_captured_exception_pickles_with_the_remote_traceback_as_cause() -> None:
    try:
        _tasks.fail("boom")
    except ValueError as exc:
        wrapped = capture(exc)
    rebuilt = pickle.loads(pickle.dumps(wrapped))
    assert isinstance(rebuilt, ValueError)
    assert str(rebuilt) == "boom"
    assert isinstance(rebuilt.__cause__, RemoteTraceback)
    assert "in fail\n    raise ValueError(message)" in str(rebuilt.__cause__)


def test_an_unpicklable_exception_is_replaced_by_a_pool_error() -> None:
    try:
        _tasks.fail_unpicklably()
    except _tasks.Unpicklable as exc:
        rebuilt = pickle.loads(pickle.dumps(capture(exc)))
    assert isinstance(rebuilt, PoolError)
    assert "unpicklable Unpicklable" in str(rebuilt)
    assert "fail_unpicklably" in str(rebuilt.__cause__)


def test_run_call_returns_results_and_captures_errors() -> None:
    done = run_call(Call(1, "tests.pool._tasks:add", (2, 3)))
    assert (done.task_id, done.ok, done.value) == (1, True, 5)
    assert done.rss > 0
    failed = run_call(Call(2, "tests.pool._tasks:fail", ("no",)))
    assert not failed.ok
    assert isinstance(pickle.loads(pickle.dumps(failed.value)), ValueError)


def test_rss_bytes_reads_this_process() -> None:
    assert 1024 * 1024 < rss_bytes() < 1024**4


def serve_in_thread(heartbeat_s: float = 60.0):  # type: ignore[no-untyped-def]
    ours, theirs = Pipe()
    thread = threading.Thread(target=serve, args=(theirs,), kwargs={"heartbeat_s": heartbeat_s})
    thread.start()
    return ours, theirs, thread


def test_worker_loop_runs_calls_until_told_to_stop() -> None:
    ours, theirs, thread = serve_in_thread()
    ready = ours.recv()
    assert isinstance(ready, Ready)
    ours.send(Call(7, "tests.pool._tasks:add", (1, 1)))
    assert ours.recv() == Outcome(7, True, 2, pytest.approx(ready.rss, rel=1))
    ours.send(Call(8, "tests.pool._tasks:unpicklable_result", ()))
    outcome = ours.recv()
    assert not outcome.ok
    assert isinstance(outcome.value, (pickle.PicklingError, AttributeError))
    ours.send(None)
    thread.join()
    ours.close()
    theirs.close()


def test_worker_loop_ends_when_the_pool_hangs_up() -> None:
    ours, theirs, thread = serve_in_thread()
    assert isinstance(ours.recv(), Ready)
    ours.close()
    thread.join()
    theirs.close()


def test_worker_beats_while_busy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    release = tmp_path / "go"
    ours, theirs, thread = serve_in_thread(heartbeat_s=0.01)
    ours.recv()
    ours.send(Call(3, "tests.pool._tasks:wait_for_file", (str(release),)))
    beat = ours.recv()
    assert isinstance(beat, Beat)
    assert beat.task_id == 3
    release.touch()
    while not isinstance(message := ours.recv(), Outcome):
        assert isinstance(message, Beat)
    ours.send(None)
    thread.join()
    ours.close()
    theirs.close()


def test_recycle_reasons_in_order_of_precedence() -> None:
    config = PoolConfig(max_tasks=10, max_rss_growth=100, max_age_s=5.0)
    assert config.max_tasks == 10

    def check(tasks: int, rss: int, age: float) -> RecycleReason | None:
        return recycle_reason(config, tasks_done=tasks, rss_growth=rss, age_s=age)

    assert check(10, 0, 0.0) is RecycleReason.TASKS
    assert check(1, 101, 0.0) is RecycleReason.RSS
    assert check(1, 100, 5.0) is RecycleReason.AGE
    assert check(9, 100, 4.9) is None
    never = PoolConfig(max_tasks=None, max_rss_growth=None, max_age_s=None)
    assert never.max_age_s is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_workers": 3, "max_workers": 2}, "min_workers"),
        ({"min_workers": 0, "max_workers": 0}, "max_workers"),
        ({"heartbeat_s": 2.0, "heartbeat_timeout_s": 1.0}, "heartbeat"),
    ],
)
def test_config_refuses_inconsistent_values(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        PoolConfig(**kwargs)  # type: ignore[arg-type]


def test_config_repr_is_one_line() -> None:
    text = repr(PoolConfig(min_workers=1, max_workers=3))
    assert text.startswith("PoolConfig(workers=1..3")
    assert "\n" not in text


def test_scaler_spawns_up_to_the_work_within_the_limit() -> None:
    scaler = Scaler(min_workers=1, max_workers=4, scale_down_delay_s=10.0)
    assert scaler.plan(now=0, queued=0, busy=0, starting=0, idle_since=[]).spawn == 1
    assert scaler.plan(now=0, queued=9, busy=1, starting=0, idle_since=[]).spawn == 3
    assert scaler.plan(now=0, queued=1, busy=1, starting=1, idle_since=[]).spawn == 0
    assert repr(scaler) == "<Scaler floor=1 limit=4 max=4>"


def test_scaler_retires_idle_workers_only_after_the_delay() -> None:
    scaler = Scaler(min_workers=1, max_workers=4, scale_down_delay_s=10.0)
    idle = [0.0, 5.0, 8.0]
    assert scaler.plan(now=9.0, queued=0, busy=0, starting=0, idle_since=idle).retire == 0
    plan = scaler.plan(now=15.0, queued=0, busy=0, starting=0, idle_since=idle)
    assert (plan.retire, plan.reason) == (2, RecycleReason.IDLE)
    plan = scaler.plan(now=100.0, queued=0, busy=0, starting=0, idle_since=idle)
    assert plan.retire == 2  # the floor of one stays


def test_scaler_resize_clamps_and_retires_above_the_limit_at_once() -> None:
    scaler = Scaler(min_workers=2, max_workers=4, scale_down_delay_s=10.0)
    assert scaler.resize(99) == 4
    assert scaler.resize(0) == 1
    assert scaler.floor == 1
    plan = scaler.plan(now=0.0, queued=5, busy=1, starting=0, idle_since=[0.0, 0.0])
    assert (plan.retire, plan.reason) == (2, RecycleReason.RESIZE)


def test_counters_snapshot_is_frozen_and_complete() -> None:
    counters = Counters(submitted=3, completed=2)
    counters.recycles[RecycleReason.RSS] += 1
    counters.waits.extend([0.1, 0.2])
    counters.starts.extend([0.003, 0.004])
    stats = counters.snapshot(workers={WorkerState.IDLE: 2}, limit=4, queued=1)
    assert stats.workers[WorkerState.BUSY] == 0
    assert stats.live_workers == 2
    assert stats.recycles == {RecycleReason.RSS: 1}
    assert stats.warm_start_max_s == 0.004
    with pytest.raises(AttributeError):
        stats.completed = 0  # type: ignore[misc]


def test_settle_leaves_a_cancelled_future_alone() -> None:
    future: Future[int] = Future()
    assert settle(future, ok=True, value=1)
    assert not settle(future, ok=True, value=2)
    assert future.result() == 1
    cancelled: Future[int] = Future()
    cancelled.cancel()
    assert not settle(cancelled, ok=False, value=ValueError())


def test_worker_describes_its_exit() -> None:
    ours, theirs = Pipe()
    worker = Worker(ours, 0.0, None)
    assert worker.describe_exit() == "an unknown exit status"
    worker.exitcode = -9
    assert worker.describe_exit() == "signal SIGKILL"
    worker.exitcode = 3
    assert worker.describe_exit() == "exit code 3"
    worker.signal(15)  # no pidfd yet: nothing to signal
    assert repr(worker) == "<Worker pid=None starting tasks=0>"
    worker.close()
    theirs.close()


@pytest.mark.parametrize(
    "error",
    [
        WorkerCrashedError("died", pid=12, exitcode=-9),
        TaskTimeoutError("late", pid=12, timeout=0.5),
    ],
)
def test_pool_errors_pickle_with_their_fields(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert vars(copy) == vars(error)
    assert str(copy) == str(error)
    assert isinstance(TaskTimeoutError("x", pid=1, timeout=1.0), TimeoutError)


def test_arrays_of_an_owner_dropped_without_close_are_unlinked() -> None:
    arrays = SharedArrays()
    handle = arrays.from_array([1.0, 2.0])
    assert handle.name in shm_segments()
    del arrays
    gc.collect()
    assert handle.name not in shm_segments()
    with pytest.raises(FileNotFoundError):
        handle.attach()


def test_an_owners_copy_in_another_process_never_unlinks_its_arrays() -> None:
    arrays = SharedArrays()
    handle = arrays.create(3)
    # What a forked child's inherited finalizer is handed: the parent's segments, another pid.
    _unlink_all(arrays._owned, creator=os.getpid() + 1)
    assert handle.name in shm_segments()
    assert len(arrays) == 1
    arrays.close()
    assert handle.name not in shm_segments()


def test_a_worker_collects_only_once_its_rss_has_grown() -> None:
    collections: list[str] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            collections.append(phase)

    collector = _Collector()
    gc.disable()  # only the collector's own collections count
    gc.callbacks.append(count)
    try:
        baseline = collector.rss
        assert collector.measure() < baseline + COLLECT_AFTER_GROWTH
        assert collections == []  # small growth: reported as it is, no collection
        # Fresh pages from the kernel, touched so they are resident: memory the allocator
        # freed earlier (and still holds) cannot stand in for them and hide the growth.
        kept = mmap.mmap(-1, COLLECT_AFTER_GROWTH * 2)
        for offset in range(0, len(kept), mmap.PAGESIZE):
            kept[offset] = 1
        after = collector.measure()
        assert collections == ["start"]  # grown: collected first, so what is kept is judged
        assert after == collector.rss >= baseline + COLLECT_AFTER_GROWTH
        kept.close()
    finally:
        gc.callbacks.remove(count)
        gc.enable()
