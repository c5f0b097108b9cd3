"""How a pool is sized and when its workers are replaced: one frozen value object, pure rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from autoissue._exceptions import ConfigurationError
from autoissue.pool._spawner import DEFAULT_PRELOAD

__all__ = ["PoolConfig", "RecycleReason", "recycle_reason"]


class RecycleReason(enum.Enum):
    """Why a healthy worker was retired and replaced (or, for ``IDLE``, not replaced)."""

    #: It ran ``max_tasks`` tasks.
    TASKS = "tasks"
    #: Its RSS after GC grew more than ``max_rss_growth`` bytes above its start.
    RSS = "rss"
    #: It lived ``max_age_s`` seconds.
    AGE = "age"
    #: Idle for ``scale_down_delay_s`` with more workers than the work needs.
    IDLE = "idle"
    #: The concurrency limit went below the number of workers.
    RESIZE = "resize"


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolConfig:
    """Sizes, limits and timeouts of a :class:`~autoissue.pool.WarmPool`.

    ``min_workers`` are started at once and kept warm; up to ``max_workers`` run when work
    waits. A worker is recycled after ``max_tasks`` tasks, ``max_rss_growth`` bytes of RSS kept
    after GC, or ``max_age_s`` seconds (each ``None`` for never). ``task_timeout_s`` is the
    default hard timeout; ``kill_grace_s`` is how long a terminated worker has before SIGKILL.
    A busy worker beats every ``heartbeat_s``; one silent for ``heartbeat_timeout_s`` is killed.
    """

    min_workers: int = 1
    max_workers: int = 4
    max_tasks: int | None = 1000
    max_rss_growth: int | None = 256 * 1024 * 1024
    max_age_s: float | None = 3600.0
    task_timeout_s: float | None = None
    kill_grace_s: float = 0.2
    heartbeat_s: float = 1.0
    heartbeat_timeout_s: float = 60.0
    scale_down_delay_s: float = 10.0
    preload: tuple[str, ...] = DEFAULT_PRELOAD
    start_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_workers <= self.max_workers or self.max_workers < 1:
            raise ConfigurationError(
                f"need 0 <= min_workers <= max_workers and max_workers >= 1, "
                f"got {self.min_workers} and {self.max_workers}"
            )
        if self.heartbeat_timeout_s <= self.heartbeat_s:
            raise ConfigurationError("heartbeat_timeout_s must be longer than heartbeat_s")

    def __repr__(self) -> str:
        return (
            f"PoolConfig(workers={self.min_workers}..{self.max_workers}, "
            f"max_tasks={self.max_tasks}, max_rss_growth={self.max_rss_growth}, "
            f"max_age_s={self.max_age_s}, task_timeout_s={self.task_timeout_s})"
        )


def recycle_reason(
    config: PoolConfig, *, tasks_done: int, rss_growth: int, age_s: float
) -> RecycleReason | None:
    """Whether a worker that just finished a task (or sits idle) should be replaced, and why."""
    if config.max_tasks is not None and tasks_done >= config.max_tasks:
        return RecycleReason.TASKS
    if config.max_rss_growth is not None and rss_growth > config.max_rss_growth:
        return RecycleReason.RSS
    if config.max_age_s is not None and age_s >= config.max_age_s:
        return RecycleReason.AGE
    return None
