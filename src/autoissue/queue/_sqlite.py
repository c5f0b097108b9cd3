"""The embedded default backend: one SQLite file in WAL mode, shared by any local processes.

One table holds every item; ``state`` says waiting, leased or dead, and ``ready_at`` is when a
waiting item becomes visible or when a lease ends, so one index, by priority, state, group and
id, serves fair claims (:mod:`autoissue.queue._sqlite_fair`), another finds due leases and a
third counts the backlog without reading a row. ``queue_rotation`` keeps, per priority, the
group served last. Each hook is one ``BEGIN IMMEDIATE`` transaction (see
:mod:`autoissue._sqlite`): a batch claim costs a handful of indexed statements whatever its
size (and about two more per group it spans), which is where the throughput comes from.
AUTOINCREMENT keeps ids unique for the file's life, so a stale ack can never hit a newer item.

The schema has no version number: :func:`upgrade` looks at the table and adds what an older
file lacks (the ``grp`` column and its index), so a queue file from before groups keeps its
items, which all join the implicit group.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from autoissue._dsn import DEFAULT_SQLITE_PATH
from autoissue._sqlite import SqliteDatabase
from autoissue.model import Priority
from autoissue.queue._base import Decide, Queue
from autoissue.queue._policy import Decision
from autoissue.queue._sqlite_fair import pick
from autoissue.queue._types import Backlog, DeadLetter, Lease, Message

_WAITING, _LEASED, _DEAD = 0, 1, 2

SCHEMA = """
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
    dead_at REAL,
    grp TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_items_due ON queue_items (state, ready_at);
