"""The resource guard: keeps process CPU under a target and RSS under a budget.

A sampler reads the CPU% and RSS of this process and its children; the guard turns a reading
into a verdict the controller applies to the limit:

- ``cut``: CPU above the target or RSS above the budget - scale the limit down by how far over
  it is (never by more than half in one step);
- ``hold``: within ``hold_margin`` of either bound - do not grow;
- ``ok``: room to spare - bounded only by the work that would reach the target, when the
  work in flight is known (so growth stops short of the bound instead of crossing it).

Each psutil call reads a few ``/proc`` files (microseconds), so sampling inline on the event
loop once a second is cheap; ``sample_async(in_thread=True)`` moves it to a thread.
"""

from __future__ import annotations

import asyncio
import enum
import os
from dataclasses import dataclass
from typing import Protocol

import psutil

from autoissue._exceptions import ConfigurationError

__all__ = [
    "GuardAction",
    "GuardVerdict",
    "PsutilSampler",
    "ResourceGuard",
    "ResourceReading",
    "ResourceSampler",
    "default_cpu_target",
]


def default_cpu_target(fraction: float = 0.8) -> float:
    """``fraction`` of the whole machine in psutil's units: 0.8 x cores x 100%."""
    return fraction * (os.cpu_count() or 1) * 100.0


@dataclass(frozen=True, slots=True)
class ResourceReading:
    """CPU in percent of one core (200.0 = two cores busy) and resident memory in bytes."""

    cpu_percent: float
    rss_bytes: int


class ResourceSampler(Protocol):
    """Where readings come from: psutil in production, a list of fixed readings in tests."""

    def sample(self) -> ResourceReading:
        """Return the CPU% since the previous call and the current RSS."""
        ...


class PsutilSampler:
    """Reads this process (and, with ``children``, its descendants) through psutil.

    ``cpu_percent(interval=None)`` measures since the previous call without blocking; child
    ``Process`` objects are kept between calls so their CPU deltas are real.
    """

    def __init__(self, pid: int | None = None, *, children: bool = True) -> None:
        self._process = psutil.Process(pid)
        self._children = children
        self._known: dict[int, psutil.Process] = {}
        self._process.cpu_percent(None)  # the first call only sets the baseline

    def sample(self) -> ResourceReading:
        """Sum CPU% and RSS over the process and its live children."""
        processes = [self._process, *self._live_children()]
        cpu, rss = 0.0, 0
        for process in processes:
            try:
                cpu += process.cpu_percent(None)
                rss += process.memory_info().rss
            except psutil.Error:  # a child that exited between listing and reading
                continue
        return ResourceReading(cpu, rss)

    def _live_children(self) -> list[psutil.Process]:
        if not self._children:
            return []
        try:
            current = self._process.children(recursive=True)
        except psutil.Error:
            return []
        # Keep the old objects: a fresh Process has no CPU baseline and reads 0.0.
        self._known = {child.pid: self._known.get(child.pid, child) for child in current}
        return list(self._known.values())


class GuardAction(enum.Enum):
    """What the guard asks of the limit."""

    OK = "ok"
    HOLD = "hold"
    CUT = "cut"


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """The guard's answer for one reading: an action, the ceiling it implies, and why."""

    action: GuardAction
    ceiling: int | None
    reason: str
    reading: ResourceReading


class ResourceGuard:
    """Turns readings into verdicts; ``cpu_target`` in percent of one core, ``rss_budget`` bytes."""

    def __init__(
        self,
        sampler: ResourceSampler | None = None,
        *,
        cpu_target: float | None = None,
        rss_budget: int | None = None,
        hold_margin: float = 0.9,
        min_limit: int = 1,
    ) -> None:
        if cpu_target is not None and cpu_target <= 0:
            raise ConfigurationError("cpu_target must be positive")
        self.sampler: ResourceSampler = sampler or PsutilSampler()
        self.cpu_target = default_cpu_target() if cpu_target is None else cpu_target
        self.rss_budget = rss_budget
        self.hold_margin = hold_margin
        self.min_limit = min_limit
        self.last: ResourceReading | None = None

    @property
    def cpu_percent(self) -> float:
        """The last CPU reading (0.0 before the first sample)."""
        return self.last.cpu_percent if self.last else 0.0

    @property
    def rss_bytes(self) -> int:
        """The last RSS reading (0 before the first sample)."""
        return self.last.rss_bytes if self.last else 0

    def sample(self) -> ResourceReading:
        """Take a reading now (synchronously) and remember it."""
        self.last = self.sampler.sample()
        return self.last

    async def sample_async(self, *, in_thread: bool = False) -> ResourceReading:
        """Take a reading, in a worker thread when a large process tree makes it slow."""
        if in_thread:
            self.last = await asyncio.to_thread(self.sampler.sample)
            return self.last
        return self.sample()

    def verdict(
        self, limit: int, reading: ResourceReading | None = None, *, in_flight: int = 0
    ) -> GuardVerdict:
        """Judge ``reading`` (default: the last one) against the bounds, for the current limit.

        Load is taken as proportional to the work in flight. A cut scales that work to the
        bound: ``in_flight`` when given, else ``limit`` - after a cut the work in flight drains
        only as it completes, so the next reading still shows the old load, and scaling the
        limit again would compound the cut. With room to spare and ``in_flight`` given, the
        ceiling is the work that would just reach the bound, so growth stops short of it
        instead of crossing it and being cut back.
        """
        reading = reading or self.last or ResourceReading(0.0, 0)
        ratio, what = self._pressure(reading)
        if ratio > 1.0:
            # Scale to the target; at most halve in one step.
            load = in_flight or limit
            ceiling = max(self.min_limit, int(load * max(0.5, 1.0 / ratio)))
            return GuardVerdict(GuardAction.CUT, ceiling, f"{what} over budget", reading)
        if ratio >= self.hold_margin:
            return GuardVerdict(GuardAction.HOLD, limit, f"{what} near budget", reading)
        room = max(self.min_limit, int(in_flight / ratio)) if in_flight and ratio > 0 else None
        return GuardVerdict(GuardAction.OK, room, "resources ok", reading)

    def _pressure(self, reading: ResourceReading) -> tuple[float, str]:
        cpu = reading.cpu_percent / self.cpu_target
        rss = reading.rss_bytes / self.rss_budget if self.rss_budget else 0.0
        return (cpu, "cpu") if cpu >= rss else (rss, "rss")

    def __repr__(self) -> str:
        return (
            f"<ResourceGuard cpu={self.cpu_percent:.0f}%/{self.cpu_target:.0f}%"
            f" rss={self.rss_bytes}/{self.rss_budget}>"
        )
