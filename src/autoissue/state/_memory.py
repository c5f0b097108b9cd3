"""The in-process state store: dictionaries, for tests and single-process runs."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from autoissue._clock import Clock
from autoissue.state._base import (
    LedgerEntry,
    MarkKey,
    QueuedVersion,
    StateStore,
    expired,
    fresh_entry,
)

T = TypeVar("T")

# How many keys the store holds before it first sweeps out the expired ones.
_FIRST_SWEEP = 1024


class MemoryStateStore(StateStore):
    """A :class:`StateStore` in memory; no step awaits midway, so each is atomic."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self._ledger: dict[tuple[str, str], LedgerEntry] = {}
        self._marks: dict[MarkKey, str] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._artifacts: dict[str, bytes] = {}
        # Totals and member sets by key, each with when it expires (None: never).
        self._totals: dict[str, tuple[int, float | None]] = {}
        self._sets: dict[str, tuple[frozenset[str], float | None]] = {}
        # Keys with when they expire; each is added once and rarely read again, so expired
        # ones are swept whenever the table has doubled since the last sweep.
        self._keys: dict[str, tuple[bool, float | None]] = {}
        self._sweep_keys_at = _FIRST_SWEEP

    def describe(self) -> str:
        """Always ``memory://``."""
        return "memory://"

    async def _record(self, entry: LedgerEntry) -> None:
        key = (entry.issue, entry.processor)
        self._ledger[key] = entry
        mark = self._marks.get(key)
        if entry.finished and mark is not None and mark <= entry.updated_at:
            del self._marks[key]

    async def _applied(
        self, issue: str, processor: str, updated_at: str, action: str, now: float
    ) -> LedgerEntry:
        entry = self._ledger.get((issue, processor))
        if entry is None or entry.updated_at != updated_at:
            entry = fresh_entry(issue, processor, updated_at, now)
        entry = dataclasses.replace(entry, actions=(*entry.actions, action), recorded_at=now)
        self._ledger[issue, processor] = entry
        return entry

    async def _lookup(self, issue: str, processor: str) -> LedgerEntry | None:
        return self._ledger.get((issue, processor))

    def _holder(self, issue: str, now: float) -> str | None:
        held = self._locks.get(issue)
        return held[0] if held is not None and held[1] > now else None

    async def _acquire(self, issue: str, owner: str, now: float, until: float) -> bool:
        if self._holder(issue, now) not in (None, owner):
            return False
        self._locks[issue] = (owner, until)
        return True

    async def _refresh(self, issue: str, owner: str, now: float, until: float) -> bool:
        if self._holder(issue, now) != owner:
            return False
        self._locks[issue] = (owner, until)
        return True

    async def _release(self, issue: str, owner: str) -> bool:
        held = self._locks.get(issue)
        if held is None or held[0] != owner:
            return False
        del self._locks[issue]
        return True

    async def _owner(self, issue: str, now: float) -> str | None:
        return self._holder(issue, now)

    async def _counts(self, now: float) -> tuple[int, int]:
        live = sum(1 for _, until in self._locks.values() if until > now)
        return len(self._ledger), live

    async def _save_artifact(self, key: str, data: bytes) -> None:
        self._artifacts[key] = data

    async def _load_artifact(self, key: str) -> bytes | None:
        return self._artifacts.get(key)

    async def _increment(self, key: str, amount: int, now: float, until: float | None) -> int:
        total, expires = _live(self._totals, key, now) or (0, None)
        self._totals[key] = (total + amount, until if expires is None else expires)
        return total + amount

    async def _counter(self, key: str, now: float) -> int:
        live = _live(self._totals, key, now)
        return 0 if live is None else live[0]

    async def _add_member(self, key: str, member: str, now: float, until: float | None) -> int:
        members, expires = _live(self._sets, key, now) or (frozenset(), None)
        members |= {member}
        self._sets[key] = (members, until if expires is None else expires)
        return len(members)

    async def _add_if_absent(self, key: str, now: float, until: float | None) -> bool:
        if _live(self._keys, key, now) is not None:
            return False
        self._keys[key] = (True, until)
        if len(self._keys) >= self._sweep_keys_at:
            self._sweep_keys(now)
        return True

    async def _is_present(self, key: str, now: float) -> bool:
        return _live(self._keys, key, now) is not None

    def _sweep_keys(self, now: float) -> None:
        self._keys = {k: held for k, held in self._keys.items() if not expired(held[1], now)}
        self._sweep_keys_at = max(_FIRST_SWEEP, 2 * len(self._keys))

    async def _mark_queued(self, versions: list[QueuedVersion]) -> None:
        for issue, processor, updated_at in versions:
            held = self._marks.get((issue, processor))
            if held is None or held < updated_at:
                self._marks[issue, processor] = updated_at

    async def _queued_marks(self, keys: list[MarkKey]) -> dict[MarkKey, str]:
        return {key: self._marks[key] for key in keys if key in self._marks}

    async def _close(self) -> None:
        return None


def _live(
    table: dict[str, tuple[T, float | None]], key: str, now: float
) -> tuple[T, float | None] | None:
    """The value under ``key`` with its expiry, or ``None`` if absent or expired (then dropped)."""
    held = table.get(key)
    if held is not None and expired(held[1], now):
        del table[key]
        return None
    return held
