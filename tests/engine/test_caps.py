"""Caps on admissions: per run, and per clock hour across runs (kept in the state store)."""

from __future__ import annotations

import msgspec

from autoissue.engine import Engine, EngineOptions
from autoissue.engine._caps import AdmissionCaps
from autoissue.queue import MemoryQueue
from autoissue.state import MemoryStateStore
from tests.engine.test_dispatch import Busy, offline, pages

HOUR = 3600.0


async def test_no_cap_means_no_room_limit() -> None:
    caps = AdmissionCaps(MemoryStateStore(), "o/r:t")
    assert await caps.room() is None
    await caps.spend(0)
    assert "run=None" in repr(caps)


async def test_the_hourly_cap_holds_across_runs_and_resets_next_hour() -> None:
    state, now = MemoryStateStore(), [10 * HOUR]
    first = AdmissionCaps(state, "o/r:t", per_hour=8, now=lambda: now[0])
    await first.spend(5)
    second = AdmissionCaps(state, "o/r:t", per_hour=8, per_run=10, now=lambda: now[0])
    assert await second.room() == 3
    now[0] += HOUR
    assert await second.room() == 8


async def test_a_run_admits_no_more_than_its_cap() -> None:
    busy = Busy()
    options = EngineOptions(dry_run=True, max_issues=7, concurrency=2)
    engine = Engine(offline(), "o/r", busy, options=options, pages=pages(30))  # type: ignore[arg-type]
    summary = await engine.run()
    assert summary.processed == 7
    assert summary.skipped["cap reached"] == 23


async def test_the_hourly_cap_spans_engines_sharing_a_state_store() -> None:
    state = MemoryStateStore()
    options = EngineOptions(dry_run=True, max_issues_per_hour=12, concurrency=2)
    done = []
    for _ in range(2):
        engine = Engine(offline(), "o/r", Busy(), options=options, pages=pages(10), state=state)  # type: ignore[arg-type]
        done.append((await engine.run()).processed)
    assert done == [10, 2]


class Spender(Busy):
    """Reports one dollar per plan, as an agent's result file may."""

    async def process(self, issue, context):  # type: ignore[no-untyped-def]
        plan = await super().process(issue, context)
        return msgspec.structs.replace(plan, cost_usd=1.0)


async def test_the_cost_cap_stops_new_work_and_leaves_the_rest_queued() -> None:
    queue = MemoryQueue()
    options = EngineOptions(dry_run=True, concurrency=1, max_cost_usd=5.0)
    engine = Engine(offline(), "o/r", Spender(), options=options, pages=pages(30), queue=queue)  # type: ignore[arg-type]
    summary = await engine.run()
    assert summary.processed == 5
    assert summary.cost_usd == 5.0
    assert (await queue.statistics()).waiting > 0  # for a later run, not lost
