"""Where a shared GitHub budget lives: a SQLite file on one machine, Redis across machines."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from autoissue._exceptions import BackendUnavailableError
from autoissue._sqlite import enable_wal
from autoissue.github._shared import BudgetStore, MemoryBudgetStore, budget_key
from autoissue.queue import BackendSpec

T = TypeVar("T")
_TTL_S = 7200  # a budget nobody touched for two hours describes windows long gone


class SqliteBudgetStore:
    """The budget in one row of a SQLite table; ``BEGIN IMMEDIATE`` makes changes atomic."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        self._lock = threading.Lock()  # one connection, used from worker threads in turn
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"<SqliteBudgetStore {self.path}>"

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            enable_wal(db)
            db.execute(
                "CREATE TABLE IF NOT EXISTS github_budget (key TEXT PRIMARY KEY, state BLOB)"
            )
            self._db = db
        return self._db

    def _transact(self, change: Callable[[bytes | None], tuple[bytes, T]]) -> T:
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT state FROM github_budget WHERE key = ?", (self.key,)
                ).fetchone()
                state, result = change(row[0] if row else None)
                db.execute(
                    "INSERT INTO github_budget (key, state) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET state = excluded.state",
                    (self.key, state),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    async def transact(self, change: Callable[[bytes | None], tuple[bytes, T]]) -> T:
        """Read, change and write the budget in one transaction (off the event loop)."""
        try:
            return await asyncio.to_thread(self._transact, change)
        except (sqlite3.Error, OSError) as error:
            # OSError: the database's folder cannot be created (a read-only or absent parent).
            raise BackendUnavailableError(f"GitHub budget in {self.path}: {error}") from error

    async def close(self) -> None:
        """Close the database."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class RedisBudgetStore:
    """The budget in one Redis key, changed in ``WATCH``/``MULTI`` optimistic transactions."""

    def __init__(self, client: Any, key: str) -> None:
        self._client, self.key = client, key

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
        """Close the connection pool."""
        await self._client.aclose()


def open_budget_store(dsn: str, *, base_url: str, token: str) -> BudgetStore:
    """The shared budget of ``token`` on ``base_url`` in the backend named by ``dsn``.

    The same DSNs as the queue: ``memory://``, ``sqlite:///path.db``, ``redis://host/db``.
    """
    spec = BackendSpec.from_dsn(dsn)
    key = budget_key(base_url, token)
    if spec.kind == "memory":
        return MemoryBudgetStore()
    if spec.kind == "sqlite":
        assert spec.path is not None  # noqa: S101 - from_dsn always sets it for sqlite
        return SqliteBudgetStore(spec.path, key)
    # The queue's client: bytes kept as bytes, and timeouts so a gone server cannot hang us.
    from autoissue.queue._redis import redis_client  # noqa: PLC0415 - the redis extra

    return RedisBudgetStore(redis_client(spec), f"{spec.prefix}:{key}")
