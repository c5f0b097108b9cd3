"""Named shared-memory numpy arrays: the pool creates, owns and unlinks them; tasks attach.

A :class:`SharedArray` is a small picklable handle (name, shape, dtype). Passed to a task, it is
attached by name in the worker with :meth:`SharedArray.attach`, which maps the same pages: the
task reads and writes the parent's array without a copy. Each process maps a segment once and
keeps the mapping, so attaching again in the same worker costs a dictionary lookup.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import math
import os
import secrets
import threading
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SharedArray", "SharedArrays", "SharedStrings"]

logger = logging.getLogger(__name__)

# Segments this process has mapped, by name; guarded by _lock, as is the tracker patch below.
_lock = threading.Lock()
_mapped: dict[str, SharedMemory] = {}


class _Segment(SharedMemory):
    def __del__(self) -> None:
        # A numpy view may outlive its pool; the mapping then simply lives until the view goes.
        with contextlib.suppress(BufferError, OSError):
            self.close()


@contextlib.contextmanager
def _untracked() -> Iterator[None]:
    # Before Python 3.13 (track=False), attaching registers the segment with this process's
    # resource tracker, which would unlink it when this process exits (cpython#82300). Only the
    # pool that created a segment may unlink it.
    register = resource_tracker.register
    resource_tracker.register = lambda name, rtype: None
    try:
        yield
    finally:
        resource_tracker.register = register


def _map(name: str) -> SharedMemory:
    with _lock:
        segment = _mapped.get(name)
        if segment is None:
            with _untracked():
                segment = _Segment(name=name)
            _mapped[name] = segment
        return segment


@dataclass(frozen=True, slots=True)
class SharedArray:
    """A handle on a named shared-memory array; pickles small, attaches without copying."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        """The array's size in bytes."""
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def attach(self) -> npt.NDArray[Any]:
        """The array itself, over the shared pages: writes are seen by every process.

        Raises ``FileNotFoundError`` once the owning pool has released it.
        """
        segment = _map(self.name)
        return np.ndarray(self.shape, dtype=np.dtype(self.dtype), buffer=segment.buf)


@dataclass(frozen=True, slots=True)
class SharedStrings:
    """A sequence of strings in shared memory: their UTF-8 bytes and where each one ends.

    Like a :class:`SharedArray` it pickles small (two handles); :meth:`attach` decodes the
    strings once per process and keeps them, so a task pays for the decoding only the first
    time a worker meets them.
    """

    data: SharedArray
    ends: SharedArray

    @property
    def handles(self) -> tuple[SharedArray, SharedArray]:
        """The two shared arrays the strings are made of."""
        return (self.data, self.ends)

    def attach(self) -> tuple[str, ...]:
        """The strings, in order."""
        return _decoded(self)


@functools.lru_cache(maxsize=16)
def _decoded(strings: SharedStrings) -> tuple[str, ...]:
    # Segment names are never reused, so a cached decoding can never be of other contents.
    data = strings.data.attach().tobytes()
    ends = strings.ends.attach().tolist()
    starts = itertools.chain([0], ends)
    return tuple(data[start:end].decode() for start, end in zip(starts, ends, strict=False))


class SharedArrays:
    """The segments one owner (a pool, a processor) creates: unlinked by :meth:`close`.

    An owner that never calls :meth:`close` still leaves nothing behind: whatever it owns is
    unlinked when it is garbage-collected, or else when the interpreter exits.
    """

    def __init__(self) -> None:
        self._owned: dict[str, SharedMemory] = {}
        # Without this, segments of an owner that was never closed outlive it: the resource
        # tracker unlinks them only after the process has gone, warning of "leaked" objects.
        weakref.finalize(self, _unlink_all, self._owned, os.getpid())

    def create(self, shape: tuple[int, ...] | int, dtype: str = "float64") -> SharedArray:
        """A new zero-filled shared array of ``shape`` and ``dtype``."""
        dims = (shape,) if isinstance(shape, int) else tuple(shape)
        handle = SharedArray(f"autoissue-{os.getpid()}-{secrets.token_hex(6)}", dims, dtype)
        with _lock:
            segment = _Segment(name=handle.name, create=True, size=max(1, handle.nbytes))
            _mapped[handle.name] = segment
        self._owned[handle.name] = segment
        return handle

    def from_array(self, source: npt.ArrayLike) -> SharedArray:
        """A new shared array holding a copy of ``source`` (the one copy: into shared memory)."""
        data = np.asarray(source)
        handle = self.create(data.shape, data.dtype.str)
        handle.attach()[...] = data
        return handle

    def from_strings(self, values: Iterable[str]) -> SharedStrings:
        """New shared arrays holding ``values`` as UTF-8: a :class:`SharedStrings` handle."""
        encoded = [value.encode() for value in values]
        ends = np.cumsum([len(value) for value in encoded], dtype=np.int64)
        data = self.from_array(np.frombuffer(b"".join(encoded), dtype=np.uint8))
        try:
            return SharedStrings(data, self.from_array(ends))
        except BaseException:
            self.release(data)
            raise

    def release(self, handle: SharedArray) -> None:
        """Unlink one array now; tasks that still have it mapped keep their mapping."""
        _unlink(handle.name, self._owned.pop(handle.name))

    def close(self) -> None:
        """Unlink every array this pool created; idempotent."""
        for name in list(self._owned):
            self.release(SharedArray(name, (), "u1"))

    def __len__(self) -> int:
        return len(self._owned)

    def __repr__(self) -> str:
        return f"<SharedArrays owned={len(self._owned)}>"


def _unlink(name: str, segment: SharedMemory) -> None:
    with _lock:
        _mapped.pop(name, None)
    segment.unlink()
    with contextlib.suppress(BufferError):
        segment.close()


def _unlink_all(owned: dict[str, SharedMemory], creator: int) -> None:
    # A forked child inherits the owner's finalizer along with its heap; only the creator's
    # process may unlink, or a child leaving would take the parent's arrays with it.
    if os.getpid() != creator:
        return
    while owned:
        _unlink(*owned.popitem())
