"""The pool's view of tasks (one, and the queue of them) and of one worker process."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import signal
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from autoissue.pool._config import PoolConfig, RecycleReason, recycle_reason
from autoissue.pool._stats import WorkerState

__all__ = ["Task", "TaskQueue", "Worker", "settle"]

logger = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class Task:
    """One submitted call, from its submission to its future's result."""

    id: int
    ref: str
    args: tuple[Any, ...]
    priority: int
    timeout: float | None
    future: Future[Any]
    submitted_at: float
    worker: Worker | None = None


class TaskQueue:
    """Tasks waiting for a worker: by priority (lower first), then in submission order.

    A task cancelled while queued stays in the heap until popped, and is skipped then; ``len``
    counts only the tasks still waiting.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Task]] = []
        self._seq = itertools.count()
        self._waiting = 0

    def __len__(self) -> int:
        return self._waiting

    def push(self, task: Task) -> None:
        """Queue ``task``."""
        heapq.heappush(self._heap, (task.priority, next(self._seq), task))
        self._waiting += 1

    def discard(self) -> None:
        """Count one queued task as cancelled; it is dropped when it comes up."""
        self._waiting -= 1

    def pop(self) -> Task | None:
        """The next task to run, or ``None`` when nothing waits."""
        while self._heap:
            task = heapq.heappop(self._heap)[2]
            if not task.future.done():
                self._waiting -= 1
                return task
        return None

    def drain(self) -> list[Task]:
        """Remove and return everything in the heap, cancelled tasks included."""
        tasks = [entry[2] for entry in self._heap]
        self._heap.clear()
        return tasks


def settle(future: Future[Any], *, ok: bool, value: Any) -> bool:
    """Give ``future`` its result or exception, unless it is already done (cancelled).

    Returns whether this call settled it.
    """
    if future.done():
        return False
    try:
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    except InvalidStateError:  # pragma: no cover - needs a cancel between two lines
        return False  # cancelled by another thread between the check and the set
    return True


@dataclass(eq=False, slots=True)
class Worker:
    """A worker process as the manager thread tracks it.

    It is finished once both its pipe has closed (``hung_up``) and its exit code has been
    reported by the spawner (``exited``), in either order.
    """

    conn: Connection
    requested_at: float
    spawner: object
    state: WorkerState = WorkerState.STARTING
    pid: int | None = None
    pidfd: int | None = None
    ready_at: float = 0.0
    baseline_rss: int = 0
    rss: int = 0
    tasks_done: int = 0
    task: Task | None = None
    deadline: float | None = None
    kill_at: float | None = None
    last_beat: float = 0.0
    idle_since: float = 0.0
    hung_up: bool = False
    exited: bool = False
    exitcode: int | None = None
    stopped_on_purpose: bool = field(default=False)

    def ready(self, pid: int, rss: int, now: float) -> None:
        """The worker announced itself: it can take a task."""
        self.pid = pid
        self.baseline_rss = self.rss = rss
        self.ready_at = self.idle_since = now
        if self.state is WorkerState.STARTING:
            self.state = WorkerState.IDLE
        with contextlib.suppress(ProcessLookupError):
            # A pidfd keeps signals from reaching a recycled pid after this worker is reaped.
            self.pidfd = os.pidfd_open(pid)

    def recycle_reason(self, config: PoolConfig, now: float) -> RecycleReason | None:
        """Whether this worker should be replaced now, and why (see :func:`recycle_reason`)."""
        return recycle_reason(
            config,
            tasks_done=self.tasks_done,
            rss_growth=self.rss - self.baseline_rss,
            age_s=now - self.ready_at,
        )

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the worker if it is still there."""
        if self.pidfd is None:
            return
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.pidfd, signum)

    def close(self) -> None:
        """Release the pipe and the pidfd."""
        self.conn.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def describe_exit(self) -> str:
        """The exit, in words: ``exit code 3`` or ``signal SIGKILL``."""
        code = self.exitcode
        if code is None:
            return "an unknown exit status"
        if code < 0:
            return f"signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def __repr__(self) -> str:
        return f"<Worker pid={self.pid} {self.state.value} tasks={self.tasks_done}>"
