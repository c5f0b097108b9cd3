"""A worker's main loop: run one call at a time from the pool, beating while busy.

The loop is plain code over a ``multiprocessing.connection.Connection``, so the tests run it in
a thread of the test process (where coverage sees it) as well as in forked workers.

::

    pool ──Call──▶ serve() ──resolve(ref)(*args)──▶ RSS (after GC if grown) ──Outcome──▶ pool
                     │
                     └─ heartbeat thread: Beat(task_id, rss) every heartbeat_s while busy
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

from autoissue.pool._task import Beat, Call, Outcome, Ready, capture, resolve

__all__ = ["rss_bytes", "run_call", "serve"]

logger = logging.getLogger(__name__)

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident set size in bytes (``/proc/self/statm``: cheaper than psutil)."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE


#: RSS growth since the last collection that makes a worker collect before it reports.
COLLECT_AFTER_GROWTH = 16 * 1024 * 1024


class _Collector:
    """Reports RSS as the pool judges it: what tasks kept, not their garbage.

    A full collection costs milliseconds once a task has imported a large module, more than
    many tasks themselves, so it runs only when RSS has grown by ``COLLECT_AFTER_GROWTH``
    since the last one: a figure the pool could recycle a worker for is always after GC.
    """

    def __init__(self) -> None:
        self.rss = self.collect()

    def collect(self) -> int:
        """Collect now; the RSS after it."""
        gc.collect()
        self.rss = rss_bytes()
        return self.rss

    def measure(self) -> int:
        """The RSS now, after a collection if it grew."""
        rss = rss_bytes()
        return self.collect() if rss > self.rss + COLLECT_AFTER_GROWTH else rss


def run_call(call: Call, collector: _Collector | None = None) -> Outcome:
    """Run one call; whatever it raises is captured, never propagated."""
    try:
        value, ok = resolve(call.ref)(*call.args), True
    except BaseException as exc:  # noqa: BLE001 - even SystemExit is the task's failure to report
        value, ok = capture(exc), False
    rss = (collector or _Collector()).measure()
    return Outcome(call.task_id, ok, value, rss)


class _Sender:
    """Sends from the loop and the heartbeat thread, one whole message at a time."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def __call__(self, message: object) -> None:
        with self._lock:
            self._conn.send(message)

    def outcome(self, outcome: Outcome) -> None:
        """Send ``outcome``; a result that does not pickle becomes the task's error instead."""
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:  # noqa: BLE001 - any pickling failure is the task's error
            data = pickle.dumps(Outcome(outcome.task_id, False, capture(exc), outcome.rss))
        with self._lock:
            self._conn.send_bytes(data)


class _Heartbeat:
    """A daemon thread that reports the running task every ``interval`` seconds."""

    def __init__(self, send: Callable[[object], None], interval: float) -> None:
        self._send = send
        self._interval = interval
        self.task: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="pool-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            task = self.task
            if task is None:
                continue
            try:
                self._send(Beat(task, rss_bytes()))
            except OSError:
                return  # the pool hung up: the main loop sees it too and ends the worker

    def stop(self) -> None:
        """End the thread and wait for it."""
        self._stop.set()
        self._thread.join()


def serve(conn: Connection, *, heartbeat_s: float) -> None:
    """Announce readiness, then run each :class:`Call` until sent ``None`` or hung up on."""
    send = _Sender(conn)
    heartbeat = _Heartbeat(send, heartbeat_s)
    collector = _Collector()
    try:
        send(Ready(os.getpid(), collector.rss))
        while True:
            try:
                call = conn.recv()
            except EOFError:
                return
            if call is None:
                return
            heartbeat.task = call.task_id
            outcome = run_call(call, collector)
            heartbeat.task = None
            send.outcome(outcome)
    finally:
        heartbeat.stop()
