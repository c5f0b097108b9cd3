"""The queue contract, run against memory, SQLite and a real Redis."""

from __future__ import annotations

import asyncio
import random

import pytest

from autoissue import ConfigurationError, FakeClock, QueueFullError
from autoissue.model import Priority
from autoissue.queue import ErrorKind, Message, PriorityPolicy, Queue, RetryPolicy

from .conftest import MakeQueue

pytestmark = pytest.mark.timeout(30)


async def payloads(queue: Queue, n: int = 100) -> list[bytes]:
    return [lease.payload for lease in await queue.claim_many(n)]


async def test_put_then_claim_returns_the_item_leased(queue: Queue, clock: FakeClock) -> None:
    item_id = await queue.put(b"one", key="k1", priority=Priority.HIGH)
    lease = await queue.claim(lease_s=5)
    assert lease is not None
    assert (lease.id, lease.payload, lease.priority, lease.key) == (item_id, b"one", 1, "k1")
    assert lease.attempts == 1
    assert lease.lease_until == pytest.approx(clock.now + 5)
    assert lease.enqueued_at == pytest.approx(clock.now)


async def test_claiming_an_empty_queue_returns_nothing(queue: Queue) -> None:
    assert await queue.claim() is None
    assert await queue.claim_many(10) == []


async def test_fifo_inside_a_priority(queue: Queue) -> None:
    await queue.put_many([Message(f"m{i}".encode()) for i in range(20)])
    assert await payloads(queue, 7) == [f"m{i}".encode() for i in range(7)]
    assert await payloads(queue) == [f"m{i}".encode() for i in range(7, 20)]


async def test_higher_priorities_first(queue: Queue) -> None:
    order = [Priority.LOW, Priority.MEDIUM, Priority.CRITICAL, Priority.HIGH, Priority.CRITICAL]
    await queue.put_many(
        [Message(f"{p.name}{i}".encode(), priority=p) for i, p in enumerate(order)]
    )
    assert await payloads(queue) == [b"CRITICAL2", b"CRITICAL4", b"HIGH3", b"MEDIUM1", b"LOW0"]


async def test_a_share_of_claims_serves_lower_priorities(make_queue: MakeQueue) -> None:
    queue = await make_queue(priorities=PriorityPolicy(lower_share=0.25))
    messages = [Message(b"c%d" % i, priority=Priority.CRITICAL) for i in range(12)]
    messages += [Message(b"h", priority=Priority.HIGH), Message(b"l", priority=Priority.LOW)]
    await queue.put_many(messages)
    # Slot 3 tries HIGH first; slot 7 tries MEDIUM, then LOW, before CRITICAL.
    first = [lease.payload for lease in await queue.claim_many(4)]
    rest = [(await queue.claim()) for _ in range(8)]
    got = first + [lease.payload for lease in rest if lease]
    assert got[3] == b"h"
    assert got[7] == b"l"
    assert got == [b"c0", b"c1", b"c2", b"h", b"c3", b"c4", b"c5", b"l", b"c6", b"c7", b"c8", b"c9"]


async def test_the_same_key_is_enqueued_once_even_after_ack(queue: Queue) -> None:
    first = await queue.put(b"x", key="proc:1@t")
    assert await queue.put(b"y", key="proc:1@t") is None
    assert await queue.ack([lease.id for lease in await queue.claim_many(5)]) == 1
    assert await queue.put(b"z", key="proc:1@t") is None
    assert first is not None
    stats = await queue.statistics()
    assert (stats.enqueued, stats.duplicates) == (1, 2)


async def test_put_many_skips_duplicate_keys_inside_one_batch(queue: Queue) -> None:
    ids = await queue.put_many([Message(b"a", key="k"), Message(b"b", key="k"), Message(b"c")])
    assert ids[1] is None
    assert ids[0] is not None
    assert ids[2] is not None
    assert ids[0] != ids[2]
    assert await payloads(queue) == [b"a", b"c"]


