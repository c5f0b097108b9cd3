"""The dispatcher: starts one task per issue while the adaptive controller's limit allows.

::

    work queue ──get──▶ follow the governor's cap ──▶ controller.acquire() ──▶ task(issue)
                                                        (waits at the limit)      │
    controller ◀── on_success(latency) / on_dropped() / on_ignore() ◀── outcome ──┘

In-flight work is bounded by the controller's limit, which moves with every completion, not
by a fixed number of workers. The cap is read from the GitHub governor before each admission,
so when the governor learns that the server has no limits (or has them after all) the
controller follows at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from autoissue.concurrency import AdaptiveConcurrencyController, Listener
from autoissue.model import Issue

__all__ = ["Dispatcher"]

#: Handles one issue; returns the error that failed it (already counted), or None.
Handler = Callable[[Issue], Awaitable[BaseException | None]]


class Dispatcher:
    """Admits issues from a queue under ``controller``; ``cap`` reads the hard cap (None: none).

    A ``None`` on the queue ends the run: the dispatcher then waits for the work in flight.
    """

    def __init__(
        self,
        controller: AdaptiveConcurrencyController,
        handle: Handler,
        *,
        cap: Callable[[], int | None] | None = None,
    ) -> None:
        self.controller = controller
        self._handle = handle
        self._cap = cap
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = 0

    @property
    def in_flight(self) -> int:
        """Issues being handled right now."""
        return len(self._tasks)

    async def run(self, queue: asyncio.Queue[Issue | None]) -> None:
        """Dispatch until the ``None`` that ends the queue, then wait for the work in flight."""
        while (issue := await queue.get()) is not None:
            self.follow_cap()
            listener = await self.controller.acquire()
            task = asyncio.create_task(self._one(issue, listener))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self.started += 1
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def follow_cap(self) -> None:
        """Apply the governor's current cap if it changed (a cheap read, once per admission)."""
        if self._cap is None:
            return
        cap = self._cap()
        if cap != self.controller.limiter.hard_cap:
            self.controller.limiter.set_hard_cap(cap, reason="governor cap")

    async def cancel(self) -> None:
        """Cancel the work in flight (the run itself failed or was cancelled) and wait for it."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _one(self, issue: Issue, listener: Listener) -> None:
        try:
            error = await self._handle(issue)
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
