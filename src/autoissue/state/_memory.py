"""The in-process state store: dictionaries, for tests and single-process runs."""

from __future__ import annotations

import dataclasses

from autoissue._clock import Clock
from autoissue.state._base import LedgerEntry, StateStore, fresh_entry


class MemoryStateStore(StateStore):
    """A :class:`StateStore` in memory; no step awaits midway, so each is atomic."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self._ledger: dict[tuple[str, str], LedgerEntry] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._artifacts: dict[str, bytes] = {}

    def describe(self) -> str:
        """Always ``memory://``."""
        return "memory://"

    async def _record(self, entry: LedgerEntry) -> None:
        self._ledger[entry.issue, entry.processor] = entry

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

    async def _close(self) -> None:
        return None
