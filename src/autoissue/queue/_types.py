"""The values that cross the queue contract: what goes in, what comes out, what is counted."""

from __future__ import annotations

from dataclasses import dataclass, field

from autoissue._exceptions import ConfigurationError
from autoissue.model import Priority

#: A lease this short brings a killed consumer's work back within 2 s; heartbeats extend it.
DEFAULT_LEASE_S = 2.0


def idempotency_key(issue: str | int, updated_at: str, processor: str) -> str:
    """The key under which one issue, at one ``updated_at``, for one processor, is enqueued once."""
    return f"{processor}:{issue}@{updated_at}"


def idempotency_parts(key: str) -> tuple[str, str, str] | None:
    """The issue, ``updated_at`` and processor :func:`idempotency_key` made ``key`` of.

    ``None`` for a key not made so. The last ``@`` ends the issue and the last ``:`` before it
    ends the processor: an issue's name (``OWNER/REPO#N``) holds neither, and a timestamp
    holds no ``@``.
    """
    head, at, updated_at = key.rpartition("@")
    processor, colon, issue = head.rpartition(":")
    if not (at and colon):
        return None
    return issue, updated_at, processor


@dataclass(frozen=True, slots=True)
class Message:
    """One item to enqueue.

    ``payload`` is opaque bytes (the engine stores compact msgspec); ``key`` makes the put
    idempotent; ``ttl_s`` discards (dead-letters) the item if it is still waiting that long after
    the put; ``not_before`` (epoch seconds) keeps it invisible until then. ``group`` (the engine
    passes the repository, ``OWNER/NAME``) is what claims are fair across inside a priority;
    items without one (``None``, or ``""``, which means the same) form one implicit group.
    """

    payload: bytes
    key: str | None = None
    priority: Priority = Priority.MEDIUM
    ttl_s: float | None = None
    not_before: float | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    """A claimed item: the consumer owns it until ``lease_until`` unless it heartbeats.

    ``attempts`` counts claims of this item, this one included; ``group`` is the message's.
    """

    id: str
    payload: bytes
    priority: Priority
    attempts: int
    lease_until: float
    enqueued_at: float
    key: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An item that will not be retried, with why (``reason``), its last error and its group."""

    id: str
    payload: bytes
    priority: Priority
    attempts: int
    reason: str
    last_error: str
    dead_at: float
    key: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Backlog:
    """What a backend holds right now; the persistent half of :class:`QueueStatistics`."""

    ready: dict[Priority, int]
    delayed: int
    in_flight: int
    retrying: int
    dead_letters: int

    @property
    def waiting(self) -> int:
        """Items waiting to be claimed: ready at any priority, plus delayed."""
        return sum(self.ready.values()) + self.delayed


@dataclass(frozen=True, slots=True)
class QueueStatistics:
    """A frozen snapshot of a queue's live figures.

    ``depth`` is ready items by priority; ``delayed`` waits for a not-before or a retry time;
    ``retrying`` is how many waiting items were tried before. ``wait_ms`` holds percentiles
    (p50, p95, p99) of the time claimed items waited since their put, and ``acks_per_s`` the ack
    rate over the last minute; both, like the totals, are this handle's own view.
    """

    depth: dict[Priority, int]
    delayed: int
    in_flight: int
    retrying: int
    dead_letters: int
    enqueued: int = 0
    duplicates: int = 0
    claimed: int = 0
    acked: int = 0
    retried: int = 0
    dead_lettered: int = 0
    wait_ms: dict[str, float] = field(default_factory=dict)
    acks_per_s: float = 0.0

    @property
    def waiting(self) -> int:
        """Items waiting to be claimed: ready at any priority, plus delayed."""
        return sum(self.depth.values()) + self.delayed

    @property
    def unfinished(self) -> int:
        """Items someone has yet to finish: waiting, or leased to a consumer."""
        return self.waiting + self.in_flight


def parse_priority(name: str) -> Priority:
    """The priority named ``name`` (``critical``, ``high``, ``normal``/``medium``, ``low``)."""
    text = name.strip().lower()
    if text == "normal":
        return Priority.MEDIUM
    try:
        return Priority[text.upper()]
    except KeyError:
        raise ConfigurationError(
            f"unknown priority {name!r}: use critical, high, normal or low"
        ) from None
