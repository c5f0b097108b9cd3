"""A worker alone: bound to no repository, it works whatever the queue holds, on its own clock."""

from __future__ import annotations

import asyncio

import pytest

from autoissue import FakeClock
from autoissue.engine import Observers, RunTally, Worker, WorkerOptions
from autoissue.engine._work import WorkItem, message_for
from autoissue.model import Plan, Priority
from autoissue.queue import MemoryQueue
from autoissue.state import MemoryStateStore
from tests.engine.test_dispatch import Busy, issue, offline


class Priced(Busy):
    """Each plan costs one dollar."""

    async def process(self, issue, context):  # type: ignore[no-untyped-def]
        plan = await super().process(issue, context)
        return Plan(plan.processor, plan.repo, plan.issue, plan.updated_at, cost_usd=1.0)


async def queued(*items: tuple[str, str, int]) -> MemoryQueue:
    queue = MemoryQueue()
    messages = [message_for(WorkItem(r, p, issue(n)), Priority.LOW) for r, p, n in items]
    await queue.put_many(messages)
    return queue


class Signalling(Busy):
    """Sets ``seen_one`` once it has processed an issue."""

    def __init__(self) -> None:
        super().__init__()
        self.seen_one = asyncio.Event()

    async def process(self, issue, context):  # type: ignore[no-untyped-def]
        plan = await super().process(issue, context)
        self.seen_one.set()
        return plan


def dry(**options: object) -> WorkerOptions:
    return WorkerOptions(dry_run=True, **options)  # type: ignore[arg-type]


async def test_a_worker_works_items_of_any_repository_and_names_no_repository() -> None:
    busy = Busy()
    queue = await queued(("a/one", "busy", 1), ("b/two", "busy", 2), ("a/one", "busy", 3))
    plans: list[Plan] = []
    worker = Worker(
        offline(),
        queue,
        MemoryStateStore(),
        [busy],
        options=dry(),
        observers=Observers(on_plan=plans.append),
    )
    summary = await worker.run()
    assert sorted((plan.repo, plan.issue) for plan in plans) == [
        ("a/one", 1),
        ("a/one", 3),
        ("b/two", 2),
    ]
    assert (summary.repo, summary.processor, summary.processed) == ("any repository", "busy", 3)
    assert summary.still_queued == 0
    assert worker.started == 3


async def test_the_idle_exit_is_timed_by_the_workers_clock() -> None:
    clock = FakeClock()
    worker = Worker(
        offline(),
        MemoryQueue(),
        MemoryStateStore(),
        [Busy()],
        options=dry(idle_exit_s=60),
        clock=clock,
    )
    running = asyncio.create_task(worker.work())
    await asyncio.sleep(0.2)  # many idle polls, but no time passed on the worker's clock
    assert not running.done()
    clock.advance(59)
    await asyncio.sleep(0.2)
    assert not running.done()
    clock.advance(1)
    await asyncio.wait_for(running, 5)


async def test_new_work_resets_the_idle_clock() -> None:
    clock = FakeClock()
    queue = MemoryQueue()
    busy = Signalling()
    worker = Worker(
        offline(), queue, MemoryStateStore(), [busy], options=dry(idle_exit_s=10), clock=clock
    )
    running = asyncio.create_task(worker.work())
    await asyncio.sleep(0.1)
    clock.advance(9)
    await queue.put_many([message_for(WorkItem("o/r", "busy", issue(7)), Priority.LOW)])
    worker.wake()
    await asyncio.wait_for(busy.seen_one.wait(), 5)
    await asyncio.sleep(0.2)  # the worker looks at the emptied queue
    clock.advance(9)  # 18 s since the first idle poll, but only 9 since the queue emptied
    await asyncio.sleep(0.2)
    assert not running.done()
    clock.advance(2)
    await asyncio.wait_for(running, 5)


async def test_something_pending_holds_the_worker_open_however_idle() -> None:
    clock = FakeClock()
    listing = [True]
    worker = Worker(
        offline(), MemoryQueue(), MemoryStateStore(), [Busy()], options=dry(), clock=clock
    )
    running = asyncio.create_task(worker.work(lambda: listing[0]))
    clock.advance(3600)
    await asyncio.sleep(0.2)
    assert not running.done()
    listing[0] = False
    await asyncio.wait_for(running, 5)


async def test_a_stop_ends_the_work_with_the_rest_still_queued() -> None:
    queue = await queued(*(("o/r", "busy", n) for n in range(1, 6)))
    worker = Worker(offline(), queue, MemoryStateStore(), [Busy()], options=dry())
    worker.request_stop("SIGTERM")
    summary = await worker.run()
    assert (summary.interrupted, summary.processed, summary.still_queued) == ("SIGTERM", 0, 5)
    assert worker.stopping == "SIGTERM"


async def test_held_claims_start_nothing_until_opened() -> None:
    busy = Busy()
    queue = await queued(("o/r", "busy", 1))
    worker = Worker(offline(), queue, MemoryStateStore(), [busy], options=dry())
    worker.claims_open = False
    running = asyncio.create_task(worker.work())
    await asyncio.sleep(0.2)
    assert busy.seen == []
    assert not running.done()
    worker.open_claims()
    await asyncio.wait_for(running, 5)
    assert busy.seen == [1]


async def test_the_cost_cap_stops_new_claims_and_the_shared_tally_counts_it() -> None:
    tally = RunTally()
    queue = await queued(*(("o/r", "busy", n) for n in range(1, 21)))
    priced = Priced()
    worker = Worker(
        offline(),
        queue,
        MemoryStateStore(),
        [priced],
        options=dry(concurrency=1, max_cost_usd=3.0),
        tally=tally,
    )
    summary = await worker.run()
    assert tally.cost_usd == 3.0
    assert summary.processed == 3
    assert summary.still_queued == 17
    assert worker.over_budget()


async def test_an_item_for_a_processor_the_worker_lacks_is_dead_lettered_not_lost() -> None:
    queue = await queued(("o/r", "busy", 1), ("o/r", "elsewhere", 2))
    worker = Worker(offline(), queue, MemoryStateStore(), [Busy()], options=dry())
    summary = await worker.run()
    assert summary.processed == 1
    assert summary.failed == 1
    assert "no processor 'elsewhere'" in summary.failures[0]["error"]
    assert [dead.payload for dead in await queue.dead_letters()] != []


def test_worker_options_are_checked() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        WorkerOptions(concurrency=0)
    with pytest.raises(ValueError, match="idle_exit_s"):
        WorkerOptions(idle_exit_s=-1)
    assert WorkerOptions().adaptive
    assert not WorkerOptions(concurrency=4).adaptive


async def test_the_repr_says_what_the_worker_is_doing() -> None:
    worker = Worker(offline(), MemoryQueue(), MemoryStateStore(), [Busy()], options=dry())
    assert repr(worker).startswith("<Worker limit=")
    assert worker.stopping is None
