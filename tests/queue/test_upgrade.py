"""A queue left by a version from before groups keeps working: its items join the implicit group.

The old layouts are written here as that version wrote them (its SQLite schema, its Redis keys),
then opened with this one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from autoissue import FakeClock
from autoissue.model import Priority
from autoissue.queue import ErrorKind, Message, SqliteQueue, open_queue
from autoissue.queue._redis import RedisQueue

pytestmark = pytest.mark.timeout(30)

# The schema before groups, verbatim.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    ready_at REAL NOT NULL,
    enqueued_at REAL NOT NULL,
    expires_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    key TEXT,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    dead_at REAL
);
CREATE INDEX IF NOT EXISTS queue_items_fifo ON queue_items (priority, state, id);
CREATE INDEX IF NOT EXISTS queue_items_due ON queue_items (state, ready_at);
CREATE INDEX IF NOT EXISTS queue_items_ttl ON queue_items (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS queue_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
"""


def write_old_file(path: Path, now: float) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        rows = [
            # state, ready_at, attempts, key, payload, reason
            (0, now - 5, 0, "k-old-0", b"old-0", ""),
            (0, now - 5, 1, None, b"old-1", ""),
            (1, now + 30, 1, None, b"old-leased", ""),
            (2, now - 9, 2, None, b"old-dead", "permanent error"),
            (0, now - 5, 0, None, b"old-2", ""),
        ]
        conn.executemany(
            "INSERT INTO queue_items"
            " (priority, state, ready_at, enqueued_at, attempts, key, payload, reason, dead_at)"
            " VALUES (2, ?, ?, 0, ?, ?, ?, ?, 0)",
            rows,
        )
        conn.execute("INSERT INTO queue_keys VALUES ('k-old-0')")


def indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {name for (name,) in rows}


async def test_an_old_sqlite_file_is_upgraded_in_place(tmp_path: Path) -> None:
    path, clock = tmp_path / "old.db", FakeClock()
    write_old_file(path, clock.now)
    assert "queue_items_fifo" in indexes(path)
    async with SqliteQueue(path, clock=clock) as queue:
        assert await queue.put(b"again", key="k-old-0") is None  # its keys are still used
        await queue.put_many([Message(b"new-%d" % i, group="o/r") for i in range(3)])
        leases = await queue.claim_many(5, lease_s=60)
        assert [(lease.payload, lease.group) for lease in leases] == [
            (b"old-0", None),
            (b"new-0", "o/r"),
            (b"old-1", None),
            (b"new-1", "o/r"),
            (b"old-2", None),
        ]
        assert leases[2].attempts == 2
        [dead] = await queue.dead_letters()
        assert (dead.payload, dead.group, dead.reason) == (b"old-dead", None, "permanent error")
        clock.advance(30)  # the old lease ends: the item comes back, in the implicit group
        assert [(lease.payload, lease.group) for lease in await queue.claim_many(5)] == [
            (b"new-2", "o/r"),
            (b"old-leased", None),
        ]
    found = indexes(path)
    assert "queue_items_fair" in found
    assert "queue_items_tally" in found  # the backlog is counted from it, rows unread
    assert "queue_items_fifo" not in found


async def test_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    path, clock = tmp_path / "old.db", FakeClock()
    write_old_file(path, clock.now)
    async with SqliteQueue(path, clock=clock) as first:
        assert await first.claim() is not None
    async with SqliteQueue(path, clock=clock) as second:
        assert [lease.payload for lease in await second.claim_many(5)] == [b"old-1", b"old-2"]
        assert (await second.statistics()).in_flight == 4


@pytest.mark.redis
async def test_an_old_redis_queue_is_upgraded_on_first_use(redis_url: str) -> None:
    clock = FakeClock()
    probe = await open_queue(redis_url, clock=clock)
    assert isinstance(probe, RedisQueue)
    await write_old_keys(probe.client, probe.prefix, clock.now)
    await probe.close()
    queue = await open_queue(redis_url, clock=clock)
    assert (await queue.statistics()).depth[Priority.MEDIUM] == 2
    await queue.put_many([Message(b"new-0", group="o/r"), Message(b"new-1", group="o/r")])
    leases = await queue.claim_many(10, lease_s=60)
    assert [(lease.payload, lease.group) for lease in leases] == [
        (b"old-0", None),
        (b"new-0", "o/r"),
        (b"old-1", None),
        (b"new-1", "o/r"),
    ]
    assert await queue.nack(leases[0].id, ErrorKind.PERMANENT, "no") is not None
    [dead] = await queue.dead_letters()
    assert (dead.payload, dead.group) == (b"old-0", None)
    assert await queue.replay() == 1
    clock.advance(60)  # the old lease ends too
    again = await queue.claim_many(10)
    assert sorted((lease.payload, lease.group) for lease in again) == [
        (b"new-0", "o/r"),
        (b"new-1", "o/r"),
        (b"old-0", None),
        (b"old-1", None),
        (b"old-leased", None),
    ]
    await queue.close()


async def write_old_keys(client: aioredis.Redis, prefix: str, now: float) -> None:
    # As the version before groups left them: no ``g`` field, ready ids in P:ready:<p>.
    fields = {"p": 2, "a": 0, "e": now, "k": "", "x": "", "st": "w"}
    for item_id, payload in ((1, b"old-0"), (2, b"old-1")):
        await client.hset(f"{prefix}:item:{item_id}", mapping={**fields, "d": payload})
        await client.zadd(f"{prefix}:ready:2", {str(item_id): item_id})
    leased = {**fields, "d": b"old-leased", "a": 1, "st": "l"}
    await client.hset(f"{prefix}:item:3", mapping=leased)
    await client.zadd(f"{prefix}:leased", {"3": now + 30})
    await client.set(f"{prefix}:seq", 3)
