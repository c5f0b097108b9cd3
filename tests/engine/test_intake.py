"""Intake on its own: it lists, selects and enqueues, and knows nothing of how items are worked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from autoissue.engine._intake import Intake, IntakeSetup
from autoissue.engine._selector import Selector
from autoissue.engine._summary import RunTally
from autoissue.engine._work import decode_item
from autoissue.model import Issue
from autoissue.model._issue import Label
from autoissue.processors import Triage
from autoissue.queue import MemoryQueue
from autoissue.state import MemoryStateStore, issue_name
from tests.engine.test_dispatch import Busy, offline

REPO = "o/r"


def issue(number: int, *labels: str, locked: bool = False) -> Issue:
    return Issue(
        number=number,
        title=f"Issue {number}",
        state="open",
        updated_at="t1",
        labels=tuple(Label(name=name) for name in labels),
        locked=locked,
    )


async def listing(*pages: Sequence[Issue]) -> AsyncIterator[Sequence[Issue]]:
    for page in pages:
        yield page


def intake(
    queue: MemoryQueue, state: MemoryStateStore, *pages: Sequence[Issue], refuse: bool = False
) -> Intake:
    setup = IntakeSetup(
        client=offline(),
        repo=REPO,
        processor=Busy(),
        queue=queue,
        state=state,
        tally=RunTally(),
        selector=Selector(Triage()),  # priorities from labels
        refuse=lambda: refuse,
        on_enqueued=lambda: None,
        pages=listing(*pages),
    )
    return Intake(setup)


async def queued_numbers(queue: MemoryQueue) -> list[int]:
    leases = await queue.claim_many(100, lease_s=30)
    return [decode_item(lease.payload).issue.number for lease in leases]


async def test_it_enqueues_what_is_selected_and_not_done_and_counts_the_rest() -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    await state.record(issue_name(REPO, 2), "busy", "t1", "done")
    pages = ([issue(1), issue(2)], [issue(3, locked=True), issue(4)])
    work = intake(queue, state, *pages)
    await work.run()
    assert work.done
    assert sorted(await queued_numbers(queue)) == [1, 4]
    tally = work.setup.tally
    assert (tally.listed, tally.enqueued) == (4, 2)
    assert tally.skipped["already processed"] == 1
    assert tally.skipped["locked"] == 1
    assert "done=True" in repr(work)


async def test_under_a_cap_only_the_most_urgent_of_the_whole_listing_go_in() -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    pages = ([issue(1), issue(2, "critical")], [issue(3, "P1")])
    work = intake(queue, state, *pages)
    work.shortlist(2)
    await work.run()
    assert sorted(await queued_numbers(queue)) == [2, 3]
    assert work.setup.tally.skipped["cap reached"] == 1


async def test_a_refusal_stops_the_listing_and_enqueues_nothing_more() -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    work = intake(queue, state, [issue(1)], [issue(2)], refuse=True)
    await work.run()
    assert await queued_numbers(queue) == []
    assert work.setup.tally.listed == 0
