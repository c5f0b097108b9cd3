"""The state store in the SQLite file the queue uses (seven more tables, same WAL file).

A total is a ``counters`` row; a member set is its ``counter_members`` rows, which all carry
the set's ``expires_at``. An expired total or set is deleted by the next call that writes it
and ignored by reads, as the injected clock tells. A key is a ``state_keys`` row; since most
keys are added once and never written again, adding one deletes every expired key. A queued
mark is a ``queued_marks`` row, deleted by the transaction that records a finished ledger entry
at or past its version.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from autoissue._clock import Clock
from autoissue._dsn import DEFAULT_SQLITE_PATH
from autoissue._exceptions import CorruptItemError
from autoissue._sqlite import SqliteDatabase
from autoissue.state._base import (
    LedgerEntry,
    MarkKey,
    QueuedVersion,
    StateStore,
    fresh_entry,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    issue TEXT NOT NULL,
    processor TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT '[]',
    recorded_at REAL NOT NULL,
    PRIMARY KEY (issue, processor)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (
    issue TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS artifacts (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    saved_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    total INTEGER NOT NULL,
    expires_at REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counter_members (
    key TEXT NOT NULL,
    member TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (key, member)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state_keys (
    key TEXT PRIMARY KEY,
    expires_at REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS state_keys_by_expiry ON state_keys (expires_at);
CREATE TABLE IF NOT EXISTS queued_marks (
    issue TEXT NOT NULL,
    processor TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (issue, processor)
) WITHOUT ROWID;
"""

_SELECT = (
    "SELECT issue, processor, updated_at, outcome, actions, recorded_at FROM ledger"
    " WHERE issue = ? AND processor = ?"
)


