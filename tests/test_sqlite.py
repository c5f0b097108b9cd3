from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from autoissue._sqlite import enable_wal


def locked(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_wal_waits_while_another_connection_holds_the_file(tmp_path: Path) -> None:
    holder = locked(tmp_path / "a.db")
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None, timeout=0.01)
    release = threading.Timer(0.1, holder.execute, ["COMMIT"])
    release.start()
    enable_wal(other, patience_s=10)
    release.join()
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    holder.close()
    other.close()


def test_wal_gives_up_after_its_patience(tmp_path: Path) -> None:
    holder = locked(tmp_path / "b.db")
    other = sqlite3.connect(tmp_path / "b.db", isolation_level=None, timeout=0.01)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(other, patience_s=0.05)
    holder.close()
    other.close()
