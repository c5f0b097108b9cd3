"""The queue contract: one abstract class, three backends (memory, SQLite, Redis).

The public methods live here and are the same for every backend: they validate, apply
backpressure, ask the pure policies (:mod:`autoissue.queue._policy`) and keep the handle's
figures. A backend implements the underscored hooks, each of which is **one atomic step** on
its store (a lock, a transaction or a Lua script), so no interleaving of processes can lose or
duplicate an item.

Item lifecycle::

    put ──▶ waiting ──claim──▶ leased ──ack──▶ (gone; its idempotency key is kept)
              ▲  ▲               │ │
              │  └─lease expiry──┘ └─nack──▶ retry at backoff ──▶ waiting
              └────replay──── dead letters ◀── permanent / too many attempts / TTL
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

from autoissue._classify import ErrorKind
from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import ConfigurationError, QueueFullError
from autoissue.model import Priority
from autoissue.queue._meter import Meter
from autoissue.queue._policy import Decision, PriorityPolicy, RetryPolicy
from autoissue.queue._types import (
    DEFAULT_LEASE_S,
    Backlog,
    DeadLetter,
    Lease,
    Message,
    QueueStatistics,
)

logger = logging.getLogger(__name__)

Decide = Callable[[int], Decision]


# While the queue stays full, ``put`` waits up to this many ``poll_s`` between counts.
_FULL_BACKOFF = 8


class Queue(abc.ABC):
    """A durable priority queue with leases, retries, dead letters and backpressure.

    Priorities are served critical first, except the share of claims :class:`PriorityPolicy`
    reserves for lower priorities. Inside a priority, claims are fair across the messages'
    groups (repositories): each claim slot a priority serves goes to the next group, in the
    order of their names and round the circle, after the group that priority served last, so
    a claim of ``n`` is ``n`` claims of one. The backend keeps that last group, so successive
    claims, and every handle and process sharing the queue, go on round the same circle.
    Inside a group, items go FIFO (by first put). ``max_depth`` bounds the
    waiting items: ``put`` then waits (polling every ``poll_s`` on ``clock``, then less often
    while it stays full, up to 8 ``poll_s``) and raises
    :class:`QueueFullError` after ``max_wait_s``. Backend failures raise
    :class:`BackendUnavailableError`; every step is atomic, so a failed call changed nothing
    and can be retried. Ids are strings, unique within one queue.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        priorities: PriorityPolicy | None = None,
        max_depth: int | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        poll_s: float = 0.05,
    ) -> None:
        if max_depth is not None and max_depth < 1:
            raise ConfigurationError(f"max_depth must be at least 1, not {max_depth}")
        self.clock: Clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.priorities = priorities or PriorityPolicy()
        self.max_depth = max_depth
        self.lease_s = _positive("lease_s", lease_s)
        self.poll_s = poll_s
        self.meter = Meter()
        self._tick = 0
        self._last: Backlog | None = None

    # -- producing -------------------------------------------------------------------------

    async def put(
        self,
        payload: bytes,
        *,
        key: str | None = None,
        priority: Priority = Priority.MEDIUM,
        ttl_s: float | None = None,
        not_before: float | None = None,
        max_wait_s: float | None = None,
        group: str | None = None,
    ) -> str | None:
        """Enqueue one item; return its id, or ``None`` if ``key`` was enqueued before.

        Atomic. Waits at ``max_depth`` (see the class); raises :class:`QueueFullError`.
        ``group`` is the item's group (see :class:`Message`).
        """
        message = Message(payload, key, priority, ttl_s, not_before, group)
        return (await self.put_many([message], max_wait_s=max_wait_s))[0]

    async def put_many(
        self,
        messages: Iterable[Message],
        *,
        max_wait_s: float | None = None,
        urgent: bool = False,
    ) -> list[str | None]:
        """Enqueue items; return one id per message (``None`` for an already used key).

        Each batch written is one atomic step: all its items are stored, or none. When the
        queue is bounded, messages go in batches as room appears; on :class:`QueueFullError`
        the messages before the first unwritten one are enqueued, the rest are not.
        ``urgent`` messages go in at once, past ``max_depth``: the few someone is waiting for
        (a webhook's issue) must not queue behind a backlog's back-pressure.
        """
        pending = [_checked(message) for message in messages]
        if self.max_depth is None or urgent:
            ids = await self._put(pending, self.clock.time())
        else:
            ids = await self._put_bounded(pending, self.max_depth, max_wait_s)
        self.meter.put(ids)
        return ids

    async def _put_bounded(
        self, pending: list[Message], max_depth: int, max_wait_s: float | None
    ) -> list[str | None]:
        ids: list[str | None] = []
        deadline = None if max_wait_s is None else self.clock.time() + max_wait_s
        wait = self.poll_s
        while pending:
            now = self.clock.time()
            free = max_depth - self._remember(await self._backlog(now)).waiting
            if free > 0:
                ids += await self._put(pending[:free], now)
                pending, wait = pending[free:], self.poll_s
            elif deadline is not None and now >= deadline:
                raise QueueFullError(
                    f"the queue stayed at its maximum depth ({max_depth}) for {max_wait_s}s"
                )
            else:
                # A full queue is counted less often the longer it stays full: each count is
                # a write transaction on a durable backend, and a full queue has work to spare.
                await self.clock.sleep(wait if deadline is None else min(wait, deadline - now))
                wait = min(wait * 2, self.poll_s * _FULL_BACKOFF)
        return ids

    # -- consuming -------------------------------------------------------------------------

    async def claim_many(self, n: int, lease_s: float | None = None) -> list[Lease]:
        """Lease up to ``n`` ready items for ``lease_s`` seconds; ``[]`` when none is ready.

        Atomic: one transaction or script moves due retries and expired leases back to
        waiting, dead-letters items past their TTL or out of attempts, leases the batch (fair
        across groups inside each priority, see the class) and moves each priority's place in
        its round of groups. Each lease's ``attempts`` counts this claim.
        """
        if n < 1:
            raise ConfigurationError(f"claim_many needs n >= 1, not {n}")
        now = self.clock.time()
        lease_until = now + _positive("lease_s", lease_s or self.lease_s)
        leases = await self._claim(n, now, lease_until, self._tick)
        self._tick += len(leases)
        self.meter.claim(now, [lease.enqueued_at for lease in leases])
        return leases

    async def claim(self, lease_s: float | None = None) -> Lease | None:
        """Lease one item, or return ``None`` when none is ready; see :meth:`claim_many`."""
        leases = await self.claim_many(1, lease_s)
        return leases[0] if leases else None

    async def heartbeat(self, ids: Sequence[str], lease_s: float | None = None) -> list[str]:
        """Extend the leases of ``ids`` to ``lease_s`` from now; return the ids extended.

        Atomic. An id missing from the result has lost its lease (expired and reclaimed, acked
        or unknown): its holder should stop working on it.
        """
        now = self.clock.time()
        return await self._heartbeat(list(ids), now + _positive("lease_s", lease_s or self.lease_s))

    async def ack(self, ids: Sequence[str]) -> int:
        """Finish leased items: they are deleted (keys stay used); return how many were leased.

        Atomic for the whole batch. Unknown or no longer leased ids are ignored.
        """
        count = await self._ack(list(ids))
        self.meter.ack(self.clock.time(), count)
        return count

    async def nack(
        self,
        item_id: str,
        kind: ErrorKind,
        error: str,
        *,
        retry_after: float | None = None,
    ) -> Decision | None:
        """Fail a leased item: retry it after a backoff, or dead-letter it; return the decision.

        Atomic. The :class:`RetryPolicy` decides from the attempts and ``kind``; ``error`` is
        kept as the item's last error. Returns ``None`` if the item was not leased.
        """
        now = self.clock.time()

        def decide(attempts: int) -> Decision:
            return self.retry.decide(attempts=attempts, kind=kind, now=now, retry_after=retry_after)

        decision = await self._nack(item_id, decide, error, now)
        if decision is not None and decision.dead:
            self.meter.dead_lettered += 1
            logger.warning("queue item %s dead-lettered: %s: %s", item_id, decision.reason, error)
        elif decision is not None:
            self.meter.retried += 1
        return decision

    # -- dead letters ----------------------------------------------------------------------

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters, oldest first."""
        return await self._dead_letters(limit)

    async def dead_letter(self, item_id: str) -> DeadLetter | None:
        """One dead letter by id, or ``None`` if there is no such dead letter."""
        return await self._dead_letter(item_id)

    async def replay(self, ids: Sequence[str] | None = None) -> int:
        """Return dead letters (``None``: all) to waiting with fresh attempts; return the count.

        Atomic. Ids that are not dead letters are ignored.
        """
        return await self._replay(None if ids is None else list(ids), self.clock.time())

    async def purge(self, ids: Sequence[str] | None = None) -> int:
        """Delete dead letters (``None``: all) for good; return how many. Atomic."""
        return await self._purge(None if ids is None else list(ids))

    # -- observing -------------------------------------------------------------------------

    async def statistics(self) -> QueueStatistics:
        """A frozen snapshot: the backend's backlog and this handle's figures."""
        now = self.clock.time()
        backlog = self._remember(await self._backlog(now))
        meter = self.meter
        return QueueStatistics(
            depth=backlog.ready,
            delayed=backlog.delayed,
            in_flight=backlog.in_flight,
            retrying=backlog.retrying,
            dead_letters=backlog.dead_letters,
            enqueued=meter.enqueued,
            duplicates=meter.duplicates,
            claimed=meter.claimed,
            acked=meter.acked,
            retried=meter.retried,
            dead_lettered=meter.dead_lettered,
            wait_ms=meter.wait_ms(),
            acks_per_s=meter.acks_per_s(now),
        )

    def __repr__(self) -> str:
        m = self.meter
        seen = self._last
        backlog = (
            f" waiting={seen.waiting} in_flight={seen.in_flight} dead={seen.dead_letters}"
            if seen
            else ""
        )
        return (
            f"<{type(self).__name__} {self.describe()}{backlog}"
            f" enqueued={m.enqueued} claimed={m.claimed} acked={m.acked}>"
        )

    def _remember(self, backlog: Backlog) -> Backlog:
        # Kept for __repr__, which cannot await the backend.
        self._last = backlog
        return backlog

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self) -> None:
        """Release the backend's connections and threads. Idempotent."""
        await self._close()

    async def __aenter__(self) -> Queue:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the backend's hooks: each one atomic ----------------------------------------------

    @abc.abstractmethod
    def describe(self) -> str:
        """Where this queue lives, e.g. a file path or a Redis URL (never with a password)."""

    @abc.abstractmethod
    async def _put(self, messages: list[Message], now: float) -> list[str | None]: ...

    @abc.abstractmethod
    async def _claim(self, n: int, now: float, lease_until: float, tick: int) -> list[Lease]: ...

    @abc.abstractmethod
    async def _heartbeat(self, ids: list[str], lease_until: float) -> list[str]: ...

    @abc.abstractmethod
    async def _ack(self, ids: list[str]) -> int: ...

    @abc.abstractmethod
    async def _nack(
        self, item_id: str, decide: Decide, error: str, now: float
    ) -> Decision | None: ...

    @abc.abstractmethod
    async def _dead_letters(self, limit: int) -> list[DeadLetter]: ...

    @abc.abstractmethod
    async def _dead_letter(self, item_id: str) -> DeadLetter | None: ...

    @abc.abstractmethod
    async def _replay(self, ids: list[str] | None, now: float) -> int: ...

    @abc.abstractmethod
    async def _purge(self, ids: list[str] | None) -> int: ...

    @abc.abstractmethod
    async def _backlog(self, now: float) -> Backlog: ...

    @abc.abstractmethod
    async def _close(self) -> None: ...


def _positive(name: str, value: float) -> float:
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, not {value}")
    return value


def _checked(message: Message) -> Message:
    if not isinstance(message.payload, bytes):
        raise ConfigurationError(f"queue payloads are bytes, not {type(message.payload).__name__}")
    if message.ttl_s is not None and message.ttl_s <= 0:
        raise ConfigurationError(f"ttl_s must be positive, not {message.ttl_s}")
    if message.group is not None and not isinstance(message.group, str):
        raise ConfigurationError(f"queue groups are str, not {type(message.group).__name__}")
    return message
