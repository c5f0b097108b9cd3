"""One budget for many workers: a governor whose budgets live in a store every process shares.

Processes (and machines) that use one token share GitHub's limits for it, so they must
share the governor's books: the primary reading, the points and content windows, the last
mutation, any pause, and the requests in flight. :class:`SharedGovernor` makes each
decision inside one atomic read-modify-write of that state in a :class:`BudgetStore`:
SQLite (one machine, ``BEGIN IMMEDIATE``) or Redis (several machines, ``WATCH``/``MULTI``
optimistic transactions). The decision itself is the local governor's own code.

Requests in flight are leases that expire, so a process killed mid-request cannot hold
part of the budget for ever. Releases, pauses and readings are written in the background:
a request must not wait for the books to be closed after it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from typing import Protocol, TypeVar

import msgspec

from autoissue._clock import Clock
from autoissue.github._governor import (
    Governor,
    GovernorSettings,
    Permit,
    RequestKind,
    _Primary,
)
from autoissue.github._ratelimit import RateLimitInfo
from autoissue.github._window import SlidingWindow

logger = logging.getLogger(__name__)

T = TypeVar("T")
LEASE_S = 120.0  # longer than any request may take: then its slot is presumed free
_LEASE_IDS = random.SystemRandom()


class BudgetStore(Protocol):
    """Shared bytes, changed atomically: the whole contract a shared governor needs."""

    async def transact(self, change: Callable[[bytes | None], tuple[bytes, T]]) -> T:
        """Read the state, let ``change`` compute the new state and a result, write it.

        Atomic across processes: no other transaction interleaves. ``change`` may be run
        more than once (optimistic stores retry it) and must have no other effect.
        """
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def budget_key(base_url: str, token: str) -> str:
    """The store key of one token's budget on one host; the token itself is never stored."""
    digest = hashlib.sha256(f"{base_url}\n{token}".encode()).hexdigest()[:24]
    return f"github-budget:{digest}"


class SharedState(msgspec.Struct):
    """The governor's books as stored: windows as ``[time, amount, id]`` entries."""

    primary: dict[str, tuple[int, int, int, float, float]] = {}  # limit, remaining, used,
    # reset, last sent
    points: dict[str, list[list[float]]] = {}
    content_minute: list[list[float]] = []
    content_hour: list[list[float]] = []
    last_mutation: float = -1e18
    paused_until: float = 0.0
    leases: dict[str, tuple[str, float]] = {}  # lease id -> (resource, expires at)


class MemoryBudgetStore:
    """A store inside one process: for tests, and for workers sharing one event loop."""

    def __init__(self) -> None:
        self.state: bytes | None = None

    def __repr__(self) -> str:
        return f"<MemoryBudgetStore {len(self.state or b'')} bytes>"

    async def transact(self, change: Callable[[bytes | None], tuple[bytes, T]]) -> T:
        """Apply ``change`` (one event loop: nothing can interleave)."""
        self.state, result = change(self.state)
        return result

    async def close(self) -> None:
        """Nothing to release."""


