"""Windowing: feed a limit algorithm one aggregated sample per window instead of every request.

After Netflix concurrency-limits' ``WindowedLimit``: samples accumulate until a window has
lasted ``clamp(2 * min RTT, min_window, max_window)`` seconds and holds at least
``window_size`` samples; it is then handed to the delegate as one sample - the average RTT,
the largest in-flight count, and whether any request was dropped. (The reference discards a
window that is short of samples; here it stays open instead, because at a low limit with slow
work every window would be short and the limit could never move again.) Thousands of completions per
second then move the limit a handful of times per second, each move backed by real evidence.
While the delegate probes for its no-load latency (Gradient2's ``probing``), work that started
above its ``min_limit`` is left out of the window: the probe's one window is then made of
probe samples only, and the probe ends as soon as it holds enough of them.
"""

from __future__ import annotations

import math

from autoissue._exceptions import ConfigurationError
from autoissue.concurrency._limit import LimitAlgorithm

__all__ = ["WindowedLimit"]


class WindowedLimit:
    """Wraps a ``LimitAlgorithm``; ``update`` needs ``now`` (the completion time, in seconds)."""

    def __init__(
        self,
        delegate: LimitAlgorithm,
        *,
        min_window: float = 1.0,
        max_window: float = 1.0,
        window_size: int = 10,
        min_rtt_threshold: float = 100e-6,
    ) -> None:
        if not 0 < min_window <= max_window or window_size < 1:
            raise ConfigurationError("need 0 < min_window <= max_window and window_size >= 1")
        self.delegate = delegate
        self.min_window = min_window
        self.max_window = max_window
        self.window_size = window_size
        self.min_rtt_threshold = min_rtt_threshold
        self.min_limit = delegate.min_limit
        self.max_limit = delegate.max_limit
        self._next_update: float | None = None
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max_inflight = 0
        self._dropped = False

    @property
    def limit(self) -> int:
        """The delegate's current limit."""
        return self.delegate.limit

    def update(self, latency: float, inflight: int, *, dropped: bool, now: float = 0.0) -> int:
        """Add one completion to the window; close the window and update when it is due."""
        if latency < self.min_rtt_threshold and not dropped:
            return self.limit  # too fast to be real work (a cache hit, an error path)
        if inflight > self.min_limit and getattr(self.delegate, "probing", False):
            # Work started before a no-load probe says nothing of no load: left out, it
            # cannot spoil the window of probe samples (the probe would wait for another).
            return self.limit
        self._count += 1
        self._sum += latency
        self._min = min(self._min, latency)
        self._max_inflight = max(self._max_inflight, inflight)
        self._dropped = self._dropped or dropped
        if self._next_update is None:
            self._next_update = now + self.min_window
        if now >= self._next_update and self._count >= self.window_size:
            self._close(now)
        return self.limit

    def reset(self, limit: float) -> int:
        """Force the delegate's estimate; the open window is discarded as stale."""
        self._clear()
        return self.delegate.reset(limit)

    def cap(self, limit: int) -> None:
        """Lower the delegate's estimate; the open window keeps its samples."""
        self.delegate.cap(limit)

    def _close(self, now: float) -> None:
        window = min(max(2 * self._min, self.min_window), self.max_window)
        self._next_update = now + window
        average = self._sum / self._count
        self.delegate.update(average, self._max_inflight, dropped=self._dropped, now=now)
        self._clear()

    def _clear(self) -> None:
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max_inflight = 0
        self._dropped = False

    def __repr__(self) -> str:
        return f"<WindowedLimit limit={self.limit} window={self._count} of {self.delegate!r}>"
