"""A bounded buffer between two stages: at most N items and B bytes, FIFO, closable.

::

    producer ──put──▶ [ items ≤ N, bytes ≤ B ] ──get──▶ consumer
    (waits while full)                           (waits while empty)

    close(): consumers take what is left, then their iteration ends
    fail(e): what is left is dropped, consumers raise e at once

A full buffer makes ``put`` wait, so a slow consumer holds its producer back and, stage by
stage, the source: memory is bounded by the buffers' budgets, never by the backlog. One item
bigger than the byte budget is let in when the buffer is empty, or it would wait forever.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from autoissue._exceptions import AutoIssueError

__all__ = ["Budget", "Buffer", "BufferClosedError", "BufferStatistics"]

T = TypeVar("T")
Size = Callable[[T], int]


class BufferClosedError(AutoIssueError, RuntimeError):
    """An item was put into a buffer after it was closed (its consumer has gone)."""


@dataclass(frozen=True, kw_only=True)
class Budget:
    """What a buffer may hold: ``items`` at most, and ``bytes`` by ``size`` (``None``: no limit).

    ``size`` tells an item's bytes; without it a byte budget cannot be kept, so ``bytes``
    then needs it.
    """

    items: int = 64
    bytes: int | None = None
    size: Callable[[object], int] | None = None

    def __post_init__(self) -> None:
        if self.items < 1:
            raise ValueError("a buffer must hold at least one item")
        if self.bytes is not None and (self.bytes < 1 or self.size is None):
            raise ValueError("a byte budget needs a positive size and a size function")


@dataclass(frozen=True, slots=True)
class BufferStatistics:
    """A snapshot of one buffer: what it holds now, its peaks, and how often it pushed back."""

    name: str
    items: int
    bytes: int
    peak_items: int
    peak_bytes: int
    put_total: int
    got_total: int
    put_waits: int  # puts that had to wait: the consumer was the slower side
    closed: bool


class Buffer(Generic[T]):
    """A FIFO of at most ``budget.items`` items and ``budget.bytes`` bytes; async-iterable.

    Several producers and consumers may share it: each ``get`` wakes one waiting producer,
    each ``put`` one waiting consumer.
    """

    def __init__(self, budget: Budget | None = None, *, name: str = "buffer") -> None:
        self.budget = budget or Budget()
        self.name = name
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self._error: BaseException | None = None
        self._peak_items = self._peak_bytes = 0
        self._put_total = self._got_total = self._put_waits = 0

    def __repr__(self) -> str:
        return (
            f"<Buffer {self.name} items={len(self._items)}/{self.budget.items}"
            f" bytes={self._bytes} closed={self._closed}>"
        )

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        """Whether no more items will come (closed or failed)."""
        return self._closed

    def statistics(self) -> BufferStatistics:
        """A frozen snapshot of the buffer's figures."""
        return BufferStatistics(
            name=self.name,
            items=len(self._items),
            bytes=self._bytes,
            peak_items=self._peak_items,
            peak_bytes=self._peak_bytes,
            put_total=self._put_total,
            got_total=self._got_total,
            put_waits=self._put_waits,
            closed=self._closed,
        )

    def fits(self, size: int) -> bool:
        """Whether an item of ``size`` bytes would be let in now, without waiting."""
        if not self._items:
            return True
        if len(self._items) >= self.budget.items:
            return False
        return self.budget.bytes is None or self._bytes + size <= self.budget.bytes

    async def put(self, item: T) -> None:
        """Add ``item``, waiting while the budget is spent; raises BufferClosedError if closed."""
        size = self.budget.size(item) if self.budget.size is not None else 0
        if self._closed or not self.fits(size):
            self._put_waits += 1
            while self._closed or not self.fits(size):
                if self._closed:
                    raise BufferClosedError(f"buffer {self.name} is closed")
                await self._wait(self._putters)
        self._items.append((item, size))
        self._bytes += size
        self._put_total += 1
        self._peak_items = max(self._peak_items, len(self._items))
        self._peak_bytes = max(self._peak_bytes, self._bytes)
        _wake_one(self._getters)

    async def get(self) -> T:
        """Take the oldest item, waiting while empty; raises StopAsyncIteration once drained."""
        while not self._items:
            if self._error is not None:
                raise self._error
            if self._closed:
                raise StopAsyncIteration
            await self._wait(self._getters)
        item, size = self._items.popleft()
        self._bytes -= size
        self._got_total += 1
        _wake_one(self._putters)
        return item

    def close(self) -> None:
        """No more items: consumers take what is left, then their iteration ends."""
        self._closed = True
        _wake_all(self._getters)
        _wake_all(self._putters)

    def fail(self, error: BaseException) -> None:
        """The producer failed: what is left is dropped, and consumers raise ``error``."""
        self._error = error
        self._items.clear()
        self._bytes = 0
        self.close()

    def __aiter__(self) -> Buffer[T]:
        return self

    async def __anext__(self) -> T:
        return await self.get()

    async def _wait(self, waiters: deque[asyncio.Future[None]]) -> None:
        waiter = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            waiter.cancel()
            waiters.remove(waiter)
            # A wake-up given to a waiter that was cancelled at the same time passes on.
            _wake_one(waiters)
            raise
        waiters.remove(waiter)


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
            return


def _wake_all(waiters: deque[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
