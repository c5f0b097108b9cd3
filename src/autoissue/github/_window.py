"""A sliding-window budget: at most ``budget`` spent in any ``span`` seconds."""

from __future__ import annotations

import random
from collections import deque

# Sub-microsecond differences are float noise at epoch scale, not time.
_EPSILON_S = 1e-6
# Entry ids only need to be unique among a window's entries, across processes.
_ENTRY_IDS = random.SystemRandom()


class SlidingWindow:
    """Tracks what was spent in the last ``span`` seconds against a ``budget``.

    Used for GitHub's secondary limits, which are counted over rolling minutes and hours
    and which no header reports: the only safe way is to count ourselves. GitHub counts a
    request when it arrives, which is some time between our sending it and its answer, so
    an entry booked at sending is :meth:`settle`-d at the answer: it then counts until one
    span after the latest moment GitHub may have counted it.
    """

    def __init__(self, *, span: float, budget: int) -> None:
        if span <= 0 or budget < 1:
            raise ValueError("a window needs a positive span and a budget of at least 1")
        self.span = span
        self.budget = budget
        self._spent: deque[list[float]] = deque()  # [time, amount], settled times only grow
        self._total = 0.0

    def __repr__(self) -> str:
        return f"<SlidingWindow {self._total:g}/{self.budget} per {self.span:g}s>"

    def _expire(self, now: float) -> None:
        # Settling can leave a later time in front: entries behind it then count a little
        # longer than they must, which errs on the safe side.
        while self._spent and self._spent[0][0] + self.span <= now + _EPSILON_S:
            self._total -= self._spent.popleft()[1]

    def used(self, now: float) -> float:
        """What was spent in the window ending ``now``."""
        self._expire(now)
        return self._total

    def wait(self, amount: int, now: float) -> float:
        """Seconds until ``amount`` fits in the window (0 when it fits now).

        An ``amount`` larger than the whole budget is treated as the whole budget, so a
        single oversized request waits for an empty window instead of forever.
        """
        self._expire(now)
        needed = self._total + min(amount, self.budget) - self.budget
        if needed <= 0:
            return 0.0
        freed = 0.0
        for when, spent, _ in sorted(self._spent):
            freed += spent
            if freed >= needed:
                delay = when + self.span - now
                return delay if delay > _EPSILON_S else 0.0
        raise AssertionError("unreachable: the whole window frees enough")  # pragma: no cover

    def spend(self, amount: int, now: float) -> list[float]:
        """Record ``amount`` spent at ``now``; returns the entry, for :meth:`settle`.

        An entry is ``[time, amount, id]``; the id finds it again in a copy of the window
        kept elsewhere (a budget shared between processes).
        """
        entry = [now, float(amount), _ENTRY_IDS.random()]
        self._spent.append(entry)
        self._total += amount
        return entry

    @staticmethod
    def settle(entry: list[float], now: float) -> None:
        """The request behind ``entry`` was answered at ``now``: count it from then."""
        entry[0] = max(entry[0], now)

    def settle_id(self, entry_id: float, now: float) -> None:
        """:meth:`settle` the entry with id ``entry_id``, if it is still in the window."""
        for entry in self._spent:
            if entry[2] == entry_id:
                self.settle(entry, now)
                return

    def entries(self) -> list[list[float]]:
        """Every entry, oldest first (for storing the window elsewhere)."""
        return [list(entry) for entry in self._spent]

    def restore(self, entries: list[list[float]], now: float) -> None:
        """Replace the window's entries with ``entries`` (as :meth:`entries` gave them)."""
        self._spent = deque(list(entry) for entry in entries)
        self._total = sum(entry[1] for entry in self._spent)
        self._expire(now)
