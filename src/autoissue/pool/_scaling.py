"""How many workers to run: pure decisions, made under the pool's lock, acted on after it.

The number of workers follows the work between a floor and a limit. The limit starts at
``max_workers`` and is what :meth:`Scaler.resize` (the adaptive concurrency controller) moves;
the floor is ``min_workers``, or the limit if that is lower. Workers beyond the work are retired
only after idling ``scale_down_delay_s`` (work tends to come back), but workers beyond a lowered
limit are retired as soon as they are idle: the controller asked for less concurrency now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from autoissue.pool._config import PoolConfig, RecycleReason

__all__ = ["ScalePlan", "Scaler"]


@dataclass(frozen=True, slots=True)
class ScalePlan:
    """Start ``spawn`` workers; retire the ``retire`` longest-idle ones, for ``reason``."""

    spawn: int = 0
    retire: int = 0
    reason: RecycleReason | None = None


class Scaler:
    """Decides the worker count from the queue, the busy workers and the idle ones."""

    def __init__(self, *, min_workers: int, max_workers: int, scale_down_delay_s: float) -> None:
        self.min_workers = min_workers
        self.max_workers = max_workers
        self.scale_down_delay_s = scale_down_delay_s
        self.limit = max_workers

    @classmethod
    def from_config(cls, config: PoolConfig) -> Scaler:
        """The scaler for a pool with this configuration."""
        return cls(
            min_workers=config.min_workers,
            max_workers=config.max_workers,
            scale_down_delay_s=config.scale_down_delay_s,
        )

    @property
    def floor(self) -> int:
        """The workers kept warm even with nothing to do."""
        return min(self.min_workers, self.limit)

    def resize(self, n: int) -> int:
        """Set the limit to ``n``, clamped to ``1..max_workers``; return the limit now in force."""
        self.limit = max(1, min(n, self.max_workers))
        return self.limit

    def plan(
        self, *, now: float, queued: int, busy: int, starting: int, idle_since: Sequence[float]
    ) -> ScalePlan:
        """What to do now; ``idle_since`` holds when each idle worker became idle."""
        live = busy + starting + len(idle_since)
        want = min(self.limit, max(self.floor, busy + queued))
        if live < want:
            return ScalePlan(spawn=want - live)
        if live > self.limit and idle_since:
            return ScalePlan(
                retire=min(live - self.limit, len(idle_since)), reason=RecycleReason.RESIZE
            )
        if live > want:
            cutoff = now - self.scale_down_delay_s
            expired = sum(1 for since in idle_since if since <= cutoff)
            if expired:
                return ScalePlan(retire=min(live - want, expired), reason=RecycleReason.IDLE)
        return ScalePlan()

    def __repr__(self) -> str:
        return f"<Scaler floor={self.floor} limit={self.limit} max={self.max_workers}>"
