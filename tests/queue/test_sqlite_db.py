"""The SQLite runner's edges: use before open, an in-memory database, repeated open."""

from __future__ import annotations

import sqlite3

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
