"""Versions of one issue coalesce: of those queued, only the newest is planned and written.

Whether they were listed or offered live (deliveries for several versions of one issue make
one plan, one write).

Effects are counted in the emulator (the commenter's comments on the issue), plans by the
worker's observer, and skips in the run's tally.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence

import msgspec
import pytest

from autoissue import BackendUnavailableError
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.engine import LiveIntake, Observers, RunTally, Worker, WorkerOptions
from autoissue.engine._handler import ALREADY_PROCESSED, SUPERSEDED
from autoissue.engine._intake import Intake, IntakeSetup
from autoissue.engine._selector import Selector
from autoissue.engine._work import WorkItem, decode_item, message_for, queued_version
from autoissue.engine._writeback import comment_marker
from autoissue.github import GitHubClient
from autoissue.model import Issue, Plan, Priority, decode_issue
from autoissue.queue import MemoryQueue, Message
from autoissue.state import MemoryStateStore, QueuedVersion, StateStore, issue_name
from tests.engine._commenter import Commenter
from tests.engine.test_dispatch import Busy, offline

REPO = "acme/coalesce"
OLDER, NEWER = "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo=REPO, issues=12, seed=7)) as running:
        yield running


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(base_url=emulator.base_url, token="t0k3n") as github:
        # As a run does: the emulator has no limits, so writes are not spaced a second apart.
        await github.warm_up()
        yield github


@pytest.fixture
def state(each_state: StateStore) -> StateStore:
    """The state store of each backend in turn."""
    return each_state


async def an_issue(client: GitHubClient, emulator: Emulator) -> Issue:
    """An open issue the commenter may comment on."""
    items = emulator.state()["repos"][0]["issues"]
    number = next(
        item["number"]
        for item in items
        if item["state"] == "open" and not item["is_pull_request"] and not item["locked"]
    )
    response = await client.request("GET", f"/repos/{REPO}/issues/{number}")
    return decode_issue(response.body)


def at(issue: Issue, updated_at: str) -> Issue:
    return msgspec.structs.replace(issue, updated_at=updated_at)


def comments(emulator: Emulator, number: int) -> int:
    """How many comments of the commenter the issue has."""
    marker = comment_marker("commenter", number, "main")
    [item] = [i for i in emulator.state()["repos"][0]["issues"] if i["number"] == number]
    return sum(marker in comment["body"] for comment in item["comments"])


def intake(queue: MemoryQueue, state: StateStore, processor: object = None) -> Intake:
    chosen = processor or Commenter()
    setup = IntakeSetup(
        client=offline(),
        repo=REPO,
        processor=chosen,  # type: ignore[arg-type]
        queue=queue,
        state=state,
        tally=RunTally(),
        selector=Selector(chosen),  # type: ignore[arg-type]
        refuse=lambda: False,
        on_enqueued=lambda: None,
    )
    return Intake(setup)


def message(issue: Issue, processor: str = "commenter", *, dry_run: bool = False) -> Message:
    return message_for(WorkItem(REPO, processor, issue), Priority.MEDIUM, dry_run=dry_run)


def one_at_a_time(**options: object) -> WorkerOptions:
    # One claim at a time: the older version is claimed alone while the newer waits queued.
    return WorkerOptions(concurrency=1, **options)  # type: ignore[arg-type]


class Refusing(MemoryQueue):
    """A memory queue whose puts fail while ``down``: the backend went away mid-put."""

    down = False

    async def _put(self, messages: list[Message], now: float) -> list[str | None]:
        if self.down:
            raise BackendUnavailableError("the queue is unreachable")
        return await super()._put(messages, now)


async def test_an_older_version_claimed_while_a_newer_is_queued_is_settled_unworked(
    client: GitHubClient, emulator: Emulator, state: StateStore
) -> None:
    issue = await an_issue(client, emulator)
    queue = MemoryQueue()
    await intake(queue, state).enqueue([message(at(issue, OLDER)), message(at(issue, NEWER))])
    plans: list[Plan] = []
    observers = Observers(on_plan=plans.append)
    worker = Worker(
        client, queue, state, [Commenter()], options=one_at_a_time(), observers=observers
    )
    summary = await worker.run()
    assert [plan.updated_at for plan in plans] == [NEWER]
    assert comments(emulator, issue.number) == 1
    assert (summary.processed, summary.skipped_at_work, summary.still_queued) == (1, 1, 0)
    assert summary.skipped[SUPERSEDED] == 1
    # The newer version is finished: its mark went with the ledger entry that says so.
    assert await state.queued_marks([(issue_name(REPO, issue.number), "commenter")]) == {}


async def test_an_older_version_is_worked_when_the_newer_put_did_not_happen(
    client: GitHubClient, emulator: Emulator
) -> None:
    issue = await an_issue(client, emulator)
    queue, state = Refusing(), MemoryStateStore()
    work = intake(queue, state)
    await work.enqueue([message(at(issue, OLDER))])
    queue.down = True
    with pytest.raises(BackendUnavailableError):
        await work.enqueue([message(at(issue, NEWER))])
    queue.down = False
    key = (issue_name(REPO, issue.number), "commenter")
    assert await state.queued_marks([key]) == {key: OLDER}  # the failed put marked nothing
    plans: list[Plan] = []
    observers = Observers(on_plan=plans.append)
    worker = Worker(
        client, queue, state, [Commenter()], options=one_at_a_time(), observers=observers
    )
    summary = await worker.run()
    assert [plan.updated_at for plan in plans] == [OLDER]
    assert comments(emulator, issue.number) == 1
    assert SUPERSEDED not in summary.skipped


async def test_of_two_versions_in_one_batch_the_newer_takes_the_lock() -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    await queue.put_many([message(at(issue_of(1), OLDER)), message(at(issue_of(1), NEWER))])
    worker = Worker(offline(), queue, state, [Commenter()], options=WorkerOptions(dry_run=True))
    [ready] = await worker.handler.prepare(await queue.claim_many(2))
    assert decode_item(ready.payload).issue.updated_at == NEWER
    assert queue.meter.retried == 1  # the older one waits for the lock


async def test_force_works_every_version() -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    busy = Busy()
    older, newer = at(issue_of(1), OLDER), at(issue_of(1), NEWER)
    await intake(queue, state, busy).enqueue([message(older, "busy"), message(newer, "busy")])
    plans: list[Plan] = []
    options = one_at_a_time(dry_run=True, force=True)
    observers = Observers(on_plan=plans.append)
    summary = await Worker(
        offline(), queue, state, [busy], options=options, observers=observers
    ).run()
    assert [plan.updated_at for plan in plans] == [OLDER, NEWER]
    assert SUPERSEDED not in summary.skipped


async def test_a_version_equal_to_its_mark_is_worked_and_a_dry_run_marks_nothing() -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    busy = Busy()
    key = (issue_name(REPO, 1), "busy")
    await intake(queue, state, busy).enqueue(
        [message(at(issue_of(1), NEWER), "busy", dry_run=True)]
    )
    assert await state.queued_marks([key]) == {}
    await intake(queue, state, busy).enqueue([message(at(issue_of(1), OLDER), "busy")])
    summary = await Worker(
        offline(), queue, state, [busy], options=one_at_a_time(dry_run=True)
    ).run()
    assert summary.processed == 2  # the rehearsal's newer version did not supersede the older


async def test_only_a_put_that_queued_something_new_raises_the_mark() -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    newer = message(at(issue_of(1), NEWER))
    await queue.put_many([newer])  # queued, but not by an intake: unmarked
    work = intake(queue, state)
    assert await work.enqueue([newer, message(at(issue_of(1), OLDER))]) == 1
    key = (issue_name(REPO, 1), "commenter")
    assert await state.queued_marks([key]) == {key: OLDER}
    assert work.setup.tally.skipped["already queued"] == 1


def test_a_messages_version_is_read_off_its_key() -> None:
    item = WorkItem("o/r", "a:b", issue_of(7))
    assert queued_version(message_for(item, Priority.LOW)) == QueuedVersion(
        "o/r#7", "a:b", issue_of(7).updated_at
    )
    assert queued_version(message_for(item, Priority.LOW, dry_run=True)) is None
    assert queued_version(Message(b"x")) is None
    assert queued_version(Message(b"x", key="no version")) is None
    assert queued_version(Message(b"x", key="no-processor@t1")) is None


def issue_of(number: int) -> Issue:
    return Issue(number=number, title=f"Issue {number}", state="open", updated_at=OLDER)


# -- offered live -------------------------------------------------------------------------------


def live(
    client: GitHubClient, queue: MemoryQueue, state: MemoryStateStore, **options: object
) -> LiveIntake:
    return LiveIntake(client, queue, state, [Commenter()], repos={REPO}, **options)  # type: ignore[arg-type]


async def work(
    client: GitHubClient, queue: MemoryQueue, state: MemoryStateStore, options: WorkerOptions
) -> tuple[list[Plan], RunTally]:
    plans: list[Plan] = []
    worker = Worker(
        client,
        queue,
        state,
        [Commenter()],
        options=options,
        observers=Observers(on_plan=plans.append),
    )
    await worker.run()
    return plans, worker.tally


async def test_an_issue_offered_at_two_versions_is_planned_and_written_once(
    client: GitHubClient, emulator: Emulator
) -> None:
    issue = await an_issue(client, emulator)
    queue, state = MemoryQueue(), MemoryStateStore()
    intake = live(client, queue, state)
    assert await intake.offer(REPO, [at(issue, OLDER)]) == 1
    assert await intake.offer(REPO, [at(issue, NEWER)]) == 1
    plans, tally = await work(client, queue, state, one_at_a_time())
    assert [plan.updated_at for plan in plans] == [NEWER]
    assert comments(emulator, issue.number) == 1
    assert tally.skipped[SUPERSEDED] == 1


async def test_two_versions_claimed_together_make_one_plan_for_the_newer(
    client: GitHubClient, emulator: Emulator
) -> None:
    issue = await an_issue(client, emulator)
    # A short lease: the older version waits that long for the issue's lock.
    queue, state = MemoryQueue(lease_s=0.3), MemoryStateStore()
    intake = live(client, queue, state)
    await intake.offer(REPO, [at(issue, OLDER)])
    await intake.offer(REPO, [at(issue, NEWER)])
    plans, tally = await work(client, queue, state, WorkerOptions(concurrency=4))
    assert [plan.updated_at for plan in plans] == [NEWER]
    assert comments(emulator, issue.number) == 1
    assert tally.skipped[ALREADY_PROCESSED] == 1


async def pages(*listed: Sequence[Issue]) -> AsyncIterator[Sequence[Issue]]:
    for page in listed:
        yield page


async def test_a_listed_version_is_superseded_by_a_newer_one_offered_live(
    client: GitHubClient, emulator: Emulator
) -> None:
    issue = await an_issue(client, emulator)
    queue, state = MemoryQueue(), MemoryStateStore()
    listing = IntakeSetup(
        client=client,
        repo=REPO,
        processor=Commenter(),
        queue=queue,
        state=state,
        tally=RunTally(),
        selector=Selector(Commenter()),
        refuse=lambda: False,
        on_enqueued=lambda: None,
        pages=pages([at(issue, OLDER)]),
    )
    await Intake(listing).run()
    # Offered at the listing's priority, so the older is claimed first, as the queue's share
    # of claims for lower priorities may do: a priority of its own would let the newer go first.
    await live(client, queue, state, priority=Priority.LOW).offer(REPO, [at(issue, NEWER)])
    plans, tally = await work(client, queue, state, one_at_a_time())
    assert [plan.updated_at for plan in plans] == [NEWER]
    assert comments(emulator, issue.number) == 1
    assert tally.skipped[SUPERSEDED] == 1
