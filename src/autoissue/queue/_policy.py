"""Pure policy, no I/O: what a nack leads to, and which priority each claim slot serves.

Every backend asks these two objects, so memory, SQLite and Redis retry, dead-letter and
share claims between priorities identically.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from autoissue._backoff import full_jitter
from autoissue._classify import ErrorKind
from autoissue._exceptions import ConfigurationError
from autoissue.model import Priority

_ORDER = tuple(Priority)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a nacked item: retry at ``retry_at``, or (when it is None) dead-letter it."""

    retry_at: float | None
    reason: str = ""

    @property
    def dead(self) -> bool:
        """True when the item goes to the dead letters."""
        return self.retry_at is None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Full-jitter exponential backoff by error kind, and when to give up.

    The n-th retry of a transient error waits ``uniform(0, min(cap_s, base_s * 2**(n-1)))``
    (AWS's "full jitter"); a rate-limited error waits the time the limit named, or that backoff
    when it named none; a permanent error, or the ``max_attempts``-th failure, dead-letters.
    ``rng`` is injectable so tests see fixed delays.
    """

    max_attempts: int = 5
    base_s: float = 1.0
    cap_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.base_s < 0 or self.cap_s < self.base_s:
            raise ConfigurationError("backoff needs 0 <= base_s <= cap_s")

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before the retry that follows failed attempt number ``attempts``."""
        return full_jitter(attempts, base_s=self.base_s, cap_s=self.cap_s, rng=self.rng)

    def decide(
        self,
        *,
        attempts: int,
        kind: ErrorKind,
        now: float,
        retry_after: float | None = None,
    ) -> Decision:
        """Decide the fate of an item that failed on attempt number ``attempts``."""
        if kind is ErrorKind.PERMANENT:
            return Decision(None, "permanent error")
        if attempts >= self.max_attempts:
            return Decision(None, f"failed {attempts} attempts")
        if kind is ErrorKind.RATE_LIMITED and retry_after is not None:
            return Decision(now + max(0.0, retry_after))
        delay = self.backoff(attempts)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return Decision(now + delay)


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    """Strict priority, except a share of claim slots that serves lower priorities first.

    With ``lower_share = 0.1`` every tenth claim slot tries a lower priority first (high,
    normal and low in turn), so a flood of critical items still leaves low items about 3 % of
    claims: nothing starves. ``0`` means strict priority.
    """

    lower_share: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 <= self.lower_share <= 0.5:
            raise ConfigurationError(
                f"lower_share must be between 0 and 0.5, not {self.lower_share}"
            )

    @property
    def every(self) -> int:
        """One claim slot in this many serves lower priorities first (0: never)."""
        return round(1 / self.lower_share) if self.lower_share else 0

    def order(self, tick: int) -> tuple[Priority, ...]:
        """The priorities claim slot number ``tick`` tries, in order."""
        every = self.every
        if not every or (tick + 1) % every:
            return _ORDER
        start = 1 + (tick // every) % (len(_ORDER) - 1)
        return _ORDER[start:] + _ORDER[:start]

    def runs(self, tick: int, n: int) -> list[tuple[tuple[Priority, ...], int]]:
        """Claim slots ``tick`` to ``tick + n - 1`` as runs of slots that try the same order.

        Returns ``(order, slots)`` pairs: a backend serves a whole run from the first
        priority in ``order`` that has items, then the next, without asking for each slot.
        """
        every = self.every
        if n == 1 or not every:
            return [(self.order(tick), n)]
        runs = []
        slot, end = tick, tick + n
        while slot < end:
            # One slot that serves lower priorities first, or the strict ones up to the next.
            length = 1 if (slot + 1) % every == 0 else every - 1 - slot % every
            runs.append((self.order(slot), min(length, end - slot)))
            slot += length
        return runs

    def plan(self, tick: int, available: dict[Priority, int], n: int) -> list[Priority]:
        """Which priority each of ``n`` slots from ``tick`` serves, given what is available.

        Returns one priority per filled slot (fewer than ``n`` when the queue runs dry).
        """
        left = dict(available)
        chosen: list[Priority] = []
        for slot in range(tick, tick + n):
            pick = next((p for p in self.order(slot) if left.get(p, 0) > 0), None)
            if pick is None:
                break
            left[pick] -= 1
            chosen.append(pick)
        return chosen
