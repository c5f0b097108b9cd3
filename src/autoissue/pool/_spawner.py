"""Where warm workers come from: the spawner contract and the template-process implementation.

The pool never forks itself: it is multi-threaded (its manager thread, the caller's event loop),
and forking a multi-threaded process can copy a lock held by another thread. It asks a
single-threaded template process instead (see :mod:`autoissue.pool._template`).
"""

from __future__ import annotations

import logging
import pickle
import socket
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Protocol

from autoissue._exceptions import PoolError
from autoissue.pool._template import EXIT_RECORD, TemplateInit

__all__ = ["Spawner", "TemplateSpawner"]

logger = logging.getLogger(__name__)

#: Modules every worker gets already imported (the pool's own are always there).
DEFAULT_PRELOAD: tuple[str, ...] = ("numpy",)


class Spawner(Protocol):
    """Starts workers and reports their exits; used only from the pool's manager thread."""

    def spawn(self) -> Connection:
        """Ask for a new worker and return the pool's end of its pipe, without waiting.

        The worker announces itself with a ``Ready`` message on that pipe when it can take a
        task. Raises :class:`PoolError` if the request cannot be made.
        """
        ...

    def fileno(self) -> int:
        """A descriptor that becomes readable when :meth:`exits` has something to return."""
        ...

    def exits(self) -> list[tuple[int, int]]:
        """The ``(pid, exitcode)`` of each worker reaped since the last call; never blocks.

        Raises :class:`PoolError` if the spawner itself has died.
        """
        ...

    def close(self) -> None:
        """Kill any worker still running, reap it, and stop; idempotent."""
        ...


class TemplateSpawner:
    """Forks workers from a template process that preloaded ``preload`` and froze its heap."""

    def __init__(
        self,
        *,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        heartbeat_s: float = 1.0,
        start_timeout_s: float = 30.0,
    ) -> None:
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            fd = theirs.fileno()
            code = f"from autoissue.pool._template import main; main([{fd!r}])"
            self._proc = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[fd], stdin=subprocess.DEVNULL
            )
        init = TemplateInit(list(sys.path), tuple(preload), heartbeat_s)
        try:
            self._sock.sendall(pickle.dumps(init))
            self._await_ready(start_timeout_s)
        except BaseException:
            self.close()
            raise
        self._sock.setblocking(False)

    def _await_ready(self, timeout: float) -> None:
        self._sock.settimeout(timeout)
        try:
            answer = self._sock.recv(16)
        except TimeoutError:
            answer = b""
        if answer != b"ready":
            raise PoolError("the pool's template process did not start (see its stderr)")

    @property
    def pid(self) -> int:
        """The template process's pid."""
        return self._proc.pid

    def spawn(self) -> Connection:
        """Send the template one end of a fresh pipe; the forked worker will hold it."""
        ours, theirs = socket.socketpair()
        with theirs:
            try:
                socket.send_fds(self._sock, [b"spawn"], [theirs.fileno()])
            except OSError as exc:
                ours.close()
                raise PoolError(f"the pool's template process is gone: {exc}") from exc
        return Connection(ours.detach())

    def fileno(self) -> int:
        """The template socket, readable when a reaped worker was reported."""
        return self._sock.fileno()

    def exits(self) -> list[tuple[int, int]]:
        """Read every exit record waiting on the socket."""
        found: list[tuple[int, int]] = []
        while True:
            try:
                record = self._sock.recv(EXIT_RECORD.size)
            except BlockingIOError:
                return found
            if not record:
                raise PoolError("the pool's template process exited")
            pid, code = EXIT_RECORD.unpack(record)
            found.append((pid, code))

    def close(self) -> None:
        """Hang up: the template kills and reaps its remaining workers, then exits."""
        self._sock.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a template stuck in reaping
            logger.warning("pool template %d did not exit; killing it", self._proc.pid)
            self._proc.kill()
            self._proc.wait()

    def __repr__(self) -> str:
        state = "closed" if self._sock.fileno() < 0 else "running"
        return f"<TemplateSpawner pid={self._proc.pid} {state}>"
