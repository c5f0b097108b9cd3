"""The embedded backend's SQLite layer: one file, one connection, one thread per database.

Every call is a function of the connection run inside one ``BEGIN IMMEDIATE`` transaction, so
each is atomic against other processes using the same file (WAL lets readers go on meanwhile).
A call runs at once on the event loop when the file's write lock is free and nothing waits for
the database's thread: such a transaction takes tens of microseconds, where a hop to a thread
costs more than that in the loop and, while the loop is busy, milliseconds of waiting for the
GIL at each statement. A call that would wait - another process holds the write lock, or
calls are queued for the thread - runs on the dedicated thread instead, so waiting never
blocks the loop. sqlite3's errors become
:class:`BackendUnavailableError` naming the file and what went wrong, and leave the file
unchanged (the transaction rolls back). The queue and the state store share one
:class:`SqliteDatabase` (:func:`autoissue.backend.open_backend`), each adding its tables.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from autoissue._exceptions import BackendUnavailableError

logger = logging.getLogger(__name__)

__all__ = ["SqliteDatabase", "enable_wal"]

T = TypeVar("T")


class SqliteDatabase:
    """A SQLite file in WAL mode, used from one worker thread.

    ``busy_timeout_s`` is how long a call waits for another process's write lock before it
    raises :class:`BackendUnavailableError`. ``schema`` runs once, in a transaction, at open.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="autoissue-sqlite"
        )
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        #: Calls submitted to the thread and not answered yet: while any are, calls queue.
        self._queued = 0

    def __repr__(self) -> str:
        return f"SqliteDatabase({str(self.path)!r})"

    async def open(self, schema: str) -> None:
        """Open (creating if needed) the file, switch to WAL and apply ``schema``.

        Opening an open database applies ``schema`` too: each store that shares the database
        adds its own tables.
        """
        await self._submit(self._open, schema)

    def _open(self, schema: str) -> None:
        if self._conn is not None:
            self._transaction(lambda c: _apply(c, schema))
            return
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # No busy timeout of its own: a call on the loop must not wait (see _now); the
        # thread's calls set one around their BEGIN.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=0, check_same_thread=False)
        try:
            enable_wal(conn, patience_s=self.busy_timeout_s)
            # NORMAL in WAL mode survives any process crash; only power loss may drop the
            # last transactions, which leases and idempotent writes then redo.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
            self._transaction(lambda c: _apply(c, schema))
        except BaseException:
            self._conn = None
            conn.close()
            raise

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` in one immediate transaction, at once if nothing must wait.

        On the event loop when the write lock is free and no call is queued for the
        database's thread (so calls keep their order); on the thread otherwise.
        """
        if self._queued == 0 and self._conn is not None and not self._closed:
            try:
                done = self._now(self._conn, fn)
            except (sqlite3.Error, OSError) as exc:
                raise BackendUnavailableError(_explain(self.path, exc)) from exc
            if done is not _LOCKED:
                return cast("T", done)
        return await self._submit(self._transaction, fn)

    def _now(self, conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> object:
        """``fn`` in a transaction begun without waiting; :data:`_LOCKED` if it cannot begin."""
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if _busy(error):
                return _LOCKED
            raise
        return _body(conn, fn)

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` in a transaction begun within the busy timeout (on the thread)."""
        conn = self._conn
        if conn is None:
            raise sqlite3.ProgrammingError("the database is closed")
        conn.execute(f"PRAGMA busy_timeout={round(self.busy_timeout_s * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.execute("PRAGMA busy_timeout=0")
        return _body(conn, fn)

    async def _submit(self, fn: Callable[..., T], *args: object) -> T:
        if self._closed:  # its thread is gone: say so, as for any other unusable database
            closed = sqlite3.ProgrammingError("the database is closed")
            raise BackendUnavailableError(_explain(self.path, closed))
        loop = asyncio.get_running_loop()
        self._queued += 1
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailableError(_explain(self.path, exc)) from exc
        finally:
            self._queued -= 1

    async def close(self) -> None:
        """Close the connection and stop the thread. Idempotent."""
        if self._conn is not None and not self._closed:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._closed = True
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


#: What :meth:`SqliteDatabase._now` returns when another process holds the write lock.
_LOCKED = object()


def _busy(error: sqlite3.OperationalError) -> bool:
    """Whether ``error`` says the write lock is held (SQLITE_BUSY or SQLITE_LOCKED)."""
    return error.sqlite_errorcode in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def _body(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn`` in the transaction just begun: commit, or roll back what it raised."""
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _apply(conn: sqlite3.Connection, schema: str) -> None:
    # executescript() would commit our transaction: run the statements one by one instead.
    for statement in schema.split(";"):
        if statement.strip():
            conn.execute(statement)


def _explain(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        hint = "another process holds its write lock; retry when it is done"
    elif "not a database" in text or "malformed" in text:
        hint = "the file is not a usable SQLite database; move it aside"
    elif "unable to open" in text or isinstance(exc, OSError):
        hint = "check that the path exists and is readable and writable"
    else:
        hint = "the operation was rolled back; nothing was changed"
    return f"sqlite database {str(path)!r}: {text} ({hint})"


def enable_wal(db: sqlite3.Connection, patience_s: float = 30.0) -> None:
    """Switch the database file to WAL, waiting while another process holds it.

    Changing the journal mode answers "locked" at once instead of waiting out the busy
    timeout, which several processes opening a new file together run into. Call it from
    a worker thread, never on the event loop: it sleeps between tries.
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