async def test_not_before_hides_an_item_until_its_time(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"later", not_before=clock.now + 10)
    assert await queue.claim() is None
    assert (await queue.statistics()).delayed == 1
    clock.advance(10)
    assert await payloads(queue) == [b"later"]


async def test_an_item_past_its_ttl_is_dead_lettered(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"stale", ttl_s=5)
    await queue.put(b"fresh")
    clock.advance(6)
    assert await payloads(queue) == [b"fresh"]
    [dead] = await queue.dead_letters()
    assert (dead.payload, dead.reason) == (b"stale", "expired before it was claimed (ttl)")


async def test_an_expired_lease_returns_the_item(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"work")
    first = await queue.claim(lease_s=2)
    assert await queue.claim() is None
    clock.advance(2)
    again = await queue.claim()
    assert first is not None
    assert again is not None
    assert (again.id, again.attempts) == (first.id, 2)
    # The first holder lost the item: its heartbeat says so.
    assert await queue.heartbeat([first.id]) == [first.id]


async def test_heartbeat_keeps_a_lease_alive(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"long")
    lease = await queue.claim(lease_s=2)
    assert lease is not None
    for _ in range(5):
        clock.advance(1.5)
        assert await queue.heartbeat([lease.id], lease_s=2) == [lease.id]
        assert await queue.claim() is None
    assert await queue.ack([lease.id]) == 1


async def test_heartbeat_ignores_ids_that_are_not_leased(queue: Queue) -> None:
    await queue.put(b"a")
    lease = await queue.claim()
    assert lease is not None
    await queue.ack([lease.id])
    assert await queue.heartbeat([lease.id, "12345", "not-an-id"]) == []


async def test_ack_counts_only_leased_items(queue: Queue) -> None:
    waiting = await queue.put(b"waiting")
    await queue.put(b"leased")
    lease = await queue.claim()
    assert lease is not None
    assert waiting is not None
    assert await queue.ack([lease.id, waiting, "999", "bogus"]) == 1
    assert await queue.ack([lease.id]) == 0
    assert await queue.ack([]) == 0


async def test_transient_failure_retries_after_a_jittered_backoff(
    make_queue: MakeQueue, clock: FakeClock
) -> None:
    queue = await make_queue(retry=RetryPolicy(max_attempts=3, base_s=4, rng=random.Random(1)))
    await queue.put(b"flaky")
    lease = await queue.claim()
    assert lease is not None
    decision = await queue.nack(lease.id, ErrorKind.TRANSIENT, "502 from upstream")
    assert decision is not None
    assert decision.retry_at is not None
    delay = decision.retry_at - clock.now
    assert delay == pytest.approx(random.Random(1).uniform(0, 4))
    assert await queue.claim() is None
    clock.advance(delay + 0.001)
    again = await queue.claim()
    assert again is not None
    assert again.attempts == 2


async def test_permanent_failure_dead_letters_at_once(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"bad", key="k-bad", priority=Priority.LOW)
    lease = await queue.claim()
    assert lease is not None
    decision = await queue.nack(lease.id, ErrorKind.PERMANENT, "422 invalid label")
    assert decision is not None
    assert decision.dead
    dead = await queue.dead_letter(lease.id)
    assert dead is not None
    assert (dead.reason, dead.last_error, dead.attempts) == (
        "permanent error",
        "422 invalid label",
        1,
    )
    assert (dead.payload, dead.priority, dead.key) == (b"bad", Priority.LOW, "k-bad")
    assert dead.dead_at == pytest.approx(clock.now)
    assert (await queue.statistics()).dead_letters == 1


async def test_too_many_failures_dead_letter(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"doomed")
    for attempt in range(1, 4):
        clock.advance(1000)
        lease = await queue.claim()
        assert lease is not None
        assert lease.attempts == attempt
        decision = await queue.nack(lease.id, ErrorKind.TRANSIENT, f"boom {attempt}")
    assert decision is not None
    assert decision.reason == "failed 3 attempts"
    [dead] = await queue.dead_letters()
    assert dead.last_error == "boom 3"


