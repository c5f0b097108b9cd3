"""The limiter: admits work while fewer than ``limit`` are in flight, and learns the limit.

::

    acquire() ──admit?──▶ Listener ──work──▶ on_success(latency) / on_dropped() / on_ignore()
        │ no: wait (FIFO)                                 │
        ▼                                                 ▼
    woken in order as slots free              algorithm.update(...) ──▶ new limit ──▶ callbacks

The effective limit is the algorithm's, under the ``hard_cap`` (the GitHub governor's concurrency
cap, never exceeded) and an optional ``ceiling`` (the resource guard's or the predictor's
bound). Decisions are taken synchronously, so no admission can race another.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from types import TracebackType

from autoissue._classify import classify
from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import ConfigurationError
from autoissue.concurrency._limit import LimitAlgorithm, Outcome

__all__ = [
    "Acquisition",
    "AdaptiveLimiter",
    "Completion",
    "LimitChange",
    "Listener",
    "classify_error",
]

logger = logging.getLogger(__name__)


def classify_error(error: BaseException) -> Outcome:
    """Overload (a timeout, a rate limit, a 5xx, an unreachable host) is a drop; else ignored."""
    return Outcome.DROPPED if classify(error).overload else Outcome.IGNORED


@dataclass(frozen=True, slots=True)
class LimitChange:
    """The effective limit moved from ``old`` to ``new`` at ``time`` (clock seconds), and why."""

    time: float
    old: int
    new: int
    reason: str


@dataclass(frozen=True, slots=True)
class Completion:
    """One finished unit of work, as the limiter saw it."""

    time: float
    latency: float
    inflight: int
    outcome: Outcome


class Listener:
    """One admitted unit of work. Report how it ended exactly once; later reports are ignored."""

    __slots__ = ("_done", "_limiter", "inflight", "started")

    def __init__(self, limiter: AdaptiveLimiter, started: float, inflight: int) -> None:
        self._limiter = limiter
        self.started = started
        self.inflight = inflight
        self._done = False

    @property
    def done(self) -> bool:
        """Whether the outcome has been reported (and the slot given back)."""
        return self._done

    def on_success(self, latency: float | None = None) -> None:
        """It worked; ``latency`` defaults to the time since admission on the limiter's clock."""
        self._finish(Outcome.SUCCESS, latency)

    def on_dropped(self, latency: float | None = None) -> None:
        """Overload (timeout, 429, secondary-limit 403, 5xx): the limit comes down."""
        self._finish(Outcome.DROPPED, latency)

    def on_ignore(self) -> None:
        """Give the slot back without teaching the algorithm anything."""
        self._finish(Outcome.IGNORED, None)

    def on_outcome(self, error: BaseException | None) -> None:
        """Report how the work ended: success, a drop (by :func:`classify_error`), or ignore."""
        if error is None:
            self.on_success()
        elif classify_error(error) is Outcome.DROPPED:
            self.on_dropped()
        else:
            self.on_ignore()

    def _finish(self, outcome: Outcome, latency: float | None) -> None:
        if not self._done:
            self._done = True
            self._limiter._release(self, outcome, latency)


class Acquisition:
    """What ``acquire()`` returns: await it for a Listener, or use it as ``async with``."""

    __slots__ = ("_limiter", "_listener")

    def __init__(self, limiter: AdaptiveLimiter) -> None:
        self._limiter = limiter
        self._listener: Listener | None = None

    def __await__(self) -> Generator[object, None, Listener]:
        return self._limiter._wait().__await__()

    async def __aenter__(self) -> Listener:
        self._listener = await self._limiter._wait()
        return self._listener

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        listener = self._listener
        if listener is not None and not listener.done:
            listener.on_outcome(error)


