"""Adaptive concurrency: how much work runs at once, learned from latency, errors and resources.

Wiring, per unit of work::

    controller = AdaptiveConcurrencyController(strategy=BALANCED, hard_cap=governor_cap)
    controller.add_listener(lambda change: pool.resize(change.new))
    async with controller.acquire() as listener:   # waits while the limit is reached
        await work()                               # success, or an overload error -> dropped

or ``listener = await controller.acquire()`` then ``listener.on_success(latency)`` /
``on_dropped()`` / ``on_ignore()``; ``controller.run()`` in a background task samples
resources and refits the predictor; ``controller.save()`` persists what it learned.

A :class:`Strategy` is a frozen preset of the controller's parts: :data:`BALANCED` (the
default), or any of :data:`STRATEGIES` by name (``Strategy.named("conservative")``); its
``algorithm`` picks Gradient2, Vegas, AIMD or a fixed limit. Limit moves reach listeners as
:class:`LimitChange`; :meth:`~AdaptiveConcurrencyController.statistics` is a
:class:`ControllerStatistics`; a :class:`ScalingHistoryStore` such as
:class:`JsonFileHistoryStore` keeps what a run learned for the next.
"""

from __future__ import annotations

from autoissue.concurrency._controller import AdaptiveConcurrencyController, ControllerStatistics
from autoissue.concurrency._history import (
    MemoryHistoryStore,
    ScalingHistory,
    ScalingHistoryStore,
)
from autoissue.concurrency._limiter import LimitChange, Listener
from autoissue.concurrency._strategies import BALANCED, STRATEGIES, Strategy

__all__ = [
    "BALANCED",
    "STRATEGIES",
    "AdaptiveConcurrencyController",
    "ControllerStatistics",
    "LimitChange",
    "Listener",
    "MemoryHistoryStore",
    "ScalingHistory",
    "ScalingHistoryStore",
    "Strategy",
]
