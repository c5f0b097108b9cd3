"""The SQLite runner's edges: use before open, an in-memory database, repeated open, a lock
held by another connection (waited for off the event loop, in order, within the timeout)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from autoissue import BackendUnavailableError
from autoissue.backend import SqliteDatabase
from autoissue.queue import MemoryQueue


async def test_use_before_open_is_a_clear_error() -> None:
    db = SqliteDatabase(":memory:")
    assert repr(db) == "SqliteDatabase(':memory:')"
    with pytest.raises(BackendUnavailableError, match="nothing was changed"):
        await db.run(lambda conn: conn.execute("SELECT 1"))
    await db.close()


async def test_an_in_memory_database_opens_once_and_takes_every_store_s_tables() -> None:
    db = SqliteDatabase(":memory:")
    await db.open("CREATE TABLE t (x)")
    await db.open("CREATE TABLE u (y)")  # already open: the same connection, another table
    await db.run(lambda conn: conn.execute("INSERT INTO u VALUES (2)"))
    await db.run(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))
    rows = await db.run(lambda conn: conn.execute("SELECT x FROM t").fetchall())
    assert rows == [(1,)]
    with pytest.raises(BackendUnavailableError):
        await db.run(lambda conn: conn.execute("INSERT INTO nowhere VALUES (1)"))
    await db.close()


async def test_a_failed_statement_rolls_back_the_whole_step() -> None:
    db = SqliteDatabase(":memory:")
    await db.open("CREATE TABLE t (x)")

    def half(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("INSERT INTO missing VALUES (1)")

    with pytest.raises(BackendUnavailableError):
        await db.run(half)
    assert await db.run(lambda conn: conn.execute("SELECT count(*) FROM t").fetchone()) == (0,)
    await db.close()


async def test_memory_queue_as_a_context_manager() -> None:
    async with MemoryQueue() as queue:
        assert await queue.put(b"x") == "1"
        assert "memory://" in repr(queue)


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another process's view: a connection of its own holding the file's write lock."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def test_a_call_waits_off_the_loop_while_another_connection_holds_the_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    db = SqliteDatabase(path, busy_timeout_s=5.0)
    await db.open("CREATE TABLE t (x)")
    holder = hold_write_lock(path)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(tick())
    insert = asyncio.create_task(db.run(lambda conn: conn.execute("INSERT INTO t VALUES (1)")))
    await asyncio.sleep(0.2)
    assert not insert.done()  # waiting for the lock
    assert ticks >= 10  # on the thread: the loop went on meanwhile
    # A call made while one waits on the thread queues behind it, in order.
    second = asyncio.create_task(db.run(lambda conn: conn.execute("INSERT INTO t VALUES (2)")))
    holder.execute("ROLLBACK")
    await asyncio.gather(insert, second)
    ticking.cancel()
    rows = await db.run(lambda conn: conn.execute("SELECT x FROM t ORDER BY rowid").fetchall())
    assert rows == [(1,), (2,)]
    holder.close()
    await db.close()


async def test_a_lock_held_beyond_the_busy_timeout_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    db = SqliteDatabase(path, busy_timeout_s=0.05)
    await db.open("CREATE TABLE t (x)")
    holder = hold_write_lock(path)
    with pytest.raises(BackendUnavailableError, match="another process holds its write lock"):
        await db.run(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))
    holder.execute("ROLLBACK")
    await db.run(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))  # at once, on the loop
    assert await db.run(lambda conn: conn.execute("SELECT count(*) FROM t").fetchone()) == (1,)
    holder.close()
    await db.close()


async def test_a_call_on_a_closed_database_is_a_clear_error(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "closed.db")
    await db.open("CREATE TABLE t (x)")
    await db.close()
    with pytest.raises(BackendUnavailableError, match="closed"):
        await db.run(lambda conn: conn.execute("SELECT 1"))
