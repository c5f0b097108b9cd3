"""One backend per DSN: the queue and the state store on one SQLite database or Redis client.

A run, a worker and ``autoissue apply`` open the backend once: on SQLite the queue and the
state store (ledger, locks, artifacts, counters) share one connection and its thread, so their
transactions never wait on each other's write lock; on Redis they share one client (one
connection pool). Whoever opened the backend closes it; the parts never close what they share.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from autoissue._clock import Clock
from autoissue._dsn import DEFAULT_SQLITE_PATH, BackendSpec
from autoissue._sqlite import SqliteDatabase
from autoissue.concurrency import MemoryHistoryStore, ScalingHistory
from autoissue.github import BudgetStore, budget_store
from autoissue.queue import MemoryQueue, Queue, SqliteQueue
from autoissue.state import MemoryStateStore, SqliteStateStore, StateStore

logger = logging.getLogger(__name__)

#: Where a scaling history is kept among the state store's artifacts.
_HISTORY = "scaling-history:"

#: Items waiting in the queue before the pager waits: enough to keep any worker busy, small
#: enough that memory does not follow the backlog.
DEFAULT_MAX_DEPTH = 2_000


@dataclass(frozen=True)
class Backend:
    """An open queue and state store, on the store ``spec`` names.

    ``redis`` is the client every part on Redis shares (``None`` elsewhere).
    """

    spec: BackendSpec
    queue: Queue
    state: StateStore
    redis: Any = None

    def __repr__(self) -> str:
        return f"<Backend {self.spec.describe()}>"

    def budget_store(self, base_url: str, token: str) -> BudgetStore:
        """The GitHub budget ``token`` shares on ``base_url``, kept in this backend.

        On Redis it uses the backend's client; on SQLite a connection of its own to the same
        file (every request passes through it: it must not queue behind the queue's work).
        The caller closes the store; the backend closes what it shares.
        """
        return budget_store(self.spec, base_url=base_url, token=token, redis=self.redis)

    async def scaling_history(self, name: str) -> MemoryHistoryStore:
        """What the concurrency controller learned under ``name``, kept in this backend.

        Load it before the controller is built (it starts from it), and give it back to
        :meth:`keep_scaling_history` once the run ends: every machine on a shared backend
        starts where the last run of any of them ended. Unreadable history is ignored.
        """
        data = await self.state.load_artifact(_HISTORY + name)
        if data is None:
            return MemoryHistoryStore()
        try:
            return MemoryHistoryStore(msgspec.json.decode(data, type=ScalingHistory))
        except msgspec.DecodeError as error:
            logger.warning("ignoring unreadable scaling history %s: %s", name, error)
            return MemoryHistoryStore()

    async def keep_scaling_history(self, name: str, store: MemoryHistoryStore) -> None:
        """Keep what the controller saved into ``store`` under ``name`` (nothing if nothing)."""
        if store.history is not None:
            await self.state.save_artifact(_HISTORY + name, msgspec.json.encode(store.history))


@contextlib.asynccontextmanager
async def open_backend(
    dsn: str, *, max_depth: int = DEFAULT_MAX_DEPTH, clock: Clock | None = None
) -> AsyncIterator[Backend]:
    """Open the backend ``dsn`` names; close it on exit.

    Raises :class:`~autoissue.ConfigurationError` for a bad DSN and
    :class:`~autoissue.BackendUnavailableError` when the database or server cannot be reached.
    """
    spec = BackendSpec.from_dsn(dsn)
    if spec.kind == "sqlite":
        async with _sqlite(spec, max_depth, clock) as backend:
            yield backend
    elif spec.kind == "redis":
        async with _redis(spec, max_depth, clock) as backend:
            yield backend
    else:
        yield Backend(spec, MemoryQueue(max_depth=max_depth), MemoryStateStore(clock=clock))


@contextlib.asynccontextmanager
async def _sqlite(spec: BackendSpec, max_depth: int, clock: Clock | None) -> AsyncIterator[Backend]:
    db = SqliteDatabase(spec.path or DEFAULT_SQLITE_PATH)
    try:
        queue = await SqliteQueue(db=db, max_depth=max_depth).open()
        state = await SqliteStateStore(db=db, clock=clock).open()
        yield Backend(spec, queue, state)
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def _redis(spec: BackendSpec, max_depth: int, clock: Clock | None) -> AsyncIterator[Backend]:
    # redis is an optional dependency (the "redis" extra), imported only for redis:// DSNs.
    from autoissue._redis import connect_redis  # noqa: PLC0415
    from autoissue.queue._redis import RedisQueue  # noqa: PLC0415
    from autoissue.state._redis import RedisStateStore  # noqa: PLC0415

    client = await connect_redis(spec)
    where = spec.describe()
    try:
        queue = RedisQueue(
            client, prefix=spec.prefix, where=where, owns_client=False, max_depth=max_depth
        )
        state = RedisStateStore(
            client, prefix=spec.prefix, where=where, owns_client=False, clock=clock
        )
        yield Backend(spec, queue, state, redis=client)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def fresh_backend(max_depth: int = DEFAULT_MAX_DEPTH) -> AsyncIterator[Backend]:
    """The embedded default (SQLite) in a temporary file: a demo or a bench starts afresh."""
    with tempfile.TemporaryDirectory(prefix="autoissue-") as where:
        async with open_backend(f"sqlite:///{Path(where) / 'state.db'}", max_depth=max_depth) as b:
            yield b
