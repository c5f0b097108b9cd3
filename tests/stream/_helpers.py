"""Helpers for stream tests: let the loop run until nothing more can happen, count pulls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field


async def settle(rounds: int = 20) -> None:
    """Give every ready task its turn (a yield to the loop, not a wait for time to pass)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@dataclass
class Source:
    """An async generator over ``items`` that records how far it was pulled and if closed."""

    items: Iterable[object]
    pulled: int = 0
    closed: bool = False
    fail_after: int | None = None
    gate: asyncio.Event | None = None
    seen: list[object] = field(default_factory=list)

    async def __call__(self) -> AsyncGenerator[object, None]:
        try:
            for item in self.items:
                if self.gate is not None:
                    await self.gate.wait()
                if self.fail_after is not None and self.pulled >= self.fail_after:
                    raise OSError("source broke")
                self.pulled += 1
                yield item
        finally:
            self.closed = True
