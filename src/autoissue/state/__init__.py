"""The state store: the ledger of what was done to each issue, locks, artifacts and counters.

It lives in the same backend as the queue (:func:`open_state` takes the same DSNs): memory,
SQLite (more tables in the queue's file) or Redis (beside the queue, under its prefix;
``RedisStateStore`` is in ``autoissue.state._redis`` since redis is an optional dependency).
"""

from __future__ import annotations

from autoissue.state._base import (
    LABEL_ACTION,
    PENDING,
    LedgerEntry,
    QueuedVersion,
    StateStatistics,
    StateStore,
    issue_name,
)
from autoissue.state._memory import MemoryStateStore
from autoissue.state._open import open_state
from autoissue.state._sqlite import SqliteStateStore

__all__ = [
    "LABEL_ACTION",
    "PENDING",
    "LedgerEntry",
    "MemoryStateStore",
    "QueuedVersion",
    "SqliteStateStore",
    "StateStatistics",
    "StateStore",
    "issue_name",
    "open_state",
]