async def test_rate_limited_retries_after_the_named_wait(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"limited")
    lease = await queue.claim()
    assert lease is not None
    decision = await queue.nack(lease.id, ErrorKind.RATE_LIMITED, "403", retry_after=30)
    assert decision is not None
    assert decision.retry_at == pytest.approx(clock.now + 30)
    clock.advance(29.9)
    assert await queue.claim() is None
    clock.advance(0.2)
    assert await payloads(queue) == [b"limited"]


async def test_nack_of_an_item_not_leased_does_nothing(queue: Queue) -> None:
    item_id = await queue.put(b"a")
    assert item_id is not None
    assert await queue.nack(item_id, ErrorKind.TRANSIENT, "x") is None
    assert await queue.nack("424242", ErrorKind.PERMANENT, "x") is None


async def test_leases_expiring_too_often_dead_letter(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"crashes its worker")
    for _ in range(3):
        assert await queue.claim(lease_s=1) is not None
        clock.advance(1)
    assert await queue.claim() is None
    [dead] = await queue.dead_letters()
    assert dead.reason == "lease expired on all 3 attempts"


async def test_replay_returns_dead_letters_with_fresh_attempts(queue: Queue) -> None:
    for name in (b"a", b"b", b"c"):
        await queue.put(name)
    for lease in await queue.claim_many(3):
        await queue.nack(lease.id, ErrorKind.PERMANENT, "no")
    dead = await queue.dead_letters()
    assert [d.payload for d in dead] == [b"a", b"b", b"c"]
    assert await queue.replay([dead[0].id, "777"]) == 1
    assert [(lease.payload, lease.attempts) for lease in await queue.claim_many(5)] == [(b"a", 1)]
    assert await queue.replay() == 2
    assert await queue.replay([]) == 0
    assert sorted(await payloads(queue)) == [b"b", b"c"]
    assert await queue.dead_letters() == []


async def test_purge_deletes_dead_letters_for_good(queue: Queue) -> None:
    await queue.put_many([Message(b"a"), Message(b"b"), Message(b"c")])
    for lease in await queue.claim_many(3):
        await queue.nack(lease.id, ErrorKind.PERMANENT, "no")
    first = (await queue.dead_letters(limit=1))[0]
    assert await queue.purge([first.id]) == 1
    assert await queue.dead_letter(first.id) is None
    assert await queue.purge([]) == 0
    assert await queue.purge() == 2
    assert (await queue.statistics()).dead_letters == 0


async def test_dead_letter_of_a_live_item_is_none(queue: Queue) -> None:
    item_id = await queue.put(b"alive")
    assert item_id is not None
    assert await queue.dead_letter(item_id) is None
    assert await queue.replay([item_id]) == 0
    assert await queue.purge([item_id]) == 0


async def test_statistics_snapshot(queue: Queue, clock: FakeClock) -> None:
    await queue.put_many(
        [Message(b"c", priority=Priority.CRITICAL)] * 2 + [Message(b"l", priority=3)]
    )
    await queue.put(b"later", not_before=clock.now + 60)
    clock.advance(0.5)
    leases = await queue.claim_many(2)
    await queue.nack(leases[1].id, ErrorKind.TRANSIENT, "x")
    await queue.ack([leases[0].id])
    stats = await queue.statistics()
    assert stats.depth == {
        Priority.CRITICAL: 0,
        Priority.HIGH: 0,
        Priority.MEDIUM: 0,
        Priority.LOW: 1,
    }
    assert (stats.in_flight, stats.retrying, stats.dead_letters) == (0, 1, 0)
    assert stats.delayed == 2
    assert stats.waiting == 3
    assert (stats.enqueued, stats.claimed, stats.acked, stats.retried) == (4, 2, 1, 1)
    assert stats.wait_ms["p50"] == pytest.approx(500)
    assert stats.acks_per_s == pytest.approx(1.0)
    assert "acked=1" in repr(queue)
    assert "in_flight=0" in repr(queue)


