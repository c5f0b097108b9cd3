"""Where a processor's work runs: on the event loop, or in the warm pool's worker processes.

An ``inline`` processor is awaited on the event loop, and so is a ``command`` one: it starts
an agent process per issue itself. A ``pool`` processor (:class:`~autoissue.processors.Pooled`)
prepares once per repository on the event loop — the duplicates index is built there, in a
thread — and each of its issues is then planned by a warm pool worker, so CPU-bound work runs
on every core and never stalls the loop that keeps the run's requests moving.

The pool is started on the first pooled issue, so runs without one never fork a process. Its
size follows the adaptive controller's limit, clamped to the machine's cores. A worker that
crashes or outruns the task timeout fails only its own issue, with
:class:`~autoissue.WorkerCrashedError` or :class:`~autoissue.TaskTimeoutError`: both are
transient, so the queue retries the issue (then dead-letters it) and a fresh worker takes over.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from autoissue.concurrency import LimitChange
from autoissue.model import Issue, Plan
from autoissue.pool import PoolConfig, PoolStatistics, WarmPool
from autoissue.processors import Isolation, Pooled, PoolWork, ProcessContext, Processor

#: What the template process imports once, so that every worker forked from it starts warm.
POOL_PRELOAD = ("numpy", "autoissue.processors")
#: The longest one issue may run in a worker before the worker is killed.
POOL_TASK_TIMEOUT_S = 300.0
#: Issues a worker plans before it is replaced. A new worker imports the processor's module
#: again (a fraction of a second), so this is high: growth in RSS, not a count, is what
#: retires a worker that leaks.
POOL_MAX_TASKS = 20_000


def default_pool_config() -> PoolConfig:
    """One worker per core at most, warm from the template, killed after the task timeout."""
    cores = os.cpu_count() or 1
    return PoolConfig(
        min_workers=1,
        max_workers=cores,
        preload=POOL_PRELOAD,
        task_timeout_s=POOL_TASK_TIMEOUT_S,
        max_tasks=POOL_MAX_TASKS,
    )


class Planner:
    """Plans each issue where its processor's isolation says: inline, or in the warm pool.

    ``limit`` is the adaptive controller's limit when the pool starts; :meth:`on_limit_change`
    follows it afterwards. :meth:`aclose` stops the pool, if one was started.
    """

    def __init__(self, config: PoolConfig | None = None, *, limit: int | None = None) -> None:
        self.config = config or default_pool_config()
        self._limit = limit
        self._pool: WarmPool | None = None
        self._starting_up: asyncio.Future[None] | None = None
        self._starting = asyncio.Lock()
        self._work: dict[tuple[str, str], PoolWork] = {}
        self._preparing: dict[tuple[str, str], asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"<Planner pool={self._pool!r} prepared={len(self._work)}>"

    async def plan(self, processor: Processor, issue: Issue, context: ProcessContext) -> Plan:
        """``processor``'s plan for ``issue``: from a pool worker if it is pooled, else here."""
        if processor.isolation is not Isolation.POOL or not isinstance(processor, Pooled):
            return await processor.process(issue, context)
        work = await self._prepared(processor.name, processor, context)
        pool = await self._started()
        plan: Plan = await pool.submit(work.function, work.state, issue)
        return plan

    async def _prepared(self, name: str, processor: Pooled, context: ProcessContext) -> PoolWork:
        key = (name, context.repo)
        async with self._preparing.setdefault(key, asyncio.Lock()):
            work = self._work.get(key)
            if work is None:
                work = self._work[key] = await processor.prepare(context)
            return work

    async def _started(self) -> WarmPool:
        async with self._starting:
            if self._pool is None:
                # Kept before it starts: a run cancelled meanwhile still stops it in aclose(),
                # which waits for the start (a thread cannot be cancelled) before closing.
                self._pool = WarmPool(self.config)
                self._starting_up = asyncio.ensure_future(asyncio.to_thread(self._pool.start))
                await asyncio.shield(self._starting_up)
                if self._limit is not None:
                    self._pool.resize(self._limit)
            return self._pool

    def on_limit_change(self, change: LimitChange) -> None:
        """Follow the controller: the pool runs at most its limit of workers (and the cores)."""
        self._limit = change.new
        if self._pool is not None:
            self._pool.resize(change.new)

    def statistics(self) -> PoolStatistics | None:
        """The pool's snapshot, or ``None`` if no issue needed it."""
        return None if self._pool is None else self._pool.statistics()

    async def aclose(self) -> None:
        """Stop the pool's workers, once the tasks they run are done; idempotent.

        :meth:`statistics` still tells what the pool did.
        """
        if self._starting_up is not None:
            await asyncio.gather(self._starting_up, return_exceptions=True)
        if self._pool is not None:
            await self._pool.aclose()


def pool_summary(stats: PoolStatistics | None) -> dict[str, Any]:
    """The pool's part of a run summary: which worker processes planned how many issues."""
    if stats is None:
        return {}
    return {
        "tasks": stats.completed,
        "failed": stats.failed,
        "timed_out": stats.timed_out,
        "crashes": stats.crashes,
        "workers_started": stats.spawned,
        "tasks_by_pid": {str(pid): n for pid, n in sorted(stats.completed_by_pid.items())},
    }
