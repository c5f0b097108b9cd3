"""The state store contract: a ledger of what was done, per-issue locks, artifacts and counters.

The **ledger** maps (issue, processor) to the ``updated_at`` it last processed, the outcome and
the actions applied so far, so a rerun skips what is done and a crash mid-plan resumes without
repeating an action. The **locks** make sure no issue is processed by two workers at once:
each has an owner and a TTL (on the injected clock), and an expired lock is free to take.
**Artifacts** are named blobs a processor keeps between runs (a learned model), so every
worker on the backend reads the same one. **Counters** are totals and member sets shared by
every worker (how many issues were started this hour, in how many rounds an issue was
reopened), each changed in one atomic step that returns the new size, so two workers never
lose each other's update; either may expire, on the injected clock. **Keys** are names that
are present or absent (a webhook delivery already admitted), each added in one atomic step
that says whether this call added it, so of two workers adding one key exactly one learns
it was new; a key may expire too. **Queued marks** name, per (issue, processor), the newest
version (``updated_at``) put on the queue, so a worker that claims an older one can leave it
to the newer: a mark only rises, and a finished ledger entry at or past it drops it, since
the ledger then says all the mark did.

Every method is one atomic step on its backend (a lock, a transaction or a Lua script).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import NamedTuple

from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import ConfigurationError

#: The outcome of an entry whose plan is being applied and is not finished yet.
PENDING = "pending"
#: How an entry lists a label its processor added (and so owns and may remove).
LABEL_ACTION = "label:"


def issue_name(repo: str, number: int) -> str:
    """``OWNER/REPO#N``: how the ledger and the locks name an issue."""
    return f"{repo}#{number}"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What one processor did to one issue at one ``updated_at``."""

    issue: str
    processor: str
    updated_at: str
    outcome: str
    actions: tuple[str, ...] = ()
    recorded_at: float = 0.0

    @property
    def finished(self) -> bool:
        """True once an outcome other than :data:`PENDING` was recorded."""
        return self.outcome != PENDING

    @property
    def labels_added(self) -> frozenset[str]:
        """The labels the processor added to the issue (see :data:`LABEL_ACTION`)."""
        return frozenset(
            a.removeprefix(LABEL_ACTION) for a in self.actions if a.startswith(LABEL_ACTION)
        )


class QueuedVersion(NamedTuple):
    """One version of an issue put on the queue for a processor: what a queued mark names."""

    issue: str
    processor: str
    updated_at: str


#: A queued mark's key: the issue and the processor, as in the ledger.
MarkKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class StateStatistics:
    """A frozen snapshot: ledger entries, and locks held right now."""

    entries: int
    locks: int


class StateStore(abc.ABC):
    """The ledger and the locks, on one backend; time comes from ``clock``."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()

    # -- ledger ----------------------------------------------------------------------------

    async def record(
        self,
        issue: str | int,
        processor: str,
        updated_at: str,
        outcome: str,
        actions: Iterable[str] = (),
    ) -> LedgerEntry:
        """Write (replace) the entry for ``issue`` and ``processor``; return it. Atomic.

        A finished entry drops the issue's queued mark if the mark is not past its
        ``updated_at`` (see :meth:`mark_queued`), in the same step.
        """
        entry = LedgerEntry(
            str(issue), processor, updated_at, outcome, tuple(actions), self.clock.time()
        )
        await self._record(entry)
        return entry

    def entry(
        self, issue: str, processor: str, updated_at: str, outcome: str, actions: Iterable[str] = ()
    ) -> LedgerEntry:
        """A new entry stamped with the store's clock, for :meth:`record_many`."""
        return LedgerEntry(issue, processor, updated_at, outcome, tuple(actions), self.clock.time())

    async def record_many(self, entries: Sequence[LedgerEntry]) -> None:
        """Write (replace) several entries in one atomic step, dropping marks as :meth:`record`."""
        if entries:
            await self._record_many(list(entries))

    async def lookup_many(self, issues: Sequence[str], processor: str) -> dict[str, LedgerEntry]:
        """The entries of ``issues`` for ``processor`` that exist, by issue, in one step."""
        return await self._lookup_many(list(issues), processor) if issues else {}

    async def applied(
        self, issue: str | int, processor: str, updated_at: str, action: str
    ) -> LedgerEntry:
        """Append ``action`` to the entry's applied actions; return the entry. Atomic.

        An entry for another ``updated_at`` (or none) is first replaced by a fresh
        :data:`PENDING` one: the issue changed, so its plan starts over.
        """
        return await self._applied(str(issue), processor, updated_at, action, self.clock.time())

    async def lookup(self, issue: str | int, processor: str) -> LedgerEntry | None:
        """The entry for ``issue`` and ``processor``, or ``None``."""
        return await self._lookup(str(issue), processor)

    async def is_processed(self, issue: str | int, processor: str, updated_at: str) -> bool:
        """True if ``processor`` finished ``issue`` at exactly this ``updated_at``."""
        entry = await self.lookup(issue, processor)
        return entry is not None and entry.updated_at == updated_at and entry.finished

    # -- queued marks ----------------------------------------------------------------------
    # Versions order as their ``updated_at`` strings do, character by character: ISO 8601
    # times in one format order as text.

    async def mark_queued(self, versions: Iterable[QueuedVersion]) -> None:
        """Raise each version's mark to at least its ``updated_at``, all in one atomic step.

        A mark already at or past that version stays as it is; of two versions of one key in
        ``versions`` the newer wins. Call it only once the versions are durably queued.
        """
        raised = list(versions)
        if raised:
            await self._mark_queued(raised)

    async def queued_marks(self, keys: Iterable[MarkKey]) -> dict[MarkKey, str]:
        """The marks of those ``(issue, processor)`` keys that have one, by key, in one step."""
        wanted = list(keys)
        return await self._queued_marks(wanted) if wanted else {}

    # -- locks -----------------------------------------------------------------------------

    async def acquire(self, issue: str | int, owner: str, ttl_s: float) -> bool:
        """Take the issue's lock for ``ttl_s`` seconds; False if another owner holds it. Atomic.

        Acquiring a lock one already holds extends it.
        """
        now = self.clock.time()
        return await self._acquire(str(issue), owner, now, now + _positive(ttl_s))

    async def refresh(self, issue: str | int, owner: str, ttl_s: float) -> bool:
        """Extend a lock ``owner`` still holds; False if it expired or is not theirs. Atomic."""
        now = self.clock.time()
        return await self._refresh(str(issue), owner, now, now + _positive(ttl_s))

    async def acquire_many(self, issues: Sequence[str], owner: str, ttl_s: float) -> set[str]:
        """Take several issues' locks in one atomic step; return those taken."""
        now = self.clock.time()
        until = now + _positive(ttl_s)
        return await self._acquire_many(list(issues), owner, now, until) if issues else set()

    async def refresh_many(self, issues: Sequence[str], owner: str, ttl_s: float) -> set[str]:
        """Extend several locks ``owner`` still holds, in one step; return those extended."""
        now = self.clock.time()
        until = now + _positive(ttl_s)
        return await self._refresh_many(list(issues), owner, now, until) if issues else set()

    async def release_many(self, issues: Sequence[str], owner: str) -> None:
        """Free the locks of ``issues`` that ``owner`` holds, in one step."""
        if issues:
            await self._release_many(list(issues), owner)

    async def release(self, issue: str | int, owner: str) -> bool:
        """Free the lock if ``owner`` holds it; return whether it did. Atomic."""
        return await self._release(str(issue), owner)

    async def owner(self, issue: str | int) -> str | None:
        """Who holds the issue's lock now, or ``None``."""
        return await self._owner(str(issue), self.clock.time())

    # -- artifacts -------------------------------------------------------------------------

    async def save_artifact(self, key: str, data: bytes) -> None:
        """Keep ``data`` under ``key``, replacing what was there. Atomic."""
        await self._save_artifact(key, bytes(data))

    async def load_artifact(self, key: str) -> bytes | None:
        """The data saved under ``key``, or ``None``."""
        return await self._load_artifact(key)

    # -- counters --------------------------------------------------------------------------
    # A total and a member set may share a key: they are apart. Each expires, if it was given
    # a ``ttl_s``, that long after the call that first gave it one (on the store's clock); an
    # expired one reads as absent and starts afresh. A ``ttl_s`` that is not positive raises
    # :class:`ConfigurationError`.

    async def increment(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int:
        """Add ``amount`` (it may be negative) to the total ``key``; return the new total. Atomic.

        An absent or expired total starts from 0. With ``ttl_s``, a total that does not expire
        yet expires ``ttl_s`` seconds from now; one that does keeps its time.
        """
        now = self.clock.time()
        return await self._increment(key, amount, now, _until(now, ttl_s))

    async def counter(self, key: str) -> int:
        """The total ``key`` has now: 0 if it was never incremented or has expired."""
        return await self._counter(key, self.clock.time())

    async def add_member(self, key: str, member: str, *, ttl_s: float | None = None) -> int:
        """Add ``member`` to the set ``key``; return how many members the set has. Atomic.

        Adding a member the set has changes nothing (and returns the same size). ``ttl_s``
        applies to the whole set, as to a total in :meth:`increment`.
        """
        now = self.clock.time()
        return await self._add_member(key, member, now, _until(now, ttl_s))

    # -- keys ------------------------------------------------------------------------------
    # A key is apart from the totals and sets of the same name. One given a ``ttl_s`` expires
    # that long after the call that added it (on the store's clock) and then reads as absent.

    async def add_if_absent(self, key: str, *, ttl_s: float | None = None) -> bool:
        """Add ``key`` unless it is present; return whether this call added it. Atomic.

        Of several calls adding one key, on any number of stores of one backend, exactly one
        returns True until the key expires. Adding a present key changes nothing, not even
        its expiry. A ``ttl_s`` that is not positive raises :class:`ConfigurationError`.
        """
        now = self.clock.time()
        return await self._add_if_absent(key, now, _until(now, ttl_s, "a key"))

    async def is_present(self, key: str) -> bool:
        """Whether ``key`` was added and has not expired."""
        return await self._is_present(key, self.clock.time())

    # -- observing and lifecycle -----------------------------------------------------------

    async def statistics(self) -> StateStatistics:
        """Ledger entries and live locks, as a frozen snapshot."""
        entries, locks = await self._counts(self.clock.time())
        return StateStatistics(entries=entries, locks=locks)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    async def close(self) -> None:
        """Release connections and threads. Idempotent."""
        await self._close()

    async def __aenter__(self) -> StateStore:
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
        """Where this store lives (never with a password)."""

    @abc.abstractmethod
    async def _record(self, entry: LedgerEntry) -> None: ...

    @abc.abstractmethod
    async def _applied(
        self, issue: str, processor: str, updated_at: str, action: str, now: float
    ) -> LedgerEntry: ...

    @abc.abstractmethod
    async def _lookup(self, issue: str, processor: str) -> LedgerEntry | None: ...

    @abc.abstractmethod
    async def _acquire(self, issue: str, owner: str, now: float, until: float) -> bool: ...

    @abc.abstractmethod
    async def _refresh(self, issue: str, owner: str, now: float, until: float) -> bool: ...

    @abc.abstractmethod
    async def _release(self, issue: str, owner: str) -> bool: ...

    @abc.abstractmethod
    async def _owner(self, issue: str, now: float) -> str | None: ...

    @abc.abstractmethod
    async def _counts(self, now: float) -> tuple[int, int]: ...

    @abc.abstractmethod
    async def _close(self) -> None: ...

    @abc.abstractmethod
    async def _save_artifact(self, key: str, data: bytes) -> None: ...

    @abc.abstractmethod
    async def _load_artifact(self, key: str) -> bytes | None: ...

    @abc.abstractmethod
    async def _increment(self, key: str, amount: int, now: float, until: float | None) -> int: ...

    @abc.abstractmethod
    async def _counter(self, key: str, now: float) -> int: ...

    @abc.abstractmethod
    async def _add_member(self, key: str, member: str, now: float, until: float | None) -> int: ...

    @abc.abstractmethod
    async def _add_if_absent(self, key: str, now: float, until: float | None) -> bool: ...

    @abc.abstractmethod
    async def _is_present(self, key: str, now: float) -> bool: ...

    @abc.abstractmethod
    async def _mark_queued(self, versions: list[QueuedVersion]) -> None: ...

    @abc.abstractmethod
    async def _queued_marks(self, keys: list[MarkKey]) -> dict[MarkKey, str]: ...

    # -- batched hooks: one step each where the backend can; these defaults loop -----------

    async def _record_many(self, entries: list[LedgerEntry]) -> None:
        for entry in entries:
            await self._record(entry)

    async def _lookup_many(self, issues: list[str], processor: str) -> dict[str, LedgerEntry]:
        found = {}
        for issue in issues:
            entry = await self._lookup(issue, processor)
            if entry is not None:
                found[issue] = entry
        return found

    async def _acquire_many(
        self, issues: list[str], owner: str, now: float, until: float
    ) -> set[str]:
        return {issue for issue in issues if await self._acquire(issue, owner, now, until)}

    async def _refresh_many(
        self, issues: list[str], owner: str, now: float, until: float
    ) -> set[str]:
        return {issue for issue in issues if await self._refresh(issue, owner, now, until)}

    async def _release_many(self, issues: list[str], owner: str) -> None:
        for issue in issues:
            await self._release(issue, owner)


def _positive(ttl_s: float, what: str = "a lock") -> float:
    if ttl_s <= 0:
        raise ConfigurationError(f"{what}'s ttl_s must be positive, not {ttl_s}")
    return ttl_s


def _until(now: float, ttl_s: float | None, what: str = "a counter") -> float | None:
    return None if ttl_s is None else now + _positive(ttl_s, what)


def expired(until: float | None, now: float) -> bool:
    """Whether a counter that expires at ``until`` (``None``: never) has expired at ``now``."""
    return until is not None and until <= now


def fresh_entry(issue: str, processor: str, updated_at: str, now: float) -> LedgerEntry:
    """A :data:`PENDING` entry with no actions yet: where a new plan starts."""
    return LedgerEntry(issue, processor, updated_at, PENDING, (), now)
