"""The template process and the manager's recovery paths, driven directly."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from multiprocessing import Pipe
from multiprocessing.shared_memory import SharedMemory

import numpy as np
import psutil
import pytest

from autoissue import PoolError, WorkerCrashedError
from autoissue.pool import PoolConfig, SharedArray, TemplateSpawner, WarmPool, WorkerState
from autoissue.pool._manager import Manager
from autoissue.pool._shm import _mapped
from autoissue.pool._task import Call, Ready
from autoissue.pool._worker import serve
from autoissue.pool._workers import Worker
from tests.pool import _tasks
from tests.pool.test_pool import config, eventually


def test_a_template_that_cannot_preload_fails_to_start() -> None:
    with pytest.raises(PoolError, match="did not start"):
        TemplateSpawner(preload=["tests.pool.no_such_module"])


def test_a_template_that_is_too_slow_fails_to_start() -> None:
    with pytest.raises(PoolError, match="did not start"):
        TemplateSpawner(start_timeout_s=0.001)


def test_spawning_from_a_dead_template_is_a_pool_error() -> None:
    spawner = TemplateSpawner()
    assert "running" in repr(spawner)
    psutil.Process(spawner.pid).kill()
    select.select([spawner.fileno()], [], [], 10)
    with pytest.raises(PoolError, match="exited"):
        spawner.exits()
    with pytest.raises(PoolError, match="gone"):
        spawner.spawn()
    spawner.close()
    assert "closed" in repr(spawner)


def test_closing_the_template_kills_its_remaining_workers() -> None:
    spawner = TemplateSpawner()
    idle = spawner.spawn()
    ready = idle.recv()
    assert isinstance(ready, Ready)
    finished = spawner.spawn()
    finished.recv()
    finished.send(None)
    select.select([spawner.fileno()], [], [], 10)  # its exit record waits, unread
    spawner.close()
    assert not psutil.pid_exists(ready.pid)
    idle.close()
    finished.close()


def test_a_worker_that_holds_the_gil_stops_beating_and_is_killed() -> None:
    with WarmPool(config(heartbeat_s=0.05, heartbeat_timeout_s=0.3)) as pool:
        with pytest.raises(WorkerCrashedError, match="heartbeats") as caught:
            pool.submit_sync(_tasks.hold_gil, 30.0)
        assert caught.value.exitcode is None
        eventually(lambda: not psutil.pid_exists(caught.value.pid or 0))
        assert pool.submit_sync(_tasks.add, 1, 1) == 2
        assert pool.statistics().crashed == 1


def test_forced_shutdown_with_idle_and_starting_workers() -> None:
    pool = WarmPool(config(min_workers=2, max_workers=3))
    pool.start()
    pool.start()  # idempotent
    assert pool.statistics().workers[WorkerState.IDLE] == 2
    manager = pool._manager
    assert manager is not None
    with manager.lock:
        manager._spawn(time.monotonic())  # a third one, still starting when the pool closes
    pool.close(force=True)
    assert pool.statistics().live_workers == 0


def test_manager_replaces_a_dead_template_when_asked_for_a_worker() -> None:
    manager = Manager(PoolConfig(min_workers=0, max_workers=1), TemplateSpawner)
    first = manager._spawner
    psutil.Process(first.pid).kill()  # type: ignore[attr-defined]
    psutil.Process(first.pid).wait(10)  # type: ignore[attr-defined]
    for _ in range(70_000):
        manager.wake()  # more wake-ups than the pipe holds: the extra ones are dropped
    with manager.lock:
        manager._spawn(time.monotonic())
        assert manager._spawner is not first
        manager._spawn(time.monotonic())
    assert len(manager._workers) == 1
    manager._teardown()


def test_a_worker_that_never_becomes_ready_is_dropped() -> None:
    kept: list[object] = []
    r, w = os.pipe()

    class Mute:
        """Hands out pipes nobody answers on."""

        def spawn(self):  # type: ignore[no-untyped-def]
            ours, theirs = Pipe()
            kept.append(theirs)
            return ours

        def fileno(self) -> int:
            return r

        def exits(self) -> list[tuple[int, int]]:
            return []

        def close(self) -> None:
            os.close(r)
            os.close(w)

    pool = WarmPool(PoolConfig(min_workers=1, max_workers=1, start_timeout_s=0.2), spawner=Mute)
    with pytest.raises(PoolError, match="did not become ready"):
        pool.start()
    assert pool.statistics().crashes >= 1
    for conn in kept:
        conn.close()  # type: ignore[attr-defined]


def test_heartbeat_thread_stops_when_the_pool_hangs_up(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = tmp_path / "gate"
    ours, theirs = Pipe()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            serve(theirs, heartbeat_s=0.01)
        except OSError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    ours.recv()
    ours.send(Call(1, "tests.pool._tasks:wait_for_file", (str(gate),)))
    ours.recv()  # a first beat
    ours.close()
    eventually(lambda: not any(t.name == "pool-heartbeat" for t in threading.enumerate()))
    gate.touch()
    thread.join()
    theirs.close()
    assert errors  # sending the outcome failed too: the worker process would exit


def test_ready_for_a_process_already_gone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    ours, theirs = Pipe()
    worker = Worker(ours, 0.0, None)
    worker.ready(proc.pid, 1, 0.0)
    assert worker.pidfd is None
    worker.close()
    theirs.close()


def test_attaching_a_segment_created_elsewhere_does_not_track_it() -> None:
    raw = SharedMemory(create=True, size=80)
    try:
        handle = SharedArray(raw.name, (10,), "float64")
        view = handle.attach()
        view[:] = np.arange(10)
        assert handle.attach().sum() == 45
        del view
    finally:
        _mapped.pop(raw.name).close()
        raw.close()
        raw.unlink()
