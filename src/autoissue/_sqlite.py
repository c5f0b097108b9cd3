"""SQLite details every embedded store shares."""

from __future__ import annotations

import sqlite3
import time


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
