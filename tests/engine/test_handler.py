"""The item handler's edges: unusable items, locks held elsewhere, errors sorted by kind."""

from __future__ import annotations

import msgspec
import pytest

from autoissue import (
    CorruptItemError,
    FakeClock,
)
from autoissue.engine import EngineOptions, Worker, WorkerOptions, decode_item
from autoissue.engine._work import WorkItem, encode_item, message_for
from autoissue.model import Issue, Priority
from autoissue.queue import MemoryQueue, Message, RetryPolicy
from autoissue.state import MemoryStateStore
from tests.engine.test_dispatch import Busy, offline


def issue(number: int, updated_at: str = "2026-01-01T00:00:00Z") -> Issue:
    return Issue(number=number, title=f"Issue {number}", state="open", updated_at=updated_at)


async def drain(queue: MemoryQueue, state: MemoryStateStore | None = None) -> Worker:
    """A worker alone: it works the queue until it is empty."""
    options = WorkerOptions(dry_run=True, concurrency=4)
    worker = Worker(offline(), queue, state or MemoryStateStore(), [Busy()], options=options)
    await worker.run()
    return worker


async def test_an_unreadable_item_is_dead_lettered_at_once() -> None:
    queue = MemoryQueue()
    await queue.put(b"\x00 not msgpack", key="junk")
    worker = await drain(queue)
    [letter] = await queue.dead_letters()
    assert letter.attempts == 1
    assert "CorruptItemError: corrupt payload" in letter.last_error
    assert worker.tally.failed == 1


async def test_an_item_for_a_processor_this_worker_lacks_is_dead_lettered() -> None:
    queue = MemoryQueue()
    await queue.put_many([message_for(WorkItem("o/r", "stale", issue(1)), Priority.LOW)])
    await drain(queue)
    [letter] = await queue.dead_letters()
    assert "no processor 'stale' in this worker (it has busy, handoff)" in letter.last_error


async def test_an_issue_locked_by_another_worker_waits_its_turn() -> None:
    clock = FakeClock()
    queue = MemoryQueue(clock=clock, retry=RetryPolicy(base_s=0.0, cap_s=0.0))
    state = MemoryStateStore(clock=clock)
    await state.acquire("o/r#1", "someone-else", 0.5)
    await queue.put_many([message_for(WorkItem("o/r", "busy", issue(1)), Priority.LOW)])
    worker = Worker(offline(), queue, state, [Busy()], options=WorkerOptions(dry_run=True))
    claimed = await queue.claim_many(1)
    assert await worker.handler.prepare(claimed) == []  # nacked: someone else has it
    assert queue.meter.retried == 1
    clock.advance(3.0)  # their lock expired, and the retry is due
    assert len(await worker.handler.prepare(await queue.claim_many(1))) == 1


async def test_two_versions_of_one_issue_in_one_batch_are_handled_one_at_a_time() -> None:
    queue = MemoryQueue(retry=RetryPolicy(base_s=0.0, cap_s=0.0))
    items = [WorkItem("o/r", "busy", issue(1, at)) for at in ("t1", "t2")]
    await queue.put_many([message_for(item, Priority.LOW) for item in items])
    worker = Worker(
        offline(), queue, MemoryStateStore(), [Busy()], options=WorkerOptions(dry_run=True)
    )
    ready = await worker.handler.prepare(await queue.claim_many(2))
    assert len(ready) == 1
    assert len(worker.handler.locks) == 1


async def test_a_dry_runs_keys_leave_the_real_ones_free() -> None:
    queue = MemoryQueue()
    item = WorkItem("o/r", "busy", issue(1))
    assert await queue.put_many([message_for(item, Priority.LOW, dry_run=True)]) != [None]
    assert await queue.put_many([message_for(item, Priority.LOW)]) != [None]


def test_a_negative_idle_exit_is_refused() -> None:
    with pytest.raises(ValueError, match="idle_exit_s"):
        EngineOptions(idle_exit_s=-1)


async def test_a_message_is_plain_bytes_on_the_queue() -> None:
    message = message_for(WorkItem("o/r", "busy", issue(3)), Priority.HIGH)
    assert isinstance(message, Message)
    assert message.key == "busy:o/r#3@2026-01-01T00:00:00Z"


def test_payloads_written_before_the_header_byte_still_read() -> None:
    item = WorkItem("o/r", "busy", issue(4))
    old = msgspec.msgpack.encode(item)  # what the queue held before payloads had a header
    assert decode_item(old) == item
    assert decode_item(encode_item(item)) == item
    with pytest.raises(CorruptItemError, match="unreadable queue item"):
        decode_item(b"\x92junk")
