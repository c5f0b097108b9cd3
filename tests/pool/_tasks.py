"""Task functions the pool tests run in real worker processes (importable: module:callable)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from typing import Any

from autoissue.pool import SharedArray, SharedStrings

# Memory a task keeps on purpose, to make its worker's RSS grow (the RSS recycling test).
_KEPT: list[bytes] = []


class Unpicklable(Exception):
    """An exception carrying a lock: it cannot cross a process boundary."""

    def __init__(self) -> None:
        super().__init__("holds a socket")
        self.sock = socket.socket()
        self.sock.close()


def add(a: int, b: int) -> int:
    return a + b


def pid() -> int:
    return os.getpid()


def echo(value: Any) -> Any:
    return value


def fail(message: str) -> None:
    raise ValueError(message)


def fail_unpicklably() -> None:
    raise Unpicklable


def unpicklable_result() -> Any:
    return lambda: None


def exit_hard(code: int) -> None:
    os._exit(code)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def hang() -> None:
    """Sleeps inside the worker, standing for a task stuck in a C call; only a kill ends it."""
    while True:
        time.sleep(60)


def hang_ignoring_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    hang()


def wait_for_file(path: str) -> int:
    """Block until ``path`` exists (the test creates it to release the task); return the pid."""
    while not os.path.exists(path):
        time.sleep(0.005)
    return os.getpid()


def touch_then_hang(path: str) -> None:
    """Say "I am running" by creating ``path`` (holding the pid), then hang until killed."""
    # Written aside, then renamed: ``path`` never exists without the pid in it.
    with open(path + ".part", "w") as marker:
        marker.write(str(os.getpid()))
    os.replace(path + ".part", path)
    hang()


def keep_memory(megabytes: int) -> int:
    """Keep ``megabytes`` of touched memory in a module-level list; return the pid."""
    _KEPT.append(b"x" * (megabytes * 1024 * 1024))
    return os.getpid()


def fill(handle: SharedArray, value: float) -> int:
    """Write ``value`` into every element of the shared array; return the buffer's address."""
    array = handle.attach()
    array[...] = value
    return int(array.__array_interface__["data"][0] != 0)


def total(handle: SharedArray) -> float:
    return float(handle.attach().sum())


def record(path: str, label: str) -> str:
    """Append ``label`` to ``path``: the order of these lines is the order tasks ran in."""
    with open(path, "a") as log:
        log.write(label + "\n")
    return label


def hold_gil(seconds: float) -> None:
    """Spin in pure Python without ever letting the heartbeat thread run."""
    sys.setswitchinterval(1000.0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def strings_of(handle: SharedStrings) -> tuple[tuple[str, ...], int]:
    """The strings as this worker decodes them, and its PID."""
    return handle.attach(), os.getpid()
