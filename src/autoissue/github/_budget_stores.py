"""Where a shared GitHub budget lives: a SQLite file on one machine, Redis across machines."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from autoissue._dsn import BackendSpec
from autoissue._exceptions import BackendUnavailableError
from autoissue._sqlite import SqliteDatabase
from autoissue.github._shared import BudgetStore, MemoryBudgetStore, budget_key

T = TypeVar("T")
_TTL_S = 7200  # a budget nobody touched for two hours describes windows long gone


class SqliteBudgetStore:
    """The budget in one row of a SQLite table; each change is one ``BEGIN IMMEDIATE``.

    It has a :class:`~autoissue.backend.SqliteDatabase` (connection and thread) of its own in
    the backend's file: every request of a run passes through it, and the queue's work must
    not wait behind those transactions, nor they behind the queue's.
    """

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        self._db = SqliteDatabase(path, busy_timeout_s=30.0)
        self._opened = False

    def __repr__(self) -> str:
        return f"<SqliteBudgetStore {self.path}>"

    async def transact(self, change: Callable[[bytes | None], tuple[bytes, T]]) -> T:
        """Read, change and write the budget in one transaction (off the event loop)."""
        try:
            if not self._opened:
                await self._db.open(_SCHEMA)
                self._opened = True
            return await self._db.run(lambda db: self._change(db, change))
        except BackendUnavailableError as error:
            raise BackendUnavailableError(f"GitHub budget in {error}") from error

    def _change(
        self, db: sqlite3.Connection, change: Callable[[bytes | None], tuple[bytes, T]]
    ) -> T:
        row = db.execute("SELECT state FROM github_budget WHERE key = ?", (self.key,)).fetchone()
        state, result = change(row[0] if row else None)
        db.execute(
            "INSERT INTO github_budget (key, state) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET state = excluded.state",
            (self.key, state),
        )
        return result

    async def close(self) -> None:
        """Close the database."""
        await self._db.close()


_SCHEMA = "CREATE TABLE IF NOT EXISTS github_budget (key TEXT PRIMARY KEY, state BLOB)"


class RedisBudgetStore:
    """The budget in one Redis key, changed in ``WATCH``/``MULTI`` optimistic transactions.

    ``client`` is closed by :meth:`close` only if the store ``owns_client`` (a backend's
    shared client is closed by the backend).
    """

    def __init__(self, client: Any, key: str, *, owns_client: bool = True) -> None:
        self._client, self.key, self._owns_client = client, key, owns_client

    def __repr__(self) -> str:
        return f"<RedisBudgetStore {self.key}>"

    async def transact(self, change: Callable[[bytes | None], tuple[bytes, T]]) -> T:
        """Read, change and write the budget; retried if another process wrote in between."""
        from redis.exceptions import RedisError, WatchError  # noqa: PLC0415 - optional extra

        try:
            async with self._client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        return await self._attempt(pipe, change)
                    except WatchError:
                        continue  # another process changed the budget: decide again
        except RedisError as error:
            raise BackendUnavailableError(f"GitHub budget in Redis: {error}") from error

    async def _attempt(self, pipe: Any, change: Callable[[bytes | None], tuple[bytes, T]]) -> T:
        await pipe.watch(self.key)
        state, result = change(await pipe.get(self.key))
        pipe.multi()
        pipe.set(self.key, state, ex=_TTL_S)
        await pipe.execute()
        return result

    async def close(self) -> None:
        """Close the connection pool, if it is the store's own."""
        if self._owns_client:
            await self._client.aclose()


def budget_store(spec: BackendSpec, *, base_url: str, token: str, redis: Any = None) -> BudgetStore:
    """The shared budget of ``token`` on ``base_url`` in the backend ``spec`` describes.

    On Redis, ``redis`` is a client to share (left open by the store); without one the store
    has a client of its own.
    """
    key = budget_key(base_url, token)
    if spec.kind == "memory":
        return MemoryBudgetStore()
    if spec.kind == "sqlite":
        assert spec.path is not None  # noqa: S101 - from_dsn always sets it for sqlite
        return SqliteBudgetStore(spec.path, key)
    if redis is not None:
        return RedisBudgetStore(redis, f"{spec.prefix}:{key}", owns_client=False)
    # Bytes kept as bytes, and timeouts so a gone server cannot hang us.
    from autoissue._redis import redis_client  # noqa: PLC0415 - the redis extra

    return RedisBudgetStore(redis_client(spec), f"{spec.prefix}:{key}")
