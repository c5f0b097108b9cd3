"""The dispatcher: claims queue items while the adaptive controller's limit allows, one task each.

::

    room = limit - in flight ──▶ queue.claim_many(room) ──leases──▶ task(lease)
      (idles while it is 0)                                            │
    controller ◀── on_outcome(error) ◀──────────── outcome ◀─────────────┘
    heartbeat: every lease_s / 3, extend the leases (and issue locks) of the tasks in flight

Only as many items are claimed as the limit has room for, so leases do not wait for slots
and expire unworked (and no slot is taken for nothing, which would count as a completion).
In-flight work is bounded by the controller's limit, which moves with every completion; the
cap is read from the GitHub governor before each claim, so the controller follows it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
        batch: int = 64,
        poll_s: float = 0.05,
        paused: Callable[[], bool] | None = None,
        caps: ClaimCaps | None = None,
    ) -> None:
        self.controller = controller
        self.queue = queue
        self.work, self._cap, self._paused = work, cap, paused
        self.batch, self.poll_s, self._caps = batch, poll_s, caps
        self._tasks: dict[asyncio.Task[None], Lease] = {}
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
                if not self._tasks:
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
        if self._paused is not None and self._paused():
            return False  # nothing more is claimed; what is in flight finishes
        limiter = self.controller.limiter
        room = min(self.batch, limiter.limit - limiter.in_flight)
        if room <= 0:
            await self._idle()  # a finishing task wakes it
            return True
        room = await self._capped(room)
        if room <= 0:
            return False
        claimed = await self.queue.claim_many(room)
        leases = await self.work.prepare(claimed)
        if self._caps is not None:
            await self._caps.spend(len(leases))
        await self._start(leases)
        return bool(claimed)

    async def _start(self, leases: list[Lease]) -> None:
        limiter = self.controller.limiter
        for lease in leases:
            # The limit may have dropped since the claim: then the lease waits its turn.
            listener = limiter.try_acquire() or await self.controller.acquire()
            task = asyncio.create_task(self._one(lease, listener))
            self._tasks[task] = lease
            task.add_done_callback(self._finished)
        self.started += len(leases)

    async def _capped(self, room: int) -> int:
        caps = None if self._caps is None else await self._caps.room()
        return room if caps is None else min(room, caps)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
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
            ids = [lease.id for lease in self._tasks.values()]
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

        The cancelled items' leases are not acked: they expire and the items are retried.
        """
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
