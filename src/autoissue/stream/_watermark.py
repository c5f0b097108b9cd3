"""An RSS watermark: intake pauses above a high mark and resumes below a low one.

::

    rss above high ──▶ paused: admit() waits, re-reading every interval
    rss below low  ──▶ open:   admit() returns at once
    in between     ──▶ stays as it was (hysteresis)

Buffers bound what the pipeline holds; the watermark bounds what the process holds, whatever
the processors allocate. Two marks, so intake does not flap around one. RSS is read from
``/proc`` by psutil at most once per ``interval`` (a read costs about 8 µs, far less than
handing it to a thread would), so ``admit`` almost always returns without reading anything.
While paused, the watermark re-reads every ``interval`` on the injected clock.

Pausing intake only helps when what intake brought in is what holds the memory. If RSS is
still above the low mark after ``max_pause`` seconds, something else holds it (a cache, a
processor's leak) and waiting longer would stall the run for good: the watermark logs a
warning, resumes, and re-arms its marks above the level RSS is stuck at, keeping the same
gap, so that further growth still pauses intake.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from autoissue._clock import Clock, SystemClock

__all__ = ["RssWatermark", "WatermarkStatistics", "process_rss"]

logger = logging.getLogger(__name__)


def process_rss() -> int:
    """This process's resident set size in bytes."""
    return int(psutil.Process().memory_info().rss)


@dataclass(frozen=True, slots=True)
class WatermarkStatistics:
    """The watermark's state: the marks, the last and peak RSS read, pauses so far."""

    high: int
    low: int
    rss: int
    peak_rss: int
    paused: bool
    pauses: int
    paused_seconds: float
    samples: int
    rearmed: int  # pauses that outlasted max_pause: the marks were raised


class RssWatermark:
    """Pauses intake while RSS is above ``high`` bytes until it falls below ``low``.

    ``low`` defaults to 90% of ``high``; ``max_pause`` (``None``: no limit) bounds one
    pause. ``sample`` reads the RSS (this process's by default) and ``clock`` paces the
    reads; both are seams for tests. ``monotonic`` times the reads when not paused.
    """

    def __init__(
        self,
        *,
        high: int,
        low: int | None = None,
        interval: float = 0.25,
        max_pause: float | None = 30.0,
        sample: Callable[[], int] = process_rss,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        low = int(high * 0.9) if low is None else low
        if not 0 < low <= high or interval <= 0:
            raise ValueError("marks must satisfy 0 < low <= high, and interval > 0")
        self.high, self.low, self.interval, self.max_pause = high, low, interval, max_pause
        self._sample, self._clock, self._monotonic = sample, clock or SystemClock(), monotonic
        self._rss = self._peak = self._samples = self._pauses = self._rearmed = 0
        self._paused_seconds = 0.0
        self._paused = False
        self._next_read = float("-inf")

    def __repr__(self) -> str:
        state = "paused" if self._paused else "open"
        return f"<RssWatermark {state} rss={self._rss} high={self.high} low={self.low}>"

    @property
    def paused(self) -> bool:
        """Whether intake is held back right now."""
        return self._paused

    def statistics(self) -> WatermarkStatistics:
        """A frozen snapshot of the watermark."""
        return WatermarkStatistics(
            high=self.high,
            low=self.low,
            rss=self._rss,
            peak_rss=self._peak,
            paused=self._paused,
            pauses=self._pauses,
            paused_seconds=self._paused_seconds,
            samples=self._samples,
            rearmed=self._rearmed,
        )

    def read(self) -> int:
        """Read the RSS now and update the pause state from it; returns the RSS."""
        self._rss = self._sample()
        self._samples += 1
        self._peak = max(self._peak, self._rss)
        if self._paused and self._rss < self.low:
            self._paused = False
        elif not self._paused and self._rss > self.high:
            self._paused = True
            self._pauses += 1
        return self._rss

    async def admit(self) -> None:
        """Return at once below the high mark; above it, wait until RSS is below the low mark."""
        now = self._monotonic()
        if now >= self._next_read:
            self._next_read = now + self.interval
            self.read()
        waited = 0.0
        while self._paused:
            if self.max_pause is not None and waited >= self.max_pause:
                self._rearm(waited)
                return
            started = self._clock.time()
            await self._clock.sleep(self.interval)
            elapsed = self._clock.time() - started
            self._paused_seconds += elapsed
            waited += elapsed
            self.read()

    def _rearm(self, waited: float) -> None:
        """Pausing did not bring RSS down: resume, with the marks moved above where it is."""
        gap = self.high - self.low
        logger.warning(
            "RSS %d MB stayed above %d MB for %.0f s with intake paused: it is held elsewhere;"
            " resuming with the high mark at %d MB",
            self._rss >> 20,
            self.low >> 20,
            waited,
            (self._rss + gap) >> 20,
        )
        self.low, self.high = self._rss, self._rss + max(gap, 1)
        self._paused = False
        self._rearmed += 1