class AdaptiveLimiter:
    """Bounds in-flight work by a limit that ``algorithm`` learns from every completion.

    ``hard_cap`` is never exceeded; ``on_completion`` sees every completion (for statistics).
    """

    def __init__(
        self,
        algorithm: LimitAlgorithm,
        *,
        hard_cap: int | None = None,
        clock: Clock | None = None,
        on_completion: Callable[[Completion], None] | None = None,
    ) -> None:
        self.algorithm = algorithm
        self.clock: Clock = clock or SystemClock()
        self._hard_cap = self._check_cap(hard_cap)
        self._ceiling: int | None = None
        self._on_completion = on_completion
        self._callbacks: list[Callable[[LimitChange], None]] = []
        self._waiters: deque[asyncio.Future[Listener]] = deque()
        self._in_flight = 0
        self._limit = self._effective()

    @property
    def limit(self) -> int:
        """The effective limit: the algorithm's, under the hard cap and the ceiling; at least 1."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """How many admitted units have not reported their outcome yet."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """How many ``acquire()`` calls are queued for a slot."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    @property
    def hard_cap(self) -> int | None:
        """The cap never exceeded (the GitHub governor's concurrency cap), if any."""
        return self._hard_cap

    @property
    def ceiling(self) -> int | None:
        """The current soft bound from the resource guard or predictor, if any."""
        return self._ceiling

    def add_listener(self, callback: Callable[[LimitChange], None]) -> None:
        """Call ``callback`` on every change of the effective limit (resize a pool, log...)."""
        self._callbacks.append(callback)

    def acquire(self) -> Acquisition:
        """Wait for a slot, first come first served: ``await`` it, or ``async with`` it.

        As a context manager the outcome is reported for you: success on a normal exit, dropped
        when ``classify_error`` calls the exception overload, ignored otherwise.
        """
        return Acquisition(self)

    def try_acquire(self) -> Listener | None:
        """Admit now if a slot is free and nobody is queued ahead; None otherwise."""
        if self._waiters or self._in_flight >= self._limit:
            return None
        return self._admit()

    def set_hard_cap(self, cap: int | None, *, reason: str = "hard cap") -> None:
        """Change the hard cap (the governor learned a new concurrency allowance)."""
        self._hard_cap = self._check_cap(cap)
        self._refresh(reason)

    def set_ceiling(self, ceiling: int | None, *, reason: str) -> None:
        """Bound the limit from above (None lifts the bound)."""
        self._ceiling = None if ceiling is None else max(1, ceiling)
        self._refresh(reason)

    def reset(self, limit: float, *, reason: str) -> None:
        """Force the algorithm's estimate (seed from history, cut for resources)."""
        self.algorithm.reset(limit)
        self._refresh(reason)

    def _admit(self) -> Listener:
        self._in_flight += 1
        return Listener(self, self.clock.time(), self._in_flight)

    async def _wait(self) -> Listener:
        listener = self.try_acquire()
        if listener is not None:
            return listener
        waiter: asyncio.Future[Listener] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                waiter.result().on_ignore()  # granted as we were cancelled: hand it on
            else:
                self._waiters.remove(waiter)
            raise

    def _release(self, listener: Listener, outcome: Outcome, latency: float | None) -> None:
        now = self.clock.time()
        elapsed = max(0.0, now - listener.started) if latency is None else latency
        self._in_flight -= 1
        if outcome is not Outcome.IGNORED:
            dropped = outcome is Outcome.DROPPED
            self.algorithm.update(elapsed, listener.inflight, dropped=dropped, now=now)
        if self._on_completion is not None:
            self._on_completion(Completion(now, elapsed, listener.inflight, outcome))
        self._refresh(outcome.value)

    def _refresh(self, reason: str) -> None:
        bounds = [bound for bound in (self._hard_cap, self._ceiling) if bound is not None]
        if bounds and self.algorithm.limit > min(bounds):
            self.algorithm.cap(min(bounds))
        old, self._limit = self._limit, self._effective()
        if old != self._limit:
            change = LimitChange(self.clock.time(), old, self._limit, reason)
            logger.debug("limit %d -> %d (%s)", old, self._limit, reason)
            for callback in self._callbacks:
                callback(change)
        self._grant()

    def _grant(self) -> None:
        while self._waiters and self._in_flight < self._limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(self._admit())

    def _effective(self) -> int:
        limit = self.algorithm.limit
        for bound in (self._hard_cap, self._ceiling):
            if bound is not None:
                limit = min(limit, bound)
        return max(1, limit)

    @staticmethod
    def _check_cap(cap: int | None) -> int | None:
        if cap is not None and cap < 1:
            raise ConfigurationError("hard_cap must be at least 1")
        return cap

    def __repr__(self) -> str:
        return (
            f"<AdaptiveLimiter limit={self._limit} in_flight={self._in_flight}"
            f" waiting={self.waiting} hard_cap={self._hard_cap} ceiling={self._ceiling}>"
        )
