"""A worker's main loop: run one call at a time from the pool, beating while busy.

The loop is plain code over a ``multiprocessing.connection.Connection``, so the tests run it in
a thread of the test process (where coverage sees it) as well as in forked workers.

::

    pool ──Call──▶ serve() ──resolve(ref)(*args)──▶ gc.collect() ──Outcome(rss)──▶ pool
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


def run_call(call: Call) -> Outcome:
    """Run one call; whatever it raises is captured, never propagated."""
    try:
        value, ok = resolve(call.ref)(*call.args), True
    except BaseException as exc:  # noqa: BLE001 - even SystemExit is the task's failure to report
        value, ok = capture(exc), False
    # Collect first, so the RSS the pool judges is what the task kept, not its garbage.
    gc.collect()
    return Outcome(call.task_id, ok, value, rss_bytes())


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
    try:
        gc.collect()
        send(Ready(os.getpid(), rss_bytes()))
        while True:
            try:
                call = conn.recv()
            except EOFError:
                return
            if call is None:
                return
            heartbeat.task = call.task_id
            outcome = run_call(call)
            heartbeat.task = None
            send.outcome(outcome)
    finally:
        heartbeat.stop()
