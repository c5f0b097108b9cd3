"""Time, injectable: components take a clock so tests never wait for a window to pass."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """Wall-clock time and sleeping: everything a component asks of time."""

    def time(self) -> float:
        """Return the current time in epoch seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, as this clock counts them."""
        ...


class SystemClock:
    """The real clock: ``time.time`` and ``asyncio.sleep``."""

    def time(self) -> float:
        """Return the real epoch time."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running event loop."""
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that moves only when told to; ``sleep`` advances it instead of waiting.

    ``slept`` keeps every requested sleep so tests can check what was waited for.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        """Return the fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the fake time forward."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the sleep, advance the time, and yield to the loop once."""
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now}, sleeps={len(self.slept)})"
