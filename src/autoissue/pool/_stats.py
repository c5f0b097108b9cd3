"""What a pool has done and is doing: live counters and the frozen snapshots read from them."""

from __future__ import annotations

import collections
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from autoissue._percentiles import percentile
from autoissue.pool._config import RecycleReason

__all__ = ["Counters", "PoolStatistics", "WorkerState"]

#: Queue waits and start times are summarised over this many recent samples.
_WINDOW = 2048


class WorkerState(enum.Enum):
    """The life of a worker: asked for, waiting for a task, running one, on its way out."""

    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    STOPPING = "stopping"


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolStatistics:
    """A snapshot of a pool: workers by state, task counts, recycles, crashes and latencies.

    ``crashes`` counts workers that died without being asked to; ``crashed`` counts the tasks
    that failed because of it. ``queue_wait_*_s`` is submission to dispatch; ``warm_start_*_s``
    is asking for a worker to that worker being ready for a task. ``completed_by_pid`` is how
    many tasks each worker process (by PID) completed, and ``pids`` the live workers' PIDs.
    """

    workers: Mapping[WorkerState, int]
    limit: int
    queued: int
    submitted: int
    completed: int
    failed: int
    timed_out: int
    cancelled: int
    crashed: int
    crashes: int
    spawned: int
    recycles: Mapping[RecycleReason, int]
    queue_wait_p50_s: float
    queue_wait_p99_s: float
    warm_start_p50_s: float
    warm_start_max_s: float
    completed_by_pid: Mapping[int, int] = field(default_factory=dict)
    pids: tuple[int, ...] = ()

    @property
    def live_workers(self) -> int:
        """Workers not on their way out."""
        return sum(n for state, n in self.workers.items() if state is not WorkerState.STOPPING)


@dataclass(slots=True)
class Counters:
    """The manager thread's running totals; snapshotted under the pool's lock."""

    submitted: int = 0
    completed: int = 0
    failed: int = 0
    timed_out: int = 0
    cancelled: int = 0
    crashed: int = 0
    crashes: int = 0
    spawned: int = 0
    recycles: collections.Counter[RecycleReason] = field(default_factory=collections.Counter)
    completed_by_pid: collections.Counter[int] = field(default_factory=collections.Counter)
    waits: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=_WINDOW)
    )
    starts: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=_WINDOW)
    )

    def snapshot(
        self,
        *,
        workers: Mapping[WorkerState, int],
        limit: int,
        queued: int,
        pids: tuple[int, ...] = (),
    ) -> PoolStatistics:
        """Freeze the counters together with the live state the pool passes in."""
        return PoolStatistics(
            workers={state: workers.get(state, 0) for state in WorkerState},
            limit=limit,
            queued=queued,
            submitted=self.submitted,
            completed=self.completed,
            failed=self.failed,
            timed_out=self.timed_out,
            cancelled=self.cancelled,
            crashed=self.crashed,
            crashes=self.crashes,
            spawned=self.spawned,
            recycles=dict(self.recycles),
            queue_wait_p50_s=percentile(self.waits, 50),
            queue_wait_p99_s=percentile(self.waits, 99),
            warm_start_p50_s=percentile(self.starts, 50),
            warm_start_max_s=max(self.starts, default=0.0),
            completed_by_pid=dict(self.completed_by_pid),
            pids=pids,
        )
