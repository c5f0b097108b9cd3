"""A queue handle's own figures: totals, wait-time percentiles and the recent ack rate."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from autoissue._percentiles import percentiles

#: How many recent wait times the percentiles are computed from.
_SAMPLES = 2048
#: The window the ack rate is measured over, in seconds.
_WINDOW_S = 60.0


@dataclass(slots=True)
class Meter:
    """Counts what one handle did; the queue's ``statistics()`` merges it with the backlog."""

    enqueued: int = 0
    duplicates: int = 0
    claimed: int = 0
    acked: int = 0
    retried: int = 0
    dead_lettered: int = 0
    waits: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=_SAMPLES)
    )
    acks: collections.deque[tuple[float, int]] = field(default_factory=collections.deque)

    def put(self, ids: list[str | None]) -> None:
        """Record a put: new ids count as enqueued, ``None`` as duplicates."""
        fresh = sum(1 for item in ids if item is not None)
        self.enqueued += fresh
        self.duplicates += len(ids) - fresh

    def claim(self, now: float, enqueued_at: list[float]) -> None:
        """Record claimed items and how long each waited since its put."""
        self.claimed += len(enqueued_at)
        self.waits.extend(max(0.0, now - when) for when in enqueued_at)

    def ack(self, now: float, count: int) -> None:
        """Record ``count`` acks at ``now``, forgetting acks older than the window."""
        self.acked += count
        self.acks.append((now, count))
        while self.acks and self.acks[0][0] < now - _WINDOW_S:
            self.acks.popleft()

    def wait_ms(self) -> dict[str, float]:
        """Percentiles of recent wait times, in milliseconds."""
        return percentiles(self.waits, scale=1000.0)

    def acks_per_s(self, now: float) -> float:
        """Acks per second over the last minute (or since the first ack, if sooner)."""
        recent = [(when, count) for when, count in self.acks if when >= now - _WINDOW_S]
        if not recent:
            return 0.0
        span = max(now - recent[0][0], 1.0)
        return sum(count for _, count in recent) / span
