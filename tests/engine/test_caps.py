"""Caps on what a run starts: per run, and per clock hour across runs (kept in the state store)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from autoissue import FakeClock
from autoissue.engine import Engine, EngineOptions
from autoissue.engine._caps import RunCaps, Shortlist
from autoissue.engine._work import WorkItem, message_for
from autoissue.model import Issue, Priority
from autoissue.queue import MemoryQueue, Message
from autoissue.state import MemoryStateStore, StateStore, open_state
from tests.engine.test_dispatch import Busy, issue, offline, pages

HOUR = 3600.0


async def test_no_cap_means_no_room_limit() -> None:
    caps = RunCaps(MemoryStateStore(), "o/r:t")
    assert await caps.room() is None
    await caps.spend(0)
    assert "run=None" in repr(caps)


async def test_the_hourly_cap_holds_across_runs_and_resets_next_hour() -> None:
    state, now = MemoryStateStore(), [10 * HOUR]
    first = RunCaps(state, "o/r:t", per_hour=8, now=lambda: now[0])
    await first.spend(5)
    second = RunCaps(state, "o/r:t", per_hour=8, per_run=10, now=lambda: now[0])
    assert await second.room() == 3
    now[0] += HOUR
    assert await second.room() == 8


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def shared(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    """A state store whose calls really wait (a thread, a server), so that spends interleave."""
    sqlite = f"sqlite:///{tmp_path / 'state.db'}"
    dsn = sqlite if request.param == "sqlite" else str(request.getfixturevalue("redis_url"))
    async with await open_state(dsn) as opened:
        yield opened


async def test_runs_spending_at_once_cannot_overshoot_the_hourly_cap(shared: StateStore) -> None:
    def now() -> float:
        return 10 * HOUR

    runs = [RunCaps(shared, "o/r:t", per_hour=12, now=now) for _ in range(2)]
    assert [await caps.room() for caps in runs] == [12, 12]
    await asyncio.gather(*(caps.spend(1) for caps in runs for _ in range(6)))
    assert [await caps.room() for caps in runs] == [0, 0]  # every spend counted
    assert await RunCaps(shared, "o/r:t", per_hour=12, now=now).room() == 0
    assert (await shared.statistics()).entries == 0  # counters, not ledger entries


async def test_an_hours_count_is_kept_two_hours_on_the_stores_clock() -> None:
    clock = FakeClock(start=10 * HOUR)
    state = MemoryStateStore(clock=clock)
    caps = RunCaps(state, "o/r:t", per_hour=8, now=clock.time)
    await caps.spend(3)
    clock.advance(HOUR - 1)  # still the same clock hour
    assert await caps.room() == 5
    assert await state.counter("@caps:o/r:t:hour-19700101T10") == 3
    clock.advance(HOUR + 1)  # two hours after the first spend the store drops it
    assert await state.counter("@caps:o/r:t:hour-19700101T10") == 0


async def test_a_run_starts_no_more_than_its_cap() -> None:
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


class Ranked(Busy):
    """Ranks issues by number: multiples of 7 are critical, of 3 high, the rest low."""

    def select(self, issue: Issue) -> Priority | None:
        if issue.number % 7 == 0:
            return Priority.CRITICAL
        return Priority.HIGH if issue.number % 3 == 0 else Priority.LOW


async def _leave_queued(queue: MemoryQueue, numbers: range, priority: Priority) -> None:
    items = [WorkItem("o/r", "busy", issue(n)) for n in numbers]
    await queue.put_many([message_for(item, priority, dry_run=True) for item in items])


async def test_items_an_earlier_run_left_queued_count_against_the_cap() -> None:
    queue = MemoryQueue()
    await _leave_queued(queue, range(100, 140), Priority.LOW)  # a killed run's leftovers
    busy = Busy()
    options = EngineOptions(dry_run=True, max_issues=5, concurrency=4)
    engine = Engine(offline(), "o/r", busy, options=options, pages=pages(10), queue=queue)  # type: ignore[arg-type]
    summary = await engine.run()
    assert len(busy.seen) == 5
    assert summary.processed == 5
    assert summary.queued_before == 40
    assert summary.enqueued == 5  # the listing's shortlist
    assert summary.still_queued == 40 + 5 - 5
    assert all(number >= 100 for number in busy.seen)  # equal priority: the oldest first
    assert summary.elsewhere == 0


async def test_the_cap_goes_to_the_most_urgent_issues_of_the_whole_listing() -> None:
    busy = Ranked()
    options = EngineOptions(dry_run=True, max_issues=4, concurrency=1)
    engine = Engine(offline(), "o/r", busy, options=options, pages=pages(30))  # type: ignore[arg-type]
    summary = await engine.run()
    assert busy.seen == [7, 14, 21, 28]  # the four critical ones, in listing order
    assert summary.skipped["cap reached"] == 26


async def test_leftovers_and_the_listing_compete_for_the_cap_by_urgency() -> None:
    queue = MemoryQueue()
    await _leave_queued(queue, range(100, 120), Priority.LOW)
    busy = Ranked()
    options = EngineOptions(dry_run=True, max_issues=6, concurrency=1)
    engine = Engine(offline(), "o/r", busy, options=options, pages=pages(30), queue=queue)  # type: ignore[arg-type]
    await engine.run()
    assert busy.seen[:4] == [7, 14, 21, 28]
    assert all(number % 3 == 0 for number in busy.seen[4:])  # then high ones, not leftovers


def test_the_shortlist_keeps_the_most_urgent_first_come_first_kept() -> None:
    shortlist: Shortlist[Message] = Shortlist(3, lambda message: int(message.priority))
    item = WorkItem("o/r", "t", issue(1))
    low, high = (message_for(item, p, dry_run=True) for p in (Priority.LOW, Priority.HIGH))
    shortlist.offer([low, high, low, high])
    assert len(shortlist) == 3
    assert shortlist.dropped == 1
    assert [m.priority for m in shortlist.take()] == [Priority.HIGH, Priority.HIGH, Priority.LOW]
    assert len(shortlist) == 0


async def test_a_spent_hourly_cap_starts_nothing_and_drops_the_whole_listing() -> None:
    state = MemoryStateStore()
    await RunCaps(state, "o/r:busy", per_hour=3).spend(3)
    options = EngineOptions(dry_run=True, max_issues_per_hour=3, concurrency=2)
    engine = Engine(offline(), "o/r", Busy(), options=options, pages=pages(10), state=state)  # type: ignore[arg-type]
    summary = await engine.run()
    assert summary.processed == 0
    assert summary.skipped["cap reached"] == 10


async def test_a_shortlist_longer_than_the_queue_has_room_for_still_goes_in() -> None:
    # The queue holds 3; the cap's 7 most urgent must go in while the first are worked.
    options = EngineOptions(dry_run=True, max_issues=7, concurrency=2, backlog=3)
    engine = Engine(offline(), "o/r", Busy(), options=options, pages=pages(30))
    summary = await asyncio.wait_for(engine.run(), timeout=30)
    assert summary.processed == 7
    assert summary.skipped["cap reached"] == 23
