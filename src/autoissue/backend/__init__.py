"""The backend a run keeps its shared state in, named by one DSN.

``memory://`` (one process), ``sqlite:///path.db`` (one machine, the default
``.autoissue/state.db``) or ``redis://host:port/db?prefix=...`` (several machines).
:func:`open_backend` opens the queue and the state store on one SQLite database or one Redis
client; :class:`BackendSpec` is the parsed DSN; :class:`SqliteDatabase` is the embedded layer
every SQLite store is built on.
"""

from __future__ import annotations

from autoissue._dsn import DEFAULT_DSN, DEFAULT_SQLITE_PATH, BackendSpec
from autoissue._sqlite import SqliteDatabase
from autoissue.backend._backend import DEFAULT_MAX_DEPTH, Backend, fresh_backend, open_backend

__all__ = [
    "DEFAULT_DSN",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_SQLITE_PATH",
    "Backend",
    "BackendSpec",
    "SqliteDatabase",
    "fresh_backend",
    "open_backend",
]
