"""The in-process backend: for tests, demos and single-process runs that need no durability.

Heaps keep claims O(log n): one per priority and group ordered by first-put sequence (FIFO),
one of delayed items by ready time and one of leases by deadline. Each priority's groups with
ready items are kept in a sorted list, served round-robin from a cursor by bisection. Entries
are invalidated lazily: each carries the record's ``version`` at push time, and any state
change bumps the version.
Methods never await between reading and writing, so each hook is atomic on the event loop.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autoissue.model import Priority
from autoissue.queue._base import Decide, Queue
from autoissue.queue._policy import Decision
from autoissue.queue._types import Backlog, DeadLetter, Lease, Message

_WAITING, _LEASED, _DEAD = "waiting", "leased", "dead"

_Entry = tuple[int, int, str]  # (first-put sequence, version, id)


@dataclass(slots=True)
class _Record:
    id: str
    seq: int
    payload: bytes
    priority: Priority
    key: str | None
    group: str  # "" for the implicit group
    enqueued_at: float
    expires_at: float | None
    ready_at: float  # waiting: visible from; leased: the lease deadline
    state: str = _WAITING
    attempts: int = 0
    version: int = 0
    reason: str = ""
    last_error: str = ""
    dead_at: float = 0.0


@dataclass(slots=True)
class _Lane:
    """One priority's ready items: a FIFO heap per group, the groups served round-robin.

    ``names`` lists, sorted, the groups whose heap is not empty (its entries may all be stale);
    ``cursor`` is the group served last, so the next pop goes to the first name after it.
    ``valid`` returns the record an entry names if the entry is not stale.
    """

    valid: Callable[[str, int], _Record | None]
    heaps: dict[str, list[_Entry]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    cursor: str | None = None

    def push(self, group: str, entry: _Entry) -> None:
        """Make an item ready in ``group``."""
        heap = self.heaps.get(group)
        if heap is None:
            heap = self.heaps[group] = []
            bisect.insort(self.names, group)
        heapq.heappush(heap, entry)

    def pop(self) -> _Record | None:
        """The oldest valid item of the next group after the cursor, or ``None`` if none."""
        names = self.names
        while names:
            at = self._next_at() if len(names) > 1 else 0
            name = names[at]
            heap = self.heaps[name]
            record = None
            while heap and record is None:
                _, version, item_id = heapq.heappop(heap)
                record = self.valid(item_id, version)
            if not heap:
                del self.heaps[name], names[at]
            if record is not None:
                self.cursor = name
                return record
        return None

    def _next_at(self) -> int:
        # Where in ``names`` the first group after the cursor is, going round past the end.
        if self.cursor is None:
            return 0
        return bisect.bisect_right(self.names, self.cursor) % len(self.names)


class MemoryQueue(Queue):
    """A :class:`Queue` held in this process's memory; see :class:`Queue` for the options."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._items: dict[str, _Record] = {}
        self._keys: set[str] = set()
        self._seq = itertools.count(1)
        self._ready: dict[Priority, _Lane] = {p: _Lane(self._valid) for p in Priority}
        self._delayed: list[tuple[float, int, int, str]] = []
        self._leased: list[tuple[float, int, int, str]] = []
        self._ttl: list[tuple[float, int, str]] = []

    def describe(self) -> str:
        """Always ``memory://``."""
        return "memory://"

    def _schedule(self, record: _Record, state: str, at: float, now: float) -> None:
        record.state, record.ready_at = state, at
        record.version += 1
        entry = (at, record.seq, record.version, record.id)
        if state == _LEASED:
            heapq.heappush(self._leased, entry)
        elif at > now:
            heapq.heappush(self._delayed, entry)
        else:
            self._ready[record.priority].push(record.group, (record.seq, record.version, record.id))

    def _bury(self, record: _Record, reason: str, now: float) -> None:
        record.state, record.reason, record.dead_at = _DEAD, reason, now
        record.version += 1

    def _valid(self, item_id: str, version: int) -> _Record | None:
        record = self._items.get(item_id)
        return record if record is not None and record.version == version else None

    def _housekeep(self, now: float) -> None:
        # Due retries become ready; expired leases return, or die when out of attempts.
        while self._delayed and self._delayed[0][0] <= now:
            _, _, version, item_id = heapq.heappop(self._delayed)
            if record := self._valid(item_id, version):
                self._schedule(record, _WAITING, record.ready_at, now)
        while self._leased and self._leased[0][0] <= now:
            _, _, version, item_id = heapq.heappop(self._leased)
            if not (record := self._valid(item_id, version)):
                continue
            if record.attempts >= self.retry.max_attempts:
                self._bury(record, f"lease expired on all {record.attempts} attempts", now)
            else:
                self._schedule(record, _WAITING, now, now)
        self._expire(now)

    def _expire(self, now: float) -> None:
        # Waiting items past their TTL die; a leased one is looked at again once it returns.
        leased = []
        while self._ttl and self._ttl[0][0] <= now:
            entry = heapq.heappop(self._ttl)
            record = self._items.get(entry[2])
            if record is not None and record.state == _WAITING:
                self._bury(record, "expired before it was claimed (ttl)", now)
            elif record is not None and record.state == _LEASED:
                leased.append(entry)
        for entry in leased:
            heapq.heappush(self._ttl, entry)

    async def _put(self, messages: list[Message], now: float) -> list[str | None]:
        ids: list[str | None] = []
        for message in messages:
            if message.key is not None and message.key in self._keys:
                ids.append(None)
                continue
            if message.key is not None:
                self._keys.add(message.key)
            record = self._insert(message, now)
            self._schedule(record, _WAITING, max(now, message.not_before or now), now)
            ids.append(record.id)
        return ids

    def _insert(self, message: Message, now: float) -> _Record:
        seq = next(self._seq)
        record = _Record(
            id=str(seq),
            seq=seq,
            payload=message.payload,
            priority=Priority(message.priority),
            key=message.key,
            group=message.group or "",
            enqueued_at=now,
            expires_at=None if message.ttl_s is None else now + message.ttl_s,
            ready_at=now,
        )
        self._items[record.id] = record
        if record.expires_at is not None:
            heapq.heappush(self._ttl, (record.expires_at, seq, record.id))
        return record

    def _take(self, order: tuple[Priority, ...], slots: int) -> list[_Record]:
        # A run of slots: served by the first priority in ``order`` until it runs dry, then
        # the next (a lane that ran dry stays dry until the claim is over).
        records: list[_Record] = []
        for priority in order:
            lane = self._ready[priority]
            while lane.names and len(records) < slots and (record := lane.pop()) is not None:
                records.append(record)
        return records

    async def _claim(self, n: int, now: float, lease_until: float, tick: int) -> list[Lease]:
        self._housekeep(now)
        leases: list[Lease] = []
        for order, slots in self.priorities.runs(tick, n):
            records = self._take(order, slots)
            for record in records:
                record.attempts += 1
                self._schedule(record, _LEASED, lease_until, now)
                leases.append(_lease(record))
            if len(records) < slots:
                break
        return leases

    async def _heartbeat(self, ids: list[str], lease_until: float) -> list[str]:
        extended = []
        for item_id in ids:
            record = self._items.get(item_id)
            if record is not None and record.state == _LEASED:
                self._schedule(record, _LEASED, lease_until, lease_until)
                extended.append(item_id)
        return extended

    async def _ack(self, ids: list[str]) -> int:
        done = 0
        for item_id in ids:
            record = self._items.get(item_id)
            if record is not None and record.state == _LEASED:
                del self._items[item_id]
                done += 1
        return done

    async def _nack(self, item_id: str, decide: Decide, error: str, now: float) -> Decision | None:
        record = self._items.get(item_id)
        if record is None or record.state != _LEASED:
            return None
        decision = decide(record.attempts)
        record.last_error = error
        if decision.retry_at is None:
            self._bury(record, decision.reason, now)
        else:
            self._schedule(record, _WAITING, decision.retry_at, now)
        return decision

    def _dead(self, ids: list[str] | None) -> list[_Record]:
        chosen = self._items.values() if ids is None else map(self._items.get, ids)
        dead = [r for r in chosen if r is not None and r.state == _DEAD]
        return sorted(dead, key=lambda r: (r.dead_at, r.seq))

    async def _dead_letters(self, limit: int) -> list[DeadLetter]:
        return [_dead_letter(record) for record in self._dead(None)[:limit]]

    async def _dead_letter(self, item_id: str) -> DeadLetter | None:
        found = self._dead([item_id])
        return _dead_letter(found[0]) if found else None

    async def _replay(self, ids: list[str] | None, now: float) -> int:
        records = self._dead(ids)
        for record in records:
            # Fresh attempts and no TTL: a replayed item must get a real chance to run.
            record.attempts, record.reason, record.expires_at = 0, "", None
            self._schedule(record, _WAITING, now, now)
        return len(records)

    async def _purge(self, ids: list[str] | None) -> int:
        records = self._dead(ids)
        for record in records:
            del self._items[record.id]
        return len(records)

    async def _backlog(self, now: float) -> Backlog:
        self._housekeep(now)
        ready = dict.fromkeys(Priority, 0)
        delayed = in_flight = retrying = dead = 0
        for record in self._items.values():
            if record.state == _DEAD:
                dead += 1
            elif record.state == _LEASED:
                in_flight += 1
            else:
                retrying += record.attempts > 0
                if record.ready_at > now:
                    delayed += 1
                else:
                    ready[record.priority] += 1
        return Backlog(ready, delayed, in_flight, retrying, dead)

    async def _close(self) -> None:
        return None


def _lease(record: _Record) -> Lease:
    return Lease(
        id=record.id,
        payload=record.payload,
        priority=record.priority,
        attempts=record.attempts,
        lease_until=record.ready_at,
        enqueued_at=record.enqueued_at,
        key=record.key,
        group=record.group or None,
    )


def _dead_letter(record: _Record) -> DeadLetter:
    return DeadLetter(
        id=record.id,
        payload=record.payload,
        priority=record.priority,
        attempts=record.attempts,
        reason=record.reason,
        last_error=record.last_error,
        dead_at=record.dead_at,
        key=record.key,
        group=record.group or None,
    )
