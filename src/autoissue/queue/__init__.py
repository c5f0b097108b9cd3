"""The durable work queue: priorities, fair groups, leases, retries, dead letters, backpressure.

Inside each priority, claims go round the items' groups (repositories) in turn, so one huge
repository enqueued first does not starve the others (see :class:`Queue`).

One contract (:class:`Queue`), three backends: :class:`MemoryQueue` (tests, one process),
:class:`SqliteQueue` (the embedded default, WAL, one file) and ``RedisQueue`` (several
machines, in ``autoissue.queue._redis`` because redis is an optional dependency).
:func:`open_queue` picks one from a DSN.
"""

from __future__ import annotations

from autoissue._classify import ErrorKind
from autoissue.queue._base import Queue
from autoissue.queue._dsn import open_queue
from autoissue.queue._memory import MemoryQueue
from autoissue.queue._policy import Decision, PriorityPolicy, RetryPolicy
from autoissue.queue._sqlite import SqliteQueue
from autoissue.queue._types import (
    DEFAULT_LEASE_S,
    DeadLetter,
    Lease,
    Message,
    QueueStatistics,
    idempotency_key,
    parse_priority,
)

__all__ = [
    "DEFAULT_LEASE_S",
    "DeadLetter",
    "Decision",
    "ErrorKind",
    "Lease",
    "MemoryQueue",
    "Message",
    "PriorityPolicy",
    "Queue",
    "QueueStatistics",
    "RetryPolicy",
    "SqliteQueue",
    "idempotency_key",
    "open_queue",
    "parse_priority",
]
