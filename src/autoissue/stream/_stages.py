"""Stage building blocks: async generators from an upstream iterator to a downstream one.

A stage is any ``Callable[[AsyncIterator[A]], AsyncGenerator[B, None]]``; these make the
common ones. Each pulls one item at a time, so a stage never reads ahead of what its
output buffer lets through (``concurrent`` reads ahead by its limit, no more).

::

    flattened()           [a, b] [c]  ──▶ a b c                       pages to issues
    mapped(f)             a b c       ──▶ f(a) f(b) f(c)              decode, encode
    filtered(keep)        a b c       ──▶ a c                         select
    concurrent(f, limit)  a b c       ──▶ await f(b), f(a), f(c)      dispatch, write-back
                                           (in completion order, ≤ limit at once)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

__all__ = ["Stage", "concurrent", "filtered", "flattened", "mapped"]

A = TypeVar("A")
B = TypeVar("B")
Stage = Callable[[AsyncIterator[Any]], AsyncGenerator[Any, None]]


def mapped(function: Callable[[A], B]) -> Callable[[AsyncIterator[A]], AsyncGenerator[B, None]]:
    """A stage yielding ``function(item)`` for every item (a cheap, synchronous step)."""

    async def stage(items: AsyncIterator[A]) -> AsyncGenerator[B, None]:
        async for item in items:
            yield function(item)

    return stage


def filtered(keep: Callable[[A], bool]) -> Callable[[AsyncIterator[A]], AsyncGenerator[A, None]]:
    """A stage passing on the items for which ``keep`` is true (it may count the others)."""

    async def stage(items: AsyncIterator[A]) -> AsyncGenerator[A, None]:
        async for item in items:
            if keep(item):
                yield item

    return stage


def flattened() -> Callable[[AsyncIterator[Iterable[A]]], AsyncGenerator[A, None]]:
    """A stage yielding the items of each iterable it receives, in order (pages to issues)."""

    async def stage(groups: AsyncIterator[Iterable[A]]) -> AsyncGenerator[A, None]:
        async for group in groups:
            for item in group:
                yield item

    return stage


def concurrent(
    function: Callable[[A], Awaitable[B]], *, limit: int | Callable[[], int]
) -> Callable[[AsyncIterator[A]], AsyncGenerator[B, None]]:
    """A stage awaiting ``function(item)`` for up to ``limit`` items at once.

    Results come out as they complete, not in input order. ``limit`` may be a callable,
    read before each admission, so an adaptive controller can move it. An error raised by
    ``function`` ends the stage with it (handle per-item failures inside ``function``);
    closing the stage cancels the calls in flight.
    """
    read_limit = limit if callable(limit) else (lambda: limit)

    def stage(items: AsyncIterator[A]) -> AsyncGenerator[B, None]:
        return _Concurrent(function, read_limit).run(items)

    return stage


class _Concurrent:
    """One run of a ``concurrent`` stage: the calls in flight and the upstream pull."""

    def __init__(self, function: Callable[[Any], Awaitable[Any]], limit: Callable[[], int]) -> None:
        self._function, self._limit = function, limit
        self._running: set[asyncio.Future[Any]] = set()
        self._finished: deque[asyncio.Future[Any]] = deque()
        self._pull: asyncio.Future[Any] | None = None
        self._wake: asyncio.Future[None] | None = None

    async def run(self, items: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
        exhausted = False
        try:
            while not exhausted or self._running or self._finished:
                if (
                    not exhausted
                    and self._pull is None
                    and len(self._running) < max(1, self._limit())
                ):
                    self._pull = asyncio.ensure_future(anext(items))
                    self._pull.add_done_callback(self._on_done)
                while self._finished:
                    yield self._finished.popleft().result()
                if self._pull is not None and self._pull.done():
                    exhausted = self._admit(self._pull)
                elif self._pull is not None or self._running:
                    await self._idle()
        finally:
            await self._cancel()

    def _admit(self, pull: asyncio.Future[Any]) -> bool:
        """Start the call for the item ``pull`` brought; true if upstream has ended instead."""
        self._pull = None
        if isinstance(pull.exception(), StopAsyncIteration):
            return True
        call = asyncio.ensure_future(self._function(pull.result()))
        self._running.add(call)
        call.add_done_callback(self._on_done)
        return False

    async def _idle(self) -> None:
        """Wait until a call finishes or the pull lands (neither has, when this is called)."""
        self._wake = asyncio.get_running_loop().create_future()
        try:
            await self._wake
        finally:
            self._wake = None

    def _on_done(self, future: asyncio.Future[Any]) -> None:
        if future in self._running:
            self._running.discard(future)
            self._finished.append(future)
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _cancel(self) -> None:
        pending = [*self._running, *([self._pull] if self._pull is not None else [])]
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, *self._finished, return_exceptions=True)