class SharedGovernor(Governor):
    """A :class:`Governor` whose books are shared through ``store`` by every process.

    Each process keeps its own cap on concurrent requests too; the shared cap counts
    every process's requests in flight. When the server has no limits there is nothing
    to share and decisions stay local.
    """

    def __init__(
        self,
        store: BudgetStore,
        settings: GovernorSettings | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(settings, clock=clock)
        self._store = store
        self._background: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"<SharedGovernor {self.mode.value} {self._store!r}>"

    def _decides_locally(self) -> bool:
        """Only when the server has no limits: otherwise the shared books decide."""
        return self.mode.value == "unlimited"

    async def _decide(self, kind: RequestKind) -> Permit | float:
        if self.mode.value == "unlimited":
            return await super()._decide(kind)
        return await self._store.transact(lambda blob: self._admit_shared(blob, kind))

    def _admit_shared(self, blob: bytes | None, kind: RequestKind) -> tuple[bytes, Permit | float]:
        now = self._clock.time()
        state = self._load(blob, now)
        if len(state.leases) >= self.settings.max_concurrent:
            self._waits.add("concurrency", 0.05)
            return self._dump(state), 0.05  # a slot frees when another process's answer comes
        outcome = self._admit(kind, now)
        if isinstance(outcome, Permit):
            lease = str(_LEASE_IDS.random())
            state.leases[lease] = (kind.resource, now + LEASE_S)
            outcome = Permit(outcome.kind, outcome.entries, lease)
        return self._dump(state), outcome

    def release(self, permit: Permit, info: RateLimitInfo | None = None) -> None:
        """Free the local slot now; settle the shared books in the background."""
        if not permit.lease:
            super().release(permit, info)
            return
        self._slots.release()
        self._in_background(lambda blob: self._release_shared(blob, permit, info))

    def _release_shared(
        self, blob: bytes | None, permit: Permit, info: RateLimitInfo | None
    ) -> tuple[bytes, None]:
        now = self._clock.time()
        state = self._load(blob, now)
        for window in self._windows_of(permit.kind):
            for entry in permit.entries:
                window.settle_id(entry[2], now)
        self._answered(permit, info)
        state.leases.pop(permit.lease, None)
        return self._dump(state), None

    def pause(self, seconds: float, reason: str) -> None:
        """Pause every process: the refusal was for the token, not for this process."""
        super().pause(seconds, reason)
        self._in_background(lambda blob: (self._dump(self._load(blob, self._clock.time())), None))

    def observe(self, info: RateLimitInfo | None) -> None:
        """Share a reading with every process."""
        super().observe(info)
        if info is not None:
            self._in_background(lambda blob: self._observe_shared(blob, info))

    def _observe_shared(self, blob: bytes | None, info: RateLimitInfo) -> tuple[bytes, None]:
        state = self._load(blob, self._clock.time())
        self._learn(info)
        return self._dump(state), None

    async def flush(self) -> None:
        """Wait until every background change to the shared books is written."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _in_background(self, change: Callable[[bytes | None], tuple[bytes, None]]) -> None:
        task = asyncio.get_running_loop().create_task(self._store.transact(change))
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("could not update the shared GitHub budget: %s", task.exception())

    def _windows_of(self, kind: RequestKind) -> list[SlidingWindow]:
        windows = [self._points_window(kind)]
        if kind.creates_content:
            windows += [self._content_minute, self._content_hour]
        return windows

    def _load(self, blob: bytes | None, now: float) -> SharedState:
        """Make this governor's books the shared ones; returns the stored state."""
        state = msgspec.msgpack.decode(blob, type=SharedState) if blob else SharedState()
        state.leases = {lease: held for lease, held in state.leases.items() if held[1] > now}
        in_flight = Counter(resource for resource, _ in state.leases.values())
        self._primary = {
            resource: _Primary(
                RateLimitInfo(limit, remaining, used, reset, resource), in_flight[resource], sent
            )
            for resource, (limit, remaining, used, reset, sent) in state.primary.items()
        }
        self._points = {}
        for endpoint, entries in state.points.items():
            self._endpoint_window(endpoint).restore(entries, now)
        self._content_minute.restore(state.content_minute, now)
        self._content_hour.restore(state.content_hour, now)
        self._last_mutation = state.last_mutation
        self._paused_until = max(self._paused_until, state.paused_until)
        return state

    def _dump(self, state: SharedState) -> bytes:
        """The state with this governor's books in it, encoded for the store."""
        state.primary = {
            resource: (p.info.limit, p.info.remaining, p.info.used, p.info.reset, p.last_sent)
            for resource, p in self._primary.items()
        }
        state.points = {endpoint: w.entries() for endpoint, w in self._points.items()}
        state.content_minute = self._content_minute.entries()
        state.content_hour = self._content_hour.entries()
        state.last_mutation = self._last_mutation
        state.paused_until = self._paused_until
        return msgspec.msgpack.encode(state)
