"""Caps on how many issues a run processes: per run, and per clock hour across runs.

A cap bounds what is *claimed and started*, whatever the queue held before the run (items a
killed run left are processed under the same cap as the ones this run lists). The hourly
count is a counter in the state store, so it holds across runs and restarts (and, on Redis,
across machines), and each spend adds to it atomically: runs spending at once never lose a
count, so the hour's total is exact. What remains is the gap between reading the room and
spending it: a run claims up to the room it read, so runs that read the last room in the same
instant may each claim a batch of it, and the hour may overshoot by those batches.

Under a cap the run should spend it on the most urgent issues, not on the first ones listed:
:class:`Shortlist` keeps the ``size`` most urgent messages of the whole listing (FIFO within a
priority) so that they are enqueued together once the listing ends; several repositories'
shortlists are merged by offering their items :func:`in_turns`, so a tie goes to each in turn.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from autoissue.state import StateStore

T = TypeVar("T")

#: The skip reason of the issues a cap leaves for a later run.
CAP_REACHED = "cap reached"
#: How long an hour's count is kept after its first spend: its hour, and one more.
HOUR_COUNT_TTL_S = 7200.0


class RunCaps:
    """How many more issues may be started now: ``None`` means no cap applies."""

    def __init__(
        self,
        state: StateStore,
        scope: str,
        *,
        per_run: int | None = None,
        per_hour: int | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        # Older versions kept the hour's count as an ``@caps:`` ledger entry; it is ignored
        # (the hour of an upgrade may start up to ``per_hour`` more) and left in the ledger.
        self.state, self.scope = state, f"@caps:{scope}"
        self.per_run, self.per_hour, self._now = per_run, per_hour, now
        self.started = 0

    def __repr__(self) -> str:
        return f"<RunCaps {self.scope} run={self.per_run} hour={self.per_hour}>"

    @property
    def active(self) -> bool:
        """Whether any cap applies to this run."""
        return self.per_run is not None or self.per_hour is not None

    async def room(self) -> int | None:
        """Issues that may still be started under every cap."""
        rooms = []
        if self.per_run is not None:
            rooms.append(self.per_run - self.started)
        if self.per_hour is not None:
            rooms.append(self.per_hour - await self._this_hour())
        return max(0, min(rooms)) if rooms else None

    async def spend(self, count: int) -> None:
        """Count ``count`` more started issues."""
        if count <= 0:
            return
        self.started += count
        if self.per_hour is not None:
            await self.state.increment(self._hour(), count, ttl_s=HOUR_COUNT_TTL_S)

    async def _this_hour(self) -> int:
        return await self.state.counter(self._hour())

    def _hour(self) -> str:
        """The key of this clock hour's count."""
        return f"{self.scope}:{time.strftime('hour-%Y%m%dT%H', time.gmtime(self._now()))}"


class Shortlist(Generic[T]):
    """The ``size`` most urgent items offered so far; the first offered wins a tie.

    ``priority`` tells an item's :class:`~autoissue.model.Priority` (lower is more urgent):
    the run keeps queue messages, ``autoissue scan`` keeps the issues it would plan.
    """

    def __init__(self, size: int, priority: Callable[[T], int]) -> None:
        self.size = size
        self._priority = priority
        # A max-heap on (priority value, arrival): the root is the least urgent kept.
        self._heap: list[tuple[int, int, T]] = []
        self._arrivals = itertools.count()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._heap)

    def offer(self, items: Iterable[T]) -> None:
        """Keep each item if it is among the most urgent so far (dropping another)."""
        for item in items:
            entry = (-self._priority(item), -next(self._arrivals), item)
            if len(self._heap) < self.size:
                heapq.heappush(self._heap, entry)
                continue
            if self._heap and entry[:2] > self._heap[0][:2]:
                heapq.heapreplace(self._heap, entry)
            self.dropped += 1

    def take(self) -> list[T]:
        """Every kept item, most urgent first, and empty the list."""
        kept, self._heap = self._heap, []
        return [item for _, _, item in sorted(kept, key=lambda entry: entry[:2], reverse=True)]


def in_turns(lists: Sequence[Sequence[T]]) -> list[T]:
    """One item of each list in turn: the first of each, then the second of each, and so on."""
    longest = max(map(len, lists), default=0)
    return [items[i] for i in range(longest) for items in lists if i < len(items)]
