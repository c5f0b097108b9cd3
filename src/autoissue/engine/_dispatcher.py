"""The dispatcher: claims queue items while the adaptive controller's limit allows, one task each.

::

    room = limit + reserve ──▶ queue.claim_many(room) ──▶ ready ──slot──▶ task(lease)
      - in flight - ready       (once room >= limit/8)          ▲ a finishing task's slot
                                                                 │ goes to the next at once
    controller ◀── on_outcome(error) ◀──────────── outcome ◀─────┘
    heartbeat: every lease_s / 3, extend the leases (and issue locks) of the ready and running

Claims are made an eighth of the limit at a time, and as many leases are kept ready beyond
the limit, so a slot is refilled the moment it frees while the next claim's round trips go
on. Only that reserve waits for slots, briefly and heartbeated (no lease expires unworked),
and a slot is taken only to start an item (never for nothing, which would count as a
completion). In-flight work is bounded by the controller's limit, which moves with every
completion; the cap is read from the GitHub governor before each claim, so the controller
follows it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from autoissue._exceptions import BackendUnavailableError
from autoissue.concurrency import AdaptiveConcurrencyController, Listener
from autoissue.queue import Lease, Queue

__all__ = ["Dispatcher"]

logger = logging.getLogger(__name__)

#: Says whether there is nothing left to do (called only when a claim came back empty).
Finished = Callable[[], Awaitable[bool]]


class UnitOfWork(Protocol):
    """What is done with claimed leases: the dispatcher's one partner, step by step.

    The dispatcher calls :meth:`prepare` once per claimed batch, :meth:`handle` once per lease
    it starts, :meth:`refresh` on every heartbeat and :meth:`flush` in the background; it
    never settles a lease itself.
    """

    async def prepare(self, leases: list[Lease]) -> list[Lease]:
        """Ready a claimed batch in one go (locks, ledger); return the leases to start."""

    async def handle(self, lease: Lease) -> BaseException | None:
        """Handle one lease (its outcome to settle); return the error that failed it, or None."""

    async def refresh(self, lease_ids: list[str]) -> None:
        """Extend whatever else the leases still held guard (the issue locks)."""

    async def flush(self) -> None:
        """Settle what finished since the last call (ledger records, acks) in one go."""


class ClaimCaps(Protocol):
    """How many more items may be started (``None``: no cap), and counting those started."""

    async def room(self) -> int | None:
        """Items that may still be started."""

    async def spend(self, count: int) -> None:
        """Count ``count`` more started items."""


class Dispatcher:
    """Claims and handles leases from ``queue`` under ``controller``.

    ``work`` prepares, handles and settles what is claimed (:class:`UnitOfWork`). ``cap``
    reads the hard cap (None: none); ``batch`` bounds one claim; ``poll_s`` is how long an idle
    dispatcher waits before it looks again (a :meth:`wake` cuts the wait short); while
    ``paused()`` says so, nothing new is claimed; ``caps`` bounds how many items are started
    in all (claims never exceed its room).
    """

    def __init__(
        self,
        controller: AdaptiveConcurrencyController,
        queue: Queue,
        work: UnitOfWork,
        *,
        cap: Callable[[], int | None] | None = None,
        batch: int = 256,
        poll_s: float = 0.05,
        paused: Callable[[], bool] | None = None,
        caps: ClaimCaps | None = None,
    ) -> None:
        self.controller = controller
        self.queue = queue
        self.work, self._cap, self._paused = work, cap, paused
        self.batch, self.poll_s, self._caps = batch, poll_s, caps
        self._tasks: dict[asyncio.Task[None], Lease] = {}
        #: Claimed and prepared, waiting for a slot: a finishing task's slot goes to the
        #: first of them at once, without waiting for a claim's round trips.
        self._ready: deque[Lease] = deque()
        self._wake = asyncio.Event()
        self._failure: Exception | None = None
        self._flushing: asyncio.Task[None] | None = None
        self.started = 0

    @property
    def in_flight(self) -> int:
        """Items being handled right now."""
        return len(self._tasks)

    def wake(self) -> None:
        """New work may be ready: stop idling."""
        self._wake.set()

    async def run(self, finished: Finished) -> None:
        """Dispatch until ``finished()`` says so with nothing in flight, then return.

        Finished items are settled (``flush``) in the background, one flush at a time, so
        claims never wait for the acks and ledger writes of the items before them; before
        asking ``finished()``, everything finished is settled.
        """
        heartbeat = asyncio.create_task(self._heartbeats())
        try:
            while True:
                self._raise_failure()
                self._flush_behind()
                if await self._dispatch_batch():
                    continue
                if not self._tasks and not self._ready:
                    await self._settled()
                    if await finished():
                        return
                await self._idle()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await self._stop_flushing()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _flush_behind(self) -> None:
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_once())

    async def _flush_once(self) -> None:
        try:
            await self.work.flush()
        except Exception as failure:  # noqa: BLE001 - raised by the dispatch loop instead
            self._failure = self._failure or failure
            self._wake.set()

    async def _settled(self) -> None:
        # The flush under way, then one more for whatever finished meanwhile.
        if self._flushing is not None:
            await self._flushing
        await self._flush_once()
        self._raise_failure()

    async def _stop_flushing(self) -> None:
        # On the way out (finished, failed or cancelled), the flush under way completes.
        flushing, self._flushing = self._flushing, None
        if flushing is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await flushing

    async def _dispatch_batch(self) -> bool:
        """Claim as many items as there are free slots and start them; False if none came."""
        self.follow_cap()
        self._start_ready()  # claimed is started, paused or not
        if self._paused is not None and self._paused():
            return False  # nothing more is claimed; what is in flight finishes
        room = self._room()
        if room < self._least():
            await self._idle()  # a finishing task wakes it once there is room enough
            return True
        room = await self._capped(room)
        if room <= 0:
            return False
        claimed = await self.queue.claim_many(room)
        leases = await self.work.prepare(claimed)
        if self._caps is not None:
            await self._caps.spend(len(leases))
        self._ready.extend(leases)
        self._start_ready()
        return bool(claimed)

    def _start_ready(self) -> None:
        """Start ready leases, first claimed first, while the limit has free slots."""
        limiter = self.controller.limiter
        while self._ready:
            listener = limiter.try_acquire()
            if listener is None:
                return  # the limit is reached (it may have dropped since the claim)
            lease = self._ready.popleft()
            task = asyncio.create_task(self._one(lease, listener))
            self._tasks[task] = lease
            task.add_done_callback(self._finished)
            self.started += 1

    async def _capped(self, room: int) -> int:
        caps = None if self._caps is None else await self._caps.room()
        return room if caps is None else min(room, caps)

    def _room(self) -> int:
        """Items to claim: the limit's free slots and a reserve, less what is ready already."""
        limiter = self.controller.limiter
        wanted = limiter.limit + self._reserve() - limiter.in_flight - len(self._ready)
        return min(self.batch, wanted)

    def _reserve(self) -> int:
        """Leases kept ready beyond the limit while work is in flight: an eighth of the limit.

        Every claim costs the same few backend round trips (claim, then the batch's locks and
        ledger reads) whatever its size. Claiming for each slot as it frees would pay them for
        one or two items at a time, and leave the slots empty while they last; claiming an
        eighth of the limit at a time, with as many ready in advance, fills each slot the
        moment it frees at an eighth of the round trips.
        """
        if not self._tasks:
            return 0
        return min(self.batch, self.controller.limiter.limit // 8)

    def _least(self) -> int:
        """The fewest items worth a claim (see :meth:`_reserve`)."""
        return max(1, self._reserve())

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        self._start_ready()
        # Woken only when a claim is worth it (or the run must stop): not by every completion.
        if self._failure is not None or self._room() >= self._least():
            self._wake.set()

    async def _idle(self) -> None:
        self._wake.clear()
        # asyncio.timeout, not wait_for: on Python 3.11 a wake-up that lands in the same step
        # as a cancellation makes wait_for swallow the cancellation, and the loop runs on.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_s):
                await self._wake.wait()

    async def _heartbeats(self) -> None:
        period = self.queue.lease_s / 3
        while True:
            await asyncio.sleep(period)
            ids = [lease.id for lease in (*self._tasks.values(), *self._ready)]
            if not ids:
                continue
            try:
                held = await self.queue.heartbeat(ids)
                await self.work.refresh(held)
            except BackendUnavailableError as error:
                # The next beat tries again; a lease lost meanwhile is reclaimed, not doubled.
                logger.warning("heartbeat failed: %s", error)

    def follow_cap(self) -> None:
        """Apply the governor's current cap if it changed (a cheap read, once per claim)."""
        if self._cap is None:
            return
        cap = self._cap()
        if cap != self.controller.limiter.hard_cap:
            self.controller.limiter.set_hard_cap(cap, reason="governor cap")

    async def cancel(self) -> None:
        """Cancel the work in flight (the run failed or was cancelled) and wait for it.

        The cancelled items' leases are not acked (nor those of the items ready to start):
        they expire and the items are retried.
        """
        self._ready.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _one(self, lease: Lease, listener: Listener) -> None:
        try:
            error = await self.work.handle(lease)
        except BackendUnavailableError as failure:
            # The queue or state store is gone: the run stops with this error, and the lease
            # (never acked) brings the item back once the backend does.
            listener.on_ignore()
            self._failure = self._failure or failure
            return
        except BaseException:
            # Cancelled mid-way: the slot goes back without teaching the limit anything.
            listener.on_ignore()
            raise
        listener.on_outcome(error)

    def __repr__(self) -> str:
        return (
            f"<Dispatcher in_flight={self.in_flight} started={self.started}"
            f" limit={self.controller.limit}>"
        )
