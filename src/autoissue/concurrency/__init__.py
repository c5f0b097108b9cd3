"""Adaptive concurrency: how much work runs at once, learned from latency, errors and resources.

Wiring, per unit of work::

    controller = AdaptiveConcurrencyController(strategy=BALANCED, hard_cap=governor_cap)
    controller.add_listener(lambda change: pool.resize(change.new))
    async with controller.acquire() as listener:   # waits while the limit is reached
        await work()                               # success, or an overload error -> dropped

or ``listener = await controller.acquire()`` then ``listener.on_success(latency)`` /
``on_dropped()`` / ``on_ignore()``; ``controller.run()`` in a background task samples
resources and refits the predictor; ``controller.save()`` persists what it learned.
"""

from __future__ import annotations

from autoissue.concurrency._aimd import AIMDLimit
from autoissue.concurrency._controller import AdaptiveConcurrencyController, ControllerStatistics
from autoissue.concurrency._gradient2 import Gradient2Limit
from autoissue.concurrency._guard import (
    GuardAction,
    GuardVerdict,
    PsutilSampler,
    ResourceGuard,
    ResourceReading,
    ResourceSampler,
    default_cpu_target,
)
from autoissue.concurrency._history import (
    JsonFileHistoryStore,
    MemoryHistoryStore,
    ScalingEvent,
    ScalingHistory,
    ScalingHistoryStore,
)
from autoissue.concurrency._limit import (
    FixedLimit,
    LimitAlgorithm,
    Outcome,
    log10_root,
    sqrt_root,
)
from autoissue.concurrency._limiter import (
    Acquisition,
    AdaptiveLimiter,
    Completion,
    LimitChange,
    Listener,
    classify_error,
)
from autoissue.concurrency._strategies import (
    AGGRESSIVE,
    BALANCED,
    CONSERVATIVE,
    STRATEGIES,
    Strategy,
)
from autoissue.concurrency._usl import ScalingPredictor, USLFit, fit_usl
from autoissue.concurrency._vegas import VegasLimit
from autoissue.concurrency._windowed import WindowedLimit

__all__ = [
    "AGGRESSIVE",
    "BALANCED",
    "CONSERVATIVE",
    "STRATEGIES",
    "AIMDLimit",
    "Acquisition",
    "AdaptiveConcurrencyController",
    "AdaptiveLimiter",
    "Completion",
    "ControllerStatistics",
    "FixedLimit",
    "Gradient2Limit",
    "GuardAction",
    "GuardVerdict",
    "JsonFileHistoryStore",
    "LimitAlgorithm",
    "LimitChange",
    "Listener",
    "MemoryHistoryStore",
    "Outcome",
    "PsutilSampler",
    "ResourceGuard",
    "ResourceReading",
    "ResourceSampler",
    "ScalingEvent",
    "ScalingHistory",
    "ScalingHistoryStore",
    "ScalingPredictor",
    "Strategy",
    "USLFit",
    "VegasLimit",
    "WindowedLimit",
    "classify_error",
    "default_cpu_target",
    "fit_usl",
    "log10_root",
    "sqrt_root",
]