class SqliteStateStore(StateStore):
    """A :class:`StateStore` in a SQLite file; open it with ``await store.open()``.

    ``db`` shares a database another store uses (the state store then leaves closing it to
    its owner); without it the store opens ``path`` on a connection of its own.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_SQLITE_PATH,
        *,
        clock: Clock | None = None,
        busy_timeout_s: float = 5.0,
        db: SqliteDatabase | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self._owns_db = db is None
        self.db = db or SqliteDatabase(path, busy_timeout_s=busy_timeout_s)

    async def open(self) -> SqliteStateStore:
        """Create the tables if needed; return the store."""
        await self.db.open(SCHEMA)
        return self

    def describe(self) -> str:
        """The database file's path as a DSN."""
        return f"sqlite:///{self.db.path}"

    async def _record(self, entry: LedgerEntry) -> None:
        await self.db.run(lambda conn: _settle(conn, entry))

    async def _applied(
        self, issue: str, processor: str, updated_at: str, action: str, now: float
    ) -> LedgerEntry:
        def applied(conn: sqlite3.Connection) -> LedgerEntry:
            entry = _read(conn, issue, processor)
            if entry is None or entry.updated_at != updated_at:
                entry = fresh_entry(issue, processor, updated_at, now)
            entry = LedgerEntry(
                issue, processor, updated_at, entry.outcome, (*entry.actions, action), now
            )
            _write(conn, entry)
            return entry

        return await self.db.run(applied)

    async def _lookup(self, issue: str, processor: str) -> LedgerEntry | None:
        return await self.db.run(lambda conn: _read(conn, issue, processor))

    async def _acquire(self, issue: str, owner: str, now: float, until: float) -> bool:
        taken = await self.db.run(lambda conn: _lock_all(conn, [issue], owner, now, until))
        return bool(taken)

    async def _refresh(self, issue: str, owner: str, now: float, until: float) -> bool:
        return bool(await self._refresh_many([issue], owner, now, until))

    async def _release(self, issue: str, owner: str) -> bool:
        return await self.db.run(lambda conn: conn.execute(_UNLOCK, (issue, owner)).rowcount == 1)

    async def _owner(self, issue: str, now: float) -> str | None:
        sql = "SELECT owner FROM locks WHERE issue = ? AND expires_at > ?"
        row = await self.db.run(lambda conn: conn.execute(sql, (issue, now)).fetchone())
        return None if row is None else str(row[0])

    async def _counts(self, now: float) -> tuple[int, int]:
        def counts(conn: sqlite3.Connection) -> tuple[int, int]:
            entries = conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
            locks = conn.execute("SELECT count(*) FROM locks WHERE expires_at > ?", (now,))
            return int(entries), int(locks.fetchone()[0])

        return await self.db.run(counts)

    async def _close(self) -> None:
        if self._owns_db:
            await self.db.close()

    async def _save_artifact(self, key: str, data: bytes) -> None:
        sql = "INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?)"
        now = self.clock.time()
        await self.db.run(lambda conn: _execute(conn, sql, [(key, data, now)]))

    async def _load_artifact(self, key: str) -> bytes | None:
        sql = "SELECT data FROM artifacts WHERE key = ?"
        row = await self.db.run(lambda conn: conn.execute(sql, (key,)).fetchone())
        return None if row is None else bytes(row[0])

    async def _increment(self, key: str, amount: int, now: float, until: float | None) -> int:
        def increment(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM counters WHERE key = ? AND expires_at <= ?", (key, now))
            return int(conn.execute(_INCREMENT, (key, amount, until)).fetchone()[0])

        return await self.db.run(increment)

    async def _counter(self, key: str, now: float) -> int:
        sql = "SELECT total FROM counters WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)"
        row = await self.db.run(lambda conn: conn.execute(sql, (key, now)).fetchone())
        return 0 if row is None else int(row[0])

    async def _add_member(self, key: str, member: str, now: float, until: float | None) -> int:
        return await self.db.run(lambda conn: _add(conn, key, member, now, until))

    async def _add_if_absent(self, key: str, now: float, until: float | None) -> bool:
        def add(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM state_keys WHERE expires_at <= ?", (now,))
            sql = "INSERT OR IGNORE INTO state_keys (key, expires_at) VALUES (?, ?)"
            return conn.execute(sql, (key, until)).rowcount == 1

        return await self.db.run(add)

    async def _is_present(self, key: str, now: float) -> bool:
        sql = "SELECT 1 FROM state_keys WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)"
        return await self.db.run(lambda conn: conn.execute(sql, (key, now)).fetchone() is not None)

    # -- batched: one transaction each -------------------------------------------------------

    async def _record_many(self, entries: list[LedgerEntry]) -> None:
        def record(conn: sqlite3.Connection) -> None:
            for entry in entries:
                _settle(conn, entry)

        await self.db.run(record)

    async def _lookup_many(self, issues: list[str], processor: str) -> dict[str, LedgerEntry]:
        def lookup(conn: sqlite3.Connection) -> dict[str, LedgerEntry]:
            found = {}
            for issue in issues:
                entry = _read(conn, issue, processor)
                if entry is not None:
                    found[issue] = entry
            return found

        return await self.db.run(lookup)

    async def _acquire_many(
        self, issues: list[str], owner: str, now: float, until: float
    ) -> set[str]:
        return await self.db.run(lambda conn: _lock_all(conn, issues, owner, now, until))

    async def _refresh_many(
        self, issues: list[str], owner: str, now: float, until: float
    ) -> set[str]:
        def refresh(conn: sqlite3.Connection) -> set[str]:
            return {i for i in issues if conn.execute(_EXTEND, (until, i, owner, now)).rowcount}

        return await self.db.run(refresh)

    async def _release_many(self, issues: list[str], owner: str) -> None:
        await self.db.run(lambda conn: _execute(conn, _UNLOCK, [(i, owner) for i in issues]))

    async def _mark_queued(self, versions: list[QueuedVersion]) -> None:
        await self.db.run(lambda conn: _execute(conn, _RAISE_MARK, versions))

    async def _queued_marks(self, keys: list[MarkKey]) -> dict[MarkKey, str]:
        def read(conn: sqlite3.Connection) -> dict[MarkKey, str]:
            found = {}
            for key in keys:
                row = conn.execute(_READ_MARK, key).fetchone()
                if row is not None:
                    found[key] = str(row[0])
            return found

        return await self.db.run(read)


# Extend a lock that is ours and live; free one that is ours.
_EXTEND = "UPDATE locks SET expires_at = ? WHERE issue = ? AND owner = ? AND expires_at > ?"
_UNLOCK = "DELETE FROM locks WHERE issue = ? AND owner = ?"
# Insert, or take over a lock that is ours or expired; anything else is refused.
_LOCK = (
    "INSERT INTO locks (issue, owner, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (issue) DO UPDATE SET owner = excluded.owner,"
    " expires_at = excluded.expires_at WHERE locks.owner = ? OR locks.expires_at <= ?"
)

# Raise a mark, or create it: BINARY collation compares the versions as text.
_RAISE_MARK = (
    "INSERT INTO queued_marks (issue, processor, updated_at) VALUES (?, ?, ?)"
    " ON CONFLICT (issue, processor) DO UPDATE"
    " SET updated_at = max(queued_marks.updated_at, excluded.updated_at)"
)
_READ_MARK = "SELECT updated_at FROM queued_marks WHERE issue = ? AND processor = ?"
_DROP_MARK = "DELETE FROM queued_marks WHERE issue = ? AND processor = ? AND updated_at <= ?"

# Add to a total, creating it if absent; an expiry it has already stays.
_INCREMENT = (
    "INSERT INTO counters (key, total, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET total = counters.total + excluded.total,"
    " expires_at = coalesce(counters.expires_at, excluded.expires_at) RETURNING total"
)
# A new member takes the set's expiry, or ``until`` if the set is new.
_ADD_MEMBER = (
    "INSERT OR IGNORE INTO counter_members (key, member, expires_at) VALUES"
    " (?1, ?2, coalesce((SELECT expires_at FROM counter_members WHERE key = ?1 LIMIT 1), ?3))"
)


def _add(conn: sqlite3.Connection, key: str, member: str, now: float, until: float | None) -> int:
    conn.execute("DELETE FROM counter_members WHERE key = ? AND expires_at <= ?", (key, now))
    if until is not None:  # a set without an expiry yet takes this one
        sql = "UPDATE counter_members SET expires_at = ? WHERE key = ? AND expires_at IS NULL"
        conn.execute(sql, (until, key))
    conn.execute(_ADD_MEMBER, (key, member, until))
    size = conn.execute("SELECT count(*) FROM counter_members WHERE key = ?", (key,))
    return int(size.fetchone()[0])


def _lock_all(
    conn: sqlite3.Connection, issues: list[str], owner: str, now: float, until: float
) -> set[str]:
    taken = set()
    for issue in issues:
        if conn.execute(_LOCK, (issue, owner, until, owner, now)).rowcount == 1:
            taken.add(issue)
    return taken


def _execute(conn: sqlite3.Connection, sql: str, rows: Sequence[Sequence[object]]) -> None:
    """Run ``sql`` once per row, keeping the cursor on the database's thread.

    A cursor handed back to the event loop is finalized there, and finalizing resets its
    statement: sqlite3 caches statements, so that reset can hit the very statement the
    database's thread is running for the next call, which then fails as an API misuse.
    """
    conn.executemany(sql, rows).close()


def _settle(conn: sqlite3.Connection, entry: LedgerEntry) -> None:
    """Write ``entry``; a finished one drops the mark its version reaches."""
    _write(conn, entry)
    if entry.finished:
        conn.execute(_DROP_MARK, (entry.issue, entry.processor, entry.updated_at))


def _write(conn: sqlite3.Connection, entry: LedgerEntry) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO ledger VALUES (?, ?, ?, ?, ?, ?)",
        (
            entry.issue,
            entry.processor,
            entry.updated_at,
            entry.outcome,
            json.dumps(list(entry.actions)),
            entry.recorded_at,
        ),
    )


def _read(conn: sqlite3.Connection, issue: str, processor: str) -> LedgerEntry | None:
    row = conn.execute(_SELECT, (issue, processor)).fetchone()
    if row is None:
        return None
    try:
        actions = tuple(str(action) for action in json.loads(row[4]))
    except (TypeError, ValueError) as exc:
        raise CorruptItemError(f"ledger entry {issue}/{processor} is damaged: {exc}") from exc
    return LedgerEntry(row[0], row[1], row[2], row[3], actions, row[5])