async def test_put_raises_queue_full_after_waiting(make_queue: MakeQueue, clock: FakeClock) -> None:
    queue = await make_queue(max_depth=2, poll_s=0.5)
    await queue.put_many([Message(b"1"), Message(b"2")], max_wait_s=1)
    with pytest.raises(QueueFullError, match="maximum depth"):
        await queue.put(b"3", max_wait_s=2)
    assert clock.slept == [0.5, 1.0, 0.5]  # counted less often while full, up to the deadline
    await queue.claim()
    assert await queue.put(b"3", max_wait_s=2) is not None


async def test_a_queue_that_stays_full_is_counted_less_often(
    make_queue: MakeQueue, clock: FakeClock
) -> None:
    queue = await make_queue(max_depth=1, poll_s=0.25)
    await queue.put(b"1")
    with pytest.raises(QueueFullError):
        await queue.put(b"2", max_wait_s=6)
    assert clock.slept == [0.25, 0.5, 1.0, 2.0, 2.0, 0.25]  # doubling to 8 poll_s, then the rest


async def test_urgent_messages_go_in_past_a_full_queue_at_once(
    make_queue: MakeQueue, clock: FakeClock
) -> None:
    queue = await make_queue(max_depth=1, poll_s=0.25)
    await queue.put(b"backlog")
    ids = await queue.put_many([Message(b"now", priority=Priority.HIGH)], urgent=True)
    assert ids != [None]
    assert clock.slept == []  # no wait for room
    assert (await queue.statistics()).waiting == 2
    assert await payloads(queue, 2) == [b"now", b"backlog"]


async def test_put_waits_for_room_then_goes_in(make_queue: MakeQueue) -> None:
    queue = await make_queue(max_depth=3)
    producer = asyncio.create_task(queue.put_many([Message(b"%d" % i) for i in range(6)]))
    got: list[bytes] = []
    while len(got) < 6:
        got += await payloads(queue, 2)
        await asyncio.sleep(0)
    await producer
    assert got == [b"%d" % i for i in range(6)]


async def test_bad_arguments_are_configuration_errors(queue: Queue) -> None:
    with pytest.raises(ConfigurationError):
        await queue.claim_many(0)
    with pytest.raises(ConfigurationError):
        await queue.claim(lease_s=-1)
    with pytest.raises(ConfigurationError):
        await queue.put("text")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        await queue.put(b"x", ttl_s=0)


async def test_two_handles_share_one_queue(make_queue: MakeQueue, backend: str) -> None:
    if backend == "memory":
        pytest.skip("a memory queue lives in one handle")
    first, second = await make_queue(), await make_queue()
    await first.put_many([Message(b"%d" % i) for i in range(10)])
    a, b = await first.claim_many(4), await second.claim_many(10)
    assert sorted(lease.payload for lease in a + b) == sorted(b"%d" % i for i in range(10))
    assert await second.ack([lease.id for lease in a]) == 4


async def test_a_leased_item_outlives_its_ttl_until_it_returns(
    queue: Queue, clock: FakeClock
) -> None:
    await queue.put(b"slow", ttl_s=5)
    lease = await queue.claim(lease_s=10)
    assert lease is not None
    clock.advance(6)
    assert await queue.claim() is None
    assert await queue.dead_letters() == []
    clock.advance(4)  # the lease expires: back in waiting, past its TTL, so it dies
    assert await queue.claim() is None
    [dead] = await queue.dead_letters()
    assert dead.reason == "expired before it was claimed (ttl)"


async def test_a_delayed_item_can_expire_before_it_is_due(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"late", ttl_s=5, not_before=clock.now + 10)
    clock.advance(6)
    assert await queue.claim() is None
    assert len(await queue.dead_letters()) == 1
    clock.advance(10)
    assert await queue.claim() is None
    assert (await queue.statistics()).waiting == 0


async def test_an_acked_item_s_ttl_passing_changes_nothing(queue: Queue, clock: FakeClock) -> None:
    await queue.put(b"quick", ttl_s=5)
    lease = await queue.claim()
    assert lease is not None
    assert await queue.ack([lease.id]) == 1
    clock.advance(6)
    assert await queue.claim() is None
    assert await queue.dead_letters() == []
