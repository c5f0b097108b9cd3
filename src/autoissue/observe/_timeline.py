"""A run's figures over time: each reading boiled down to one :class:`Sample`.

The sample is what people look at - progress, rate, ETA, concurrency, budget, errors - so the
live dashboard, the log lines and the report all draw on the same derived figures, computed
once per reading. The timeline keeps its memory bounded on long runs: past ``max_samples`` it
drops every other sample and keeps one reading in two from then on.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from autoissue.github import GovernorStatistics, Mode
from autoissue.observe._sources import Reading

__all__ = ["Sample", "Timeline"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """A run's figures at ``t`` seconds from its start.

    ``total`` is the best estimate of items to list plus those queued before the run (None:
    unknown), ``done`` how many of them are finished, by this run or by workers beside it;
    ``issues_per_s`` is the
    recent rate at which items were done; ``eta_s`` the time left at that rate. Figures whose
    source is not watched are None.
    """

    t: float
    done: int
    total: int | None
    processed: int
    failed: int
    issues_per_s: float
    eta_s: float | None
    limit: int | None
    in_flight: int | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    queue_waiting: int | None
    dead_letters: int | None
    budget_remaining: int | None
    retries: int
    rss_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """The sample as JSON-ready data."""
        return {
            name: round(v, 4) if isinstance(v, float) else v for name, v in asdict(self).items()
        }


def _budget_left(governor: GovernorStatistics | None) -> int | None:
    """The core budget left, or None when unknown or when the server has no limits."""
    if governor is None or governor.mode is Mode.UNLIMITED or "core" not in governor.budget:
        return None
    return governor.budget["core"].remaining


class Timeline:
    """Turns readings into samples; ``total`` is the expected item count, if known.

    The rate is measured over the last ``window_s`` seconds of readings, so it follows a run
    that speeds up or slows down rather than averaging over its whole life.
    """

    def __init__(
        self, *, total: int | None = None, window_s: float = 5.0, max_samples: int = 3600
    ) -> None:
        self.total = total
        self.samples: list[Sample] = []
        self._window_s = window_s
        self._max = max(2, max_samples)
        self._recent: deque[tuple[float, int]] = deque()
        self._start: float | None = None
        self._stride = 1
        self._seen = 0

    def __repr__(self) -> str:
        return f"<Timeline {len(self.samples)} samples, one per {self._stride} readings>"

    def add(self, reading: Reading) -> Sample:
        """Derive the reading's sample; keep it in :attr:`samples` (one in ``stride``)."""
        if self._start is None:
            self._start = reading.at
        sample = self._sample(reading)
        if self._seen % self._stride == 0:
            self.samples.append(sample)
            if len(self.samples) > self._max:
                self.samples = self.samples[::2]
                self._stride *= 2
        self._seen += 1
        return sample

    def _rate(self, at: float, done: int) -> float:
        self._recent.append((at, done))
        while len(self._recent) > 2 and at - self._recent[1][0] >= self._window_s:
            self._recent.popleft()
        then, before = self._recent[0]
        return (done - before) / (at - then) if at > then else 0.0

    def _progress(self, reading: Reading) -> tuple[int, int | None]:
        """Items done, of the items to do: those listed (or expected) plus those queued before.

        With the queue watched, an item is done once it is neither waiting nor leased, by
        whichever worker took it; progress never passes its total.
        """
        tally, queue = reading.tally, reading.queue
        if tally is None:
            return 0, self.total
        total = None if self.total is None else max(self.total, tally.listed) + tally.queued_before
        done = tally.done
        if queue is not None:
            remaining = queue.unfinished + tally.shortlisted
            done = tally.listed + tally.queued_before - remaining
        done = max(0, done if total is None else min(done, total))
        return done, total

    def _sample(self, reading: Reading) -> Sample:
        tally = reading.tally
        done, total = self._progress(reading)
        rate = self._rate(reading.at, done)
        return Sample(
            t=reading.at - (reading.at if self._start is None else self._start),
            done=done,
            total=total,
            processed=0 if tally is None else tally.processed,
            failed=0 if tally is None else tally.failed,
            issues_per_s=rate,
            eta_s=None if total is None or rate <= 0 else max(0, total - done) / rate,
            **_component_figures(reading),
        )


def _component_figures(reading: Reading) -> dict[str, Any]:
    """The sample's figures read straight off the components' snapshots."""
    controller, queue = reading.controller, reading.queue
    p50 = p95 = None  # no completion yet: no latency, rather than a latency of zero
    if controller is not None and controller.completed:
        p50, p95 = controller.latency_p50, controller.latency_p95
    return {
        "limit": None if controller is None else controller.limit,
        "in_flight": None if controller is None else controller.in_flight,
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "queue_waiting": None if queue is None else queue.waiting,
        "dead_letters": None if queue is None else queue.dead_letters,
        "budget_remaining": _budget_left(reading.governor),
        "retries": 0 if reading.client is None else reading.client.retries,
        "rss_bytes": reading.process.rss_bytes,
    }
