"""The template process: import once, freeze the heap, then fork a warm worker per request.

Started by :class:`~autoissue.pool.TemplateSpawner` as ``main([FD])`` in a fresh interpreter;
``FD`` is a ``SOCK_SEQPACKET`` socket to the pool, which carries:

* pool to template: one pickled :class:`TemplateInit` first, then ``b"spawn"`` messages, each
  with one file descriptor attached (``SCM_RIGHTS``): the worker's end of its own pipe;
* template to pool: ``b"ready"`` once preloaded, then one ``struct`` record ``(pid, exitcode)``
  per worker reaped (``exitcode`` negative for a signal, as in :mod:`subprocess`).

The template forks from a single-threaded process that has already imported everything, with
``gc.freeze()`` keeping those objects out of collections, so a child shares its pages instead of
copying them and is ready to run a task in about a millisecond. When the pool hangs up, the
template kills and reaps what is left and exits: it never leaves an orphan behind.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pickle
import selectors
import signal
import socket
import struct
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection

from autoissue.pool._worker import serve

__all__ = ["EXIT_RECORD", "TemplateInit", "main"]

#: One reaped worker: its pid and its exit code.
EXIT_RECORD = struct.Struct("=ii")


@dataclass(frozen=True, slots=True)
class TemplateInit:
    """What the template needs before its first fork."""

    sys_path: list[str]
    preload: tuple[str, ...]
    heartbeat_s: float


def _child(fd: int, closing: list[int], heartbeat_s: float) -> None:  # pragma: no cover
    # Runs only in a forked worker, which leaves through os._exit (no coverage data is saved
    # there); the worker loop itself is covered by tests that run serve() in-process.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for other in closing:
        os.close(other)
    code = 0
    try:
        serve(Connection(fd), heartbeat_s=heartbeat_s)
    except OSError:
        pass  # the pool hung up mid-send: nothing is waiting for this worker any more
    except BaseException:  # noqa: BLE001 - report anything, then exit with a code that says so
        sys.excepthook(*sys.exc_info())
        code = 70
    os._exit(code)


class Template:
    """The template's event loop: fork on request, report each reaped child."""

    def __init__(self, sock: socket.socket, heartbeat_s: float) -> None:
        self._sock = sock
        self._heartbeat_s = heartbeat_s
        self._children: set[int] = set()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def run(self) -> None:
        """Serve until the pool hangs up, then kill and reap every remaining child."""
        # SIGCHLD only has to wake the selector; the reaping happens in the loop.
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self._wake_w)
        selector = selectors.DefaultSelector()
        selector.register(self._sock, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        self._sock.send(b"ready")
        try:
            while self._step(selector):
                pass
        finally:
            selector.close()
            self._shutdown()

    def _step(self, selector: selectors.BaseSelector) -> bool:
        for key, _ in selector.select():
            if key.fileobj is self._sock:
                if not self._on_request():
                    return False
            else:
                os.read(self._wake_r, 4096)
                self._reap(os.WNOHANG)
        return True

    def _on_request(self) -> bool:
        try:
            message, fds, _, _ = socket.recv_fds(self._sock, 64, 1)
        except ConnectionResetError:
            return False  # the pool closed with exit records unread: a hang-up all the same
        if not message:
            return False
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns (see _child)
            _child(fds[0], [self._sock.fileno(), self._wake_r, self._wake_w], self._heartbeat_s)
        os.close(fds[0])
        self._children.add(pid)
        return True

    def _reap(self, flags: int) -> None:
        while self._children:
            pid, status = os.waitpid(-1, flags)
            if pid == 0:
                return
            self._children.discard(pid)
            # If the pool is gone, keep reaping anyway so nothing is left a zombie.
            with contextlib.suppress(OSError):
                self._sock.send(EXIT_RECORD.pack(pid, os.waitstatus_to_exitcode(status)))

    def _shutdown(self) -> None:
        for pid in self._children:
            os.kill(pid, signal.SIGKILL)
        self._reap(0)
        self._sock.close()


def main(argv: list[str]) -> None:
    """Read the init message from the socket at ``argv[0]``, preload, freeze, serve."""
    sock = socket.socket(fileno=int(argv[0]))
    init: TemplateInit = pickle.loads(sock.recv(1 << 20))  # noqa: S301 - our own parent wrote it
    sys.path[:] = init.sys_path
    for module in init.preload:
        importlib.import_module(module)
    # Ctrl-C reaches the whole process group; shutting workers down is the pool's decision.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.collect()
    gc.freeze()
    Template(sock, init.heartbeat_s).run()
