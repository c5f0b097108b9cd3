"""A warm process pool for CPU-bound handlers: isolated, recycled, never broken by a crash.

Workers are forked from a template process that imported everything once and froze its heap,
so a new worker is ready in a few milliseconds (:class:`TemplateSpawner`). :class:`WarmPool`
queues calls by priority, enforces hard timeouts (SIGTERM, then SIGKILL), replaces workers that
crash, recycles them by task count, RSS kept after GC and age (:class:`RecycleReason`), scales
between ``min_workers`` and a limit the concurrency controller moves, and shares numpy arrays
(:class:`SharedArray`) and strings (:class:`SharedStrings`) by name. Its
:meth:`~WarmPool.statistics` is a :class:`PoolStatistics`.
"""

from __future__ import annotations

from autoissue.pool._config import PoolConfig, RecycleReason
from autoissue.pool._pool import WarmPool
from autoissue.pool._scaling import ScalePlan, Scaler
from autoissue.pool._shm import SharedArray, SharedArrays, SharedStrings
from autoissue.pool._spawner import Spawner, TemplateSpawner
from autoissue.pool._stats import PoolStatistics, WorkerState
from autoissue.pool._task import RemoteTraceback

__all__ = [
    "PoolConfig",
    "PoolStatistics",
    "RecycleReason",
    "RemoteTraceback",
    "ScalePlan",
    "Scaler",
    "SharedArray",
    "SharedArrays",
    "SharedStrings",
    "Spawner",
    "TemplateSpawner",
    "WarmPool",
    "WorkerState",
]
