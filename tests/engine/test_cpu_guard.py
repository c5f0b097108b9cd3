"""With CPU-bound work and a CPU target set, the resource guard keeps the engine under it.

The sampler is the seam: it models a CPU-bound handler in which every issue in flight burns
30% of a core, so the process's CPU is ``30 x in flight`` - what psutil would read of such
work, minus the noise. The controller runs on a fake clock, so its once-a-second tick
happens at every turn of the loop and the test takes milliseconds.
"""

from __future__ import annotations

import asyncio

from autoissue import FakeClock
from autoissue.concurrency import BALANCED, AdaptiveConcurrencyController
from autoissue.concurrency._guard import ResourceReading
from autoissue.engine import Engine, EngineOptions
from autoissue.model import Issue, Plan
from autoissue.processors import ProcessContext
from tests.engine.test_dispatch import Busy, offline, pages

PER_ISSUE_CPU = 30.0
TARGET = 100.0


class CpuBound(Busy):
    """Busy work: each issue holds the loop for 10-29 turns, so issues do not run in waves."""

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        self.turns = 10 + issue.number * 7 % 20
        return await super().process(issue, context)


class CpuModel:
    """Reads CPU as ``PER_ISSUE_CPU`` per issue in flight, and keeps every reading."""

    def __init__(self) -> None:
        self.controller: AdaptiveConcurrencyController | None = None
        self.readings: list[float] = []

    def sample(self) -> ResourceReading:
        assert self.controller is not None
        cpu = PER_ISSUE_CPU * self.controller.limiter.in_flight
        self.readings.append(cpu)
        return ResourceReading(cpu, 50 * 2**20)


async def test_process_cpu_stays_under_the_target_once_the_guard_has_acted() -> None:
    work = CpuBound()
    model = CpuModel()
    ctl = model.controller = AdaptiveConcurrencyController(
        strategy=BALANCED.with_options(min_limit=1),
        clock=FakeClock(),
        sampler=model,
        cpu_target=TARGET,
    )
    engine = Engine(
        offline(),
        "o/r",
        work,
        options=EngineOptions(dry_run=True),
        controller=ctl,
        pages=pages(400, size=50),
    )  # type: ignore[arg-type]
    summary = await engine.run()
    assert summary.processed == 400
    # Unguarded, the initial limit of 20 would burn 600%: the first readings show it.
    assert max(model.readings[:20]) > 3 * TARGET
    # The work admitted before the first cut drains as it completes (up to 29 turns); from
    # then on every reading is within the target.
    settled = model.readings[40:]
    assert len(settled) > 500
    assert max(settled) <= TARGET
    assert ctl.limit * PER_ISSUE_CPU <= TARGET
    reasons = {event.reason for event in engine.statistics().decisions}
    assert "cpu over budget" in reasons


async def test_the_guard_needs_no_sleep_to_act() -> None:
    # The controller's tick is driven by its own clock, never the wall clock.
    clock = FakeClock()
    model = CpuModel()
    ctl = model.controller = AdaptiveConcurrencyController(
        strategy=BALANCED, clock=clock, sampler=model, cpu_target=TARGET
    )
    task = asyncio.create_task(ctl.run())
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock.slept[:3] == [1.0, 1.0, 1.0]
