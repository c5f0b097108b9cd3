"""The pool's manager thread: the one place that talks to workers and decides what they do.

::

    submit() ─▶ heap (priority, seq) ─▶ dispatch ─▶ idle worker ──Outcome──▶ future
                                          ▲              │ Beat        │ EOF + exit code
    spawner ◀── spawn (scaler plan) ──────┘              ▼             ▼
                                        deadlines: timeout ─▶ SIGTERM ─▶ SIGKILL ─▶ replace

Every state change happens under one re-entrant lock, taken by this thread for each round of
events and by callers for submission, cancellation, resizing and statistics. Pipes to workers
are local and a waiting worker always drains its pipe, so the few writes made under the lock
return at once.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import selectors
import signal
import threading
import time
from collections.abc import Callable

from autoissue._exceptions import PoolClosedError, PoolError, TaskTimeoutError, WorkerCrashedError
from autoissue.pool._config import PoolConfig, RecycleReason
from autoissue.pool._scaling import Scaler
from autoissue.pool._spawner import Spawner
from autoissue.pool._stats import Counters, PoolStatistics, WorkerState
from autoissue.pool._task import Beat, Call, Outcome, Ready
from autoissue.pool._workers import Task, TaskQueue, Worker, settle

__all__ = ["Manager"]

logger = logging.getLogger(__name__)

#: The longest the loop sleeps: scale-down, age and heartbeat checks need no finer grain.
_TICK_S = 0.1
#: How long a worker asked to stop has before it is killed.
_STOP_GRACE_S = 5.0


class Manager:
    """Owns the workers, the queue and the counters; runs :meth:`run` in its own thread."""

    def __init__(self, config: PoolConfig, make_spawner: Callable[[], Spawner]) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.counters = Counters()
        self.scaler = Scaler.from_config(config)
        self.closing = False
        self.warm = threading.Event()
        self._make_spawner = make_spawner
        self._spawner = make_spawner()
        self._workers: list[Worker] = []
        self._by_pid: dict[int, Worker] = {}
        self._exit_codes: dict[int, int] = {}
        self._queue = TaskQueue()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = self._wake_pipe()
        self.wake()  # the first round starts the minimum of workers at once

    def _wake_pipe(self) -> tuple[int, int]:
        read, write = os.pipe()
        os.set_blocking(write, False)
        self._selector.register(read, selectors.EVENT_READ, self._on_wake)
        self._selector.register(self._spawner.fileno(), selectors.EVENT_READ, self._on_exits)
        return read, write

    def enqueue(self, task: Task) -> None:
        """Queue ``task``; it is dispatched by priority, then in submission order."""
        with self.lock:
            if self.closing:
                raise PoolClosedError("the pool is shut down")
            self._queue.push(task)
            self.counters.submitted += 1
            task.future.add_done_callback(lambda _: self._on_future_done(task))
        self.wake()

    def _on_future_done(self, task: Task) -> None:
        if not task.future.cancelled():
            return
        with self.lock:
            self.counters.cancelled += 1
            worker = task.worker
            if worker is None:
                self._queue.discard()
            elif worker.task is task:
                # A running task cannot be interrupted in place: its worker goes, a fresh one
                # comes. The task may have done part of its work.
                worker.task = None
                self._kill(worker, signal.SIGTERM, time.monotonic())
        self.wake()

    def resize(self, n: int) -> int:
        """Move the worker limit; returns the limit in force."""
        with self.lock:
            limit = self.scaler.resize(n)
        self.wake()
        return limit

    def close(self, *, force: bool) -> None:
        """Stop taking tasks; finish the queue first unless ``force``, which also kills workers."""
        with self.lock:
            self.closing = True
            if force:
                self._abandon_all()
        self.wake()

    def statistics(self) -> PoolStatistics:
        """A snapshot of the counters and the live state."""
        with self.lock:
            states = collections.Counter(worker.state for worker in self._workers)
            pids = tuple(
                worker.pid
                for worker in self._workers
                if worker.pid is not None and worker.state is not WorkerState.STOPPING
            )
            return self.counters.snapshot(
                workers=states, limit=self.scaler.limit, queued=len(self._queue), pids=pids
            )

    def wake(self) -> None:
        """Make the loop look at its state now."""
        # A full pipe already holds a wake-up; a closed one means the loop has ended.
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def run(self) -> None:
        """Serve until closed and every worker is gone, then release everything."""
        try:
            while True:
                events = self._selector.select(self._timeout())
                with self.lock:
                    for key, _ in events:
                        key.data()
                    if self._tick(time.monotonic()):
                        return
        finally:
            self._teardown()

    def _timeout(self) -> float:
        now = time.monotonic()
        whens = [t for w in self._workers for t in (w.deadline, w.kill_at) if t is not None]
        return max(0.0, min([now + _TICK_S, *whens]) - now)

    def _tick(self, now: float) -> bool:
        for worker in list(self._workers):
            self._check_deadlines(worker, now)
        if self.closing and not self._queue:
            for worker in self._workers:
                if worker.state is WorkerState.IDLE:
                    self._stop(worker, None)
            return not self._workers
        self._scale(now)
        self._dispatch(now)
        if sum(w.state is WorkerState.IDLE for w in self._workers) >= self.scaler.floor:
            self.warm.set()
        return False

    def _teardown(self) -> None:
        with self.lock:
            for worker in self._workers:
                worker.signal(signal.SIGKILL)
                worker.close()
            self._workers.clear()
        self._spawner.close()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _on_wake(self) -> None:
        os.read(self._wake_r, 4096)

    def _scale(self, now: float) -> None:
        for worker in self._workers:
            if worker.state is WorkerState.IDLE:
                reason = worker.recycle_reason(self.config, now)
                if reason is not None:
                    self._stop(worker, reason)
        idle = sorted(
            (w for w in self._workers if w.state is WorkerState.IDLE), key=lambda w: w.idle_since
        )
        plan = self.scaler.plan(
            now=now,
            queued=len(self._queue),
            busy=sum(w.state is WorkerState.BUSY for w in self._workers),
            starting=sum(w.state is WorkerState.STARTING for w in self._workers),
            idle_since=[w.idle_since for w in idle],
        )
        for worker in idle[: plan.retire]:
            self._stop(worker, plan.reason)
        for _ in range(plan.spawn):
            self._spawn(now)

    def _spawn(self, now: float) -> None:
        try:
            conn = self._spawner.spawn()
        except PoolError:
            logger.exception("could not ask for a worker; restarting the template process")
            self._replace_spawner()
            return
        worker = Worker(conn, now, self._spawner)
        self._workers.append(worker)
        self.counters.spawned += 1
        self._selector.register(
            conn.fileno(), selectors.EVENT_READ, lambda: self._on_readable(worker)
        )

    def _replace_spawner(self) -> None:
        # Workers of the dead template keep running; their exit codes are lost, so each is
        # finished as soon as its pipe closes (see _on_hang_up).
        self._selector.unregister(self._spawner.fileno())
        self._spawner.close()
        self._spawner = self._make_spawner()
        self._selector.register(self._spawner.fileno(), selectors.EVENT_READ, self._on_exits)
        for worker in self._workers:
            if worker.hung_up:
                self._finish(worker)

    def _dispatch(self, now: float) -> None:
        idle = [w for w in self._workers if w.state is WorkerState.IDLE]
        busy = sum(w.state is WorkerState.BUSY for w in self._workers)
        # Most recently idle first, so surplus workers stay idle long enough to be retired.
        idle.sort(key=lambda w: w.idle_since)
        while idle and busy < self.scaler.limit:
            task = self._queue.pop()  # skips tasks cancelled while queued: they never run
            if task is None:
                return
            self._start_task(idle.pop(), task, now)
            busy += 1

    def _start_task(self, worker: Worker, task: Task, now: float) -> None:
        worker.state = WorkerState.BUSY
        worker.task, task.worker = task, worker
        worker.last_beat = now
        worker.deadline = None if task.timeout is None else now + task.timeout
        self.counters.waits.append(now - task.submitted_at)
        try:
            worker.conn.send(Call(task.id, task.ref, task.args))
        except OSError:
            # It died between its last message and now: the crash path fails the task.
            worker.state = WorkerState.STOPPING

    def _on_readable(self, worker: Worker) -> None:
        while not worker.hung_up and worker.conn.poll(0):
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                self._on_hang_up(worker)
                return
            self._on_message(worker, message, time.monotonic())

    def _on_message(self, worker: Worker, message: object, now: float) -> None:
        if isinstance(message, Ready):
            worker.ready(message.pid, message.rss, now)
            self._by_pid[message.pid] = worker
            if worker.state is WorkerState.STOPPING:
                worker.signal(signal.SIGKILL)  # killed (forced shutdown) before it was ready
            self.counters.starts.append(now - worker.requested_at)
            if worker.pid in self._exit_codes:
                self._on_exit(worker, self._exit_codes.pop(message.pid))
        elif isinstance(message, Beat):
            worker.last_beat = now
            worker.rss = message.rss
        else:
            assert isinstance(message, Outcome)  # noqa: S101 - workers send nothing else
            self._on_outcome(worker, message, now)

    def _on_outcome(self, worker: Worker, outcome: Outcome, now: float) -> None:
        task = worker.task
        worker.tasks_done += 1
        worker.rss = outcome.rss
        if task is None or task.id != outcome.task_id:
            return  # timed out or cancelled already: the worker is on its way out
        worker.task = task.worker = None
        worker.deadline = None
        if settle(task.future, ok=outcome.ok, value=outcome.value):
            if outcome.ok:
                self.counters.completed += 1
                self.counters.completed_by_pid[worker.pid or 0] += 1
            else:
                self.counters.failed += 1
        worker.state, worker.idle_since = WorkerState.IDLE, now
        reason = worker.recycle_reason(self.config, now)
        if reason is not None:
            self._stop(worker, reason)

    def _on_hang_up(self, worker: Worker) -> None:
        worker.hung_up = True
        self._selector.unregister(worker.conn.fileno())
        if worker.exited or worker.pid is None or worker.spawner is not self._spawner:
            self._finish(worker)

    def _on_exits(self) -> None:
        try:
            exits = self._spawner.exits()
        except PoolError:
            logger.error("the pool's template process died; starting a new one")
            self._replace_spawner()
            return
        for pid, code in exits:
            worker = self._by_pid.get(pid)
            if worker is None:
                self._exit_codes[pid] = code  # its Ready is still unread: matched then
            else:
                self._on_exit(worker, code)

    def _on_exit(self, worker: Worker, code: int) -> None:
        worker.exited, worker.exitcode = True, code
        self._on_readable(worker)  # read what it sent before dying, up to the hang-up
        if worker.hung_up:
            self._finish(worker)

    def _finish(self, worker: Worker) -> None:
        if worker not in self._workers:
            return
        self._workers.remove(worker)
        if worker.pid is not None:
            self._by_pid.pop(worker.pid, None)
        worker.close()
        if worker.state is not WorkerState.STOPPING:
            self.counters.crashes += 1
            logger.warning("pool worker %s died with %s", worker.pid, worker.describe_exit())
        task = worker.task
        if task is not None:
            worker.task = None
            message = f"worker {worker.pid} running {task.ref} died with {worker.describe_exit()}"
            error = WorkerCrashedError(message, pid=worker.pid, exitcode=worker.exitcode)
            if settle(task.future, ok=False, value=error):
                self.counters.crashed += 1
        self.wake()

    def _check_deadlines(self, worker: Worker, now: float) -> None:
        if worker.state is WorkerState.STARTING:
            if now - worker.requested_at > self.config.start_timeout_s:
                logger.error("a pool worker was not ready within %s s", self.config.start_timeout_s)
                self.counters.crashes += 1
                self._drop(worker)
            return
        task = worker.task
        if task is not None and worker.deadline is not None and now >= worker.deadline:
            self._time_out(worker, task, now)
        elif task is not None and now - worker.last_beat > self.config.heartbeat_timeout_s:
            message = f"worker {worker.pid} running {task.ref} stopped sending heartbeats"
            self._abandon(worker, WorkerCrashedError(message, pid=worker.pid, exitcode=None), now)
            self.counters.crashed += 1
        if worker.kill_at is not None and now >= worker.kill_at:
            worker.signal(signal.SIGKILL)
            worker.kill_at = None

    def _time_out(self, worker: Worker, task: Task, now: float) -> None:
        timeout = task.timeout or 0.0
        message = f"{task.ref} ran past its {timeout:g} s timeout in worker {worker.pid}"
        error = TaskTimeoutError(message, pid=worker.pid, timeout=timeout)
        self._abandon(worker, error, now)
        self.counters.timed_out += 1

    def _abandon(self, worker: Worker, error: BaseException, now: float) -> None:
        task = worker.task
        assert task is not None  # noqa: S101 - only called for a busy worker
        worker.task = None
        settle(task.future, ok=False, value=error)
        self._kill(worker, signal.SIGTERM, now)

    def _abandon_all(self) -> None:
        now = time.monotonic()
        for task in self._queue.drain():
            task.future.cancel()
        for worker in list(self._workers):
            if worker.state is WorkerState.STARTING:
                self._drop(worker)  # no pid to signal yet: the template kills it on close
                continue
            if worker.task is not None:
                self._abandon(worker, PoolClosedError("the pool was shut down"), now)
            self._kill(worker, signal.SIGKILL, now)

    def _drop(self, worker: Worker) -> None:
        if not worker.hung_up:
            self._selector.unregister(worker.conn.fileno())
        self._workers.remove(worker)
        worker.close()

    def _kill(self, worker: Worker, signum: int, now: float) -> None:
        worker.state = WorkerState.STOPPING
        worker.deadline = None
        worker.signal(signum)
        worker.kill_at = now + self.config.kill_grace_s

    def _stop(self, worker: Worker, reason: RecycleReason | None) -> None:
        if reason is not None:
            self.counters.recycles[reason] += 1
        worker.state = WorkerState.STOPPING
        worker.kill_at = time.monotonic() + _STOP_GRACE_S
        # Already gone? Then its exit is on the way and there is nothing to tell it.
        with contextlib.suppress(OSError):
            worker.conn.send(None)
