"""The durable backend of a run or a worker: the queue and the state store behind one DSN."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from autoissue.queue import Queue, open_queue
from autoissue.state import StateStore, open_state

#: Items waiting in the queue before the pager waits: enough to keep any worker busy, small
#: enough that memory does not follow the backlog.
DEFAULT_MAX_DEPTH = 2_000


@dataclass(frozen=True)
class Backend:
    """An open queue and state store, in the same SQLite file or Redis server."""

    queue: Queue
    state: StateStore


@contextlib.asynccontextmanager
async def open_backend(dsn: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> AsyncIterator[Backend]:
    """Open the queue and the state store ``dsn`` names; close both on exit."""
    queue = await open_queue(dsn, max_depth=max_depth)
    try:
        state = await open_state(dsn)
        try:
            yield Backend(queue, state)
        finally:
            await state.close()
    finally:
        await queue.close()


@contextlib.asynccontextmanager
async def fresh_backend(max_depth: int = DEFAULT_MAX_DEPTH) -> AsyncIterator[Backend]:
    """The embedded default (SQLite) in a temporary file: a demo or a bench starts afresh."""
    with tempfile.TemporaryDirectory(prefix="autoissue-") as where:
        async with open_backend(f"sqlite:///{Path(where) / 'state.db'}", max_depth=max_depth) as b:
            yield b