CREATE INDEX IF NOT EXISTS queue_items_ttl ON queue_items (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS queue_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_rotation (priority INTEGER PRIMARY KEY, grp TEXT NOT NULL);
"""

#: What :func:`upgrade` runs once the table has its ``grp`` column. The FIFO index before
#: groups, (priority, state, id), is dropped: the fair one serves every claim. The tally
#: index covers the backlog count, which a bounded queue takes before each put: counted from
#: it, rows (payloads and all) are not read, and the count comes grouped in index order.
_INDEXES = """
CREATE INDEX IF NOT EXISTS queue_items_fair ON queue_items (priority, state, grp, id);
CREATE INDEX IF NOT EXISTS queue_items_tally ON queue_items (state, priority, ready_at, attempts);
DROP INDEX IF EXISTS queue_items_fifo
"""

_DEAD_COLUMNS = "id, priority, attempts, reason, last_error, dead_at, key, payload, grp"


class SqliteQueue(Queue):
    """A :class:`Queue` in a SQLite file (default ``.autoissue/state.db``).

    Open it with ``await queue.open()`` (or ``async with``); see :class:`Queue` for options.
    ``db`` shares a database another store uses (the queue then leaves closing it to its
    owner); without it the queue opens ``path`` on a connection of its own.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_SQLITE_PATH,
        *,
        busy_timeout_s: float = 5.0,
        db: SqliteDatabase | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._owns_db = db is None
        self.db = db or SqliteDatabase(path, busy_timeout_s=busy_timeout_s)

    async def open(self) -> SqliteQueue:
        """Create the file and its tables if needed, upgrade an older file; return the queue."""
        await self.db.open(SCHEMA)
        await self.db.run(upgrade)
        return self

    async def __aenter__(self) -> SqliteQueue:
        return await self.open()

    def describe(self) -> str:
        """The database file's path as a DSN."""
        return f"sqlite:///{self.db.path}"

    def _housekeep(self, conn: sqlite3.Connection, now: float) -> None:
        # Expired leases return (or die out of attempts); then waiting items past their TTL die.
        # Leases seldom expire: one probe of the (state, ready_at) index usually spares the
        # claim both updates (a claim of one is a dozen statements, so this is worth it).
        due = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM queue_items WHERE state = ? AND ready_at <= ?)",
            (_LEASED, now),
        ).fetchone()[0]
        if due:
            self._return_leases(conn, now)
        conn.execute(
            "UPDATE queue_items INDEXED BY queue_items_ttl SET state = ?, dead_at = ?,"
            " reason = 'expired before it was claimed (ttl)'"
            " WHERE expires_at <= ? AND state = ?",
            (_DEAD, now, now, _WAITING),
        )

    def _return_leases(self, conn: sqlite3.Connection, now: float) -> None:
        conn.execute(
            "UPDATE queue_items SET state = ?, dead_at = ?,"
            " reason = 'lease expired on all ' || attempts || ' attempts'"
            " WHERE state = ? AND ready_at <= ? AND attempts >= ?",
            (_DEAD, now, _LEASED, now, self.retry.max_attempts),
        )
        conn.execute(
            "UPDATE queue_items SET state = ? WHERE state = ? AND ready_at <= ?",
            (_WAITING, _LEASED, now),
        )

    async def _put(self, messages: list[Message], now: float) -> list[str | None]:
        def put(conn: sqlite3.Connection) -> list[str | None]:
            return [_insert(conn, message, now) for message in messages]

        return await self.db.run(put)

    async def _claim(self, n: int, now: float, lease_until: float, tick: int) -> list[Lease]:
        def claim(conn: sqlite3.Connection) -> list[Lease]:
            self._housekeep(conn, now)
            chosen = pick(conn, now, n, self.priorities.runs(tick, n))
            conn.executemany(
                "UPDATE queue_items SET state = ?, ready_at = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [(_LEASED, lease_until, row[0]) for row in chosen],
            )
            return _leases(conn, chosen, lease_until, now)

        return await self.db.run(claim)

    async def _heartbeat(self, ids: list[str], lease_until: float) -> list[str]:
        def heartbeat(conn: sqlite3.Connection) -> list[str]:
            return [
                item_id
                for item_id in ids
                if conn.execute(
                    "UPDATE queue_items SET ready_at = ? WHERE id = ? AND state = ?",
                    (lease_until, _int(item_id), _LEASED),
                ).rowcount
            ]

        return await self.db.run(heartbeat)

    async def _ack(self, ids: list[str]) -> int:
        def ack(conn: sqlite3.Connection) -> int:
            cursor = conn.executemany(
                "DELETE FROM queue_items WHERE id = ? AND state = ?",
                [(_int(item_id), _LEASED) for item_id in ids],
            )
            return max(0, cursor.rowcount)

        return await self.db.run(ack)

    async def _nack(self, item_id: str, decide: Decide, error: str, now: float) -> Decision | None:
        def nack(conn: sqlite3.Connection) -> Decision | None:
            row = conn.execute(
                "SELECT attempts FROM queue_items WHERE id = ? AND state = ?",
                (_int(item_id), _LEASED),
            ).fetchone()
            if row is None:
                return None
            decision = decide(int(row[0]))
            if decision.retry_at is None:
                _bury(conn, item_id, decision.reason, error, now)
            else:
                conn.execute(
                    "UPDATE queue_items SET state = ?, ready_at = ?, last_error = ? WHERE id = ?",
                    (_WAITING, decision.retry_at, error, _int(item_id)),
                )
            return decision

        return await self.db.run(nack)

    async def _dead_letters(self, limit: int) -> list[DeadLetter]:
        def dead(conn: sqlite3.Connection) -> list[DeadLetter]:
            rows = conn.execute(
                f"SELECT {_DEAD_COLUMNS} FROM queue_items WHERE state = ?"  # noqa: S608 - constant
                " ORDER BY dead_at, id LIMIT ?",
                (_DEAD, limit),
            )
            return [_dead_letter(row) for row in rows]

        return await self.db.run(dead)

    async def _dead_letter(self, item_id: str) -> DeadLetter | None:
        def one(conn: sqlite3.Connection) -> DeadLetter | None:
            row = conn.execute(
                f"SELECT {_DEAD_COLUMNS} FROM queue_items WHERE id = ? AND state = ?",  # noqa: S608
                (_int(item_id), _DEAD),
            ).fetchone()
            return None if row is None else _dead_letter(row)

        return await self.db.run(one)

    async def _replay(self, ids: list[str] | None, now: float) -> int:
        def replay(conn: sqlite3.Connection) -> int:
            sql = (
                "UPDATE queue_items SET state = ?, attempts = 0, reason = '', ready_at = ?,"
                " expires_at = NULL"
            )
            return _each_dead(conn, sql, (_WAITING, now), ids)

        return await self.db.run(replay)

    async def _purge(self, ids: list[str] | None) -> int:
        def purge(conn: sqlite3.Connection) -> int:
            return _each_dead(conn, "DELETE FROM queue_items", (), ids)

        return await self.db.run(purge)

    async def _backlog(self, now: float) -> Backlog:
        def backlog(conn: sqlite3.Connection) -> Backlog:
            self._housekeep(conn, now)
            rows = conn.execute(
                "SELECT state, priority, count(*), total(ready_at > ?), total(attempts > 0)"
                " FROM queue_items INDEXED BY queue_items_tally GROUP BY state, priority",
                (now,),
            ).fetchall()
            return _tally(rows)

        return await self.db.run(backlog)

    async def _close(self) -> None:
        if self._owns_db:
            await self.db.close()


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring a queue table made by an older version up to this one's; idempotent.

    A file from before groups lacks the ``grp`` column: adding it with its default puts every
    item in the implicit group, in place (SQLite adds a column without rewriting rows).
    """
    columns = {row[1] for row in conn.execute("PRAGMA table_info(queue_items)")}
    if "grp" not in columns:
        conn.execute("ALTER TABLE queue_items ADD COLUMN grp TEXT NOT NULL DEFAULT ''")
    for statement in _INDEXES.split(";"):
        conn.execute(statement)


def _int(item_id: str) -> int:
    # Ids are decimal strings on every backend; anything else names no item.
    return int(item_id) if item_id.isdigit() else -1


def _insert(conn: sqlite3.Connection, message: Message, now: float) -> str | None:
    if message.key is not None:
        fresh = conn.execute("INSERT OR IGNORE INTO queue_keys (key) VALUES (?)", (message.key,))
        if not fresh.rowcount:
            return None
    cursor = conn.execute(
        "INSERT INTO queue_items (priority, ready_at, enqueued_at, expires_at, key, payload, grp)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            int(message.priority),
            max(now, message.not_before or now),
            now,
            None if message.ttl_s is None else now + message.ttl_s,
            message.key,
            message.payload,
            message.group or "",
        ),
    )
    return str(cursor.lastrowid)


def _leases(
    conn: sqlite3.Connection, rows: list[Any], lease_until: float, now: float
) -> list[Lease]:
    leases = []
    for item_id, priority, attempts, _, enqueued_at, key, payload, group in rows:
        if not isinstance(payload, bytes):
            # A damaged row must not stop the run: it goes to the dead letters for a human.
            _bury(conn, str(item_id), "corrupt item", f"payload is {type(payload).__name__}", now)
            continue
        leases.append(
            Lease(
                str(item_id),
                payload,
                Priority(priority),
                attempts + 1,
                lease_until,
                enqueued_at,
                key,
                group or None,
            )
        )
    return leases


def _bury(conn: sqlite3.Connection, item_id: str, reason: str, error: str, now: float) -> None:
    conn.execute(
        "UPDATE queue_items SET state = ?, reason = ?, last_error = ?, dead_at = ? WHERE id = ?",
        (_DEAD, reason, error, now, _int(item_id)),
    )


def _each_dead(
    conn: sqlite3.Connection, sql: str, args: tuple[Any, ...], ids: list[str] | None
) -> int:
    if ids is None:
        return conn.execute(f"{sql} WHERE state = ?", (*args, _DEAD)).rowcount
    cursor = conn.executemany(
        f"{sql} WHERE id = ? AND state = ?", [(*args, _int(i), _DEAD) for i in ids]
    )
    return max(0, cursor.rowcount)


def _dead_letter(row: Any) -> DeadLetter:
    item_id, priority, attempts, reason, last_error, dead_at, key, payload, group = row
    blob = payload if isinstance(payload, bytes) else str(payload).encode()
    return DeadLetter(
        str(item_id),
        blob,
        Priority(priority),
        attempts,
        reason,
        last_error,
        dead_at,
        key,
        group or None,
    )


def _tally(rows: list[Any]) -> Backlog:
    """The backlog from per-(state, priority) rows of count, delayed and tried items."""
    ready = dict.fromkeys(Priority, 0)
    delayed = in_flight = retrying = dead = 0
    for state, priority, count, later, tried in rows:
        if state == _DEAD:
            dead += count
        elif state == _LEASED:
            in_flight += count
        else:
            retrying += int(tried)
            delayed += int(later)
            ready[Priority(priority)] += count - int(later)
    return Backlog(ready, delayed, in_flight, retrying, dead)
