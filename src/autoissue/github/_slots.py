"""A resizable count of slots: an asyncio semaphore whose size can change while in use."""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    """At most ``limit`` holders at once; waiters are served first come, first served."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self.held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def __repr__(self) -> str:
        return f"<Slots {self.held}/{self._limit} waiting={len(self._waiters)}>"

    @property
    def limit(self) -> int:
        """How many may hold a slot at once."""
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit = max(1, value)
        self._wake()

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody waits for one; ``False`` otherwise."""
        if self.held < self._limit and not self._waiters:
            self.held += 1
            return True
        return False

    async def acquire(self) -> None:
        """Take a slot, waiting for one when all are held."""
        if self.try_acquire():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            # Handed a slot just as it was cancelled: pass the slot on.
            if waiter.done() and not waiter.cancelled():
                self.release()
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back and hand it to the longest waiter."""
        self.held -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.held < self._limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.held += 1
                waiter.set_result(None)
