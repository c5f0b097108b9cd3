"""The public face of the pool: start, submit (async, sync or as futures), resize, close.

Every entry point ends in :meth:`WarmPool.submit_future`, which returns a
``concurrent.futures.Future``; the async methods await it through ``asyncio.wrap_future`` and
the sync ones wait on it, so there is one implementation and no sync/async twins.

Cancellation: cancelling a queued task's future (or the awaiting asyncio task) removes it from
the queue: it never runs. Cancelling a running task kills its worker (SIGTERM, then SIGKILL
after ``kill_grace_s``) and a fresh worker replaces it; the task may have done part of its work.
Futures stay *pending* while their task runs, so ``Future.cancel()`` always reaches the pool.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Protocol

import numpy.typing as npt

from autoissue._exceptions import PoolClosedError, PoolError
from autoissue.model import Priority
from autoissue.pool._config import PoolConfig
from autoissue.pool._manager import Manager
from autoissue.pool._shm import SharedArray, SharedArrays
from autoissue.pool._spawner import Spawner, TemplateSpawner
from autoissue.pool._stats import PoolStatistics
from autoissue.pool._task import callable_ref
from autoissue.pool._workers import Task

__all__ = ["WarmPool"]

TaskFunction = Callable[..., Any] | str


class _LimitChange(Protocol):
    @property
    def new(self) -> int: ...


class WarmPool:
    """Warm worker processes that run importable functions, with hard timeouts and recycling.

    Use it as ``with WarmPool(config) as pool:`` or ``async with``; leaving the block closes
    it gracefully, or forcibly if the block raised. Task functions are
    top-level callables (or ``"module:callable"`` strings); their positional arguments and
    results must pickle. A task's exception is raised with the worker's traceback as its
    ``__cause__``; a worker that crashes fails only its own task and is replaced.
    """

    def __init__(
        self,
        config: PoolConfig | None = None,
        *,
        spawner: Callable[[], Spawner] | None = None,
    ) -> None:
        self.config = config or PoolConfig()
        self._make_spawner = spawner or functools.partial(
            TemplateSpawner,
            preload=self.config.preload,
            heartbeat_s=self.config.heartbeat_s,
            start_timeout_s=self.config.start_timeout_s,
        )
        self._manager: Manager | None = None
        self._thread: threading.Thread | None = None
        self._arrays = SharedArrays()
        self._ids = itertools.count(1)
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the template process and ``min_workers`` workers; return once they are ready."""
        if self._closed:
            raise PoolClosedError("the pool is shut down")
        if self._manager is not None:
            return
        manager = self._manager = Manager(self.config, self._make_spawner)
        self._thread = threading.Thread(target=manager.run, name="autoissue-pool", daemon=True)
        self._thread.start()
        # Each worker has start_timeout_s to be ready; allow one replacement on top.
        if not manager.warm.wait(2 * self.config.start_timeout_s):
            self.close(force=True)
            raise PoolError("the pool's workers did not become ready in time")

    def close(self, *, force: bool = False) -> None:
        """Shut down and wait until every worker process has exited; idempotent.

        Graceful (the default): nothing new is accepted, queued and running tasks finish.
        ``force=True``: queued tasks are cancelled, running ones fail with
        :class:`PoolClosedError` and their workers are killed. Shared arrays are unlinked last.
        """
        self._closed = True
        if self._manager is not None and self._thread is not None:
            self._manager.close(force=force)
            self._thread.join()
        self._arrays.close()

    async def aclose(self, *, force: bool = False) -> None:
        """:meth:`close` without blocking the event loop."""
        await asyncio.to_thread(self.close, force=force)

    def __enter__(self) -> WarmPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(force=exc_type is not None)

    async def __aenter__(self) -> WarmPool:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose(force=exc_type is not None)

    # -- submission -----------------------------------------------------------------------------

    def submit_future(
        self,
        fn: TaskFunction,
        /,
        *args: Any,
        priority: int = Priority.MEDIUM,
        timeout: float | None = None,
    ) -> Future[Any]:
        """Queue ``fn(*args)``; a lower ``priority`` runs first; ``timeout`` overrides the default.

        Raises :class:`PoolClosedError` after :meth:`close` and :class:`PoolError` before
        :meth:`start`; ``ConfigurationError`` if ``fn`` cannot be imported by a worker.
        """
        if self._manager is None:
            if self._closed:
                raise PoolClosedError("the pool is shut down")
            raise PoolError("start the pool first (or use it with 'with' / 'async with')")
        future: Future[Any] = Future()
        ref = callable_ref(fn)
        timeout = self.config.task_timeout_s if timeout is None else timeout
        task = Task(next(self._ids), ref, args, int(priority), timeout, future, time.monotonic())
        self._manager.enqueue(task)
        return future

    async def submit(
        self,
        fn: TaskFunction,
        /,
        *args: Any,
        priority: int = Priority.MEDIUM,
        timeout: float | None = None,  # noqa: ASYNC109 - the task's limit in its worker
    ) -> Any:
        """Run ``fn(*args)`` in a worker and return its result; cancelling this cancels the task."""
        future = self.submit_future(fn, *args, priority=priority, timeout=timeout)
        return await asyncio.wrap_future(future)

    def submit_sync(
        self,
        fn: TaskFunction,
        /,
        *args: Any,
        priority: int = Priority.MEDIUM,
        timeout: float | None = None,
    ) -> Any:
        """Run ``fn(*args)`` in a worker and block until its result."""
        return self.submit_future(fn, *args, priority=priority, timeout=timeout).result()

    def map_futures(
        self,
        fn: TaskFunction,
        items: Iterable[Any],
        *,
        priority: int = Priority.MEDIUM,
        timeout: float | None = None,
    ) -> list[Future[Any]]:
        """Queue ``fn(item)`` for each item, in order; one future each."""
        return [self.submit_future(fn, item, priority=priority, timeout=timeout) for item in items]

    async def map(
        self,
        fn: TaskFunction,
        items: Iterable[Any],
        *,
        priority: int = Priority.MEDIUM,
        timeout: float | None = None,  # noqa: ASYNC109 - each task's limit in its worker
    ) -> list[Any]:
        """``fn(item)`` for each item, results in order; the first failure is raised."""
        futures = self.map_futures(fn, items, priority=priority, timeout=timeout)
        return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))

    def map_sync(
        self,
        fn: TaskFunction,
        items: Iterable[Any],
        *,
        priority: int = Priority.MEDIUM,
        timeout: float | None = None,
    ) -> list[Any]:
        """``fn(item)`` for each item, blocking; results in order; the first failure is raised."""
        futures = self.map_futures(fn, items, priority=priority, timeout=timeout)
        return [future.result() for future in futures]

    # -- sizing, shared memory, observation -----------------------------------------------------

    def resize(self, n: int) -> int:
        """Run at most ``n`` workers (clamped to ``1..max_workers``); returns the limit now."""
        if self._manager is None:
            raise PoolError("start the pool first")
        return self._manager.resize(n)

    def on_limit_change(self, change: _LimitChange) -> None:
        """Follow a concurrency controller: ``controller.add_listener(pool.on_limit_change)``."""
        self.resize(change.new)

    def shared_array(self, shape: tuple[int, ...] | int, dtype: str = "float64") -> SharedArray:
        """A new zero-filled shared array, owned by the pool and unlinked when it closes."""
        return self._arrays.create(shape, dtype)

    def share(self, array: npt.ArrayLike) -> SharedArray:
        """A shared copy of ``array``, owned by the pool; tasks attach to it without copying."""
        return self._arrays.from_array(array)

    def release(self, handle: SharedArray) -> None:
        """Unlink one shared array before the pool closes."""
        self._arrays.release(handle)

    def statistics(self) -> PoolStatistics:
        """A frozen snapshot: workers by state, task counts, recycles, crashes, latencies."""
        if self._manager is None:
            raise PoolError("start the pool first")
        return self._manager.statistics()

    def __repr__(self) -> str:
        if self._manager is None:
            state = "closed" if self._closed else "not started"
            return f"<WarmPool {state} {self.config.min_workers}..{self.config.max_workers}>"
        stats = self._manager.statistics()
        state = "running"
        if self._manager.closing:
            state = "closing" if self._thread and self._thread.is_alive() else "closed"
        workers = " ".join(f"{s.value}={n}" for s, n in stats.workers.items() if n)
        return (
            f"<WarmPool {state} workers[{workers}] limit={stats.limit} queued={stats.queued} "
            f"done={stats.completed} failed={stats.failed} timed_out={stats.timed_out} "
            f"crashes={stats.crashes} arrays={len(self._arrays)}>"
        )
