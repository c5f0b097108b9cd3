"""Claims are fair across groups inside each priority, on memory, SQLite and a real Redis.

The rule every backend follows: each claim slot a priority serves goes to the next group, in
name order and round the circle, after the group that priority served last; inside a group,
FIFO. So a claim of ``n`` is ``n`` claims of one, and the place in the circle is kept by the
backend, for every handle.
"""

from __future__ import annotations

import bisect
import collections
import random
from dataclasses import dataclass, field

import pytest

from autoissue import ConfigurationError, FakeClock
from autoissue.model import Priority
from autoissue.queue import (
    ErrorKind,
    Lease,
    Message,
    PriorityPolicy,
    Queue,
    RetryPolicy,
    open_queue,
)
from autoissue.queue._redis import RedisQueue

from .conftest import MakeQueue

pytestmark = pytest.mark.timeout(60)


def items(group: str | None, count: int, priority: Priority = Priority.MEDIUM) -> list[Message]:
    name = group or "-"
    return [Message(f"{name}:{i}".encode(), priority=priority, group=group) for i in range(count)]


def groups(leases: list[Lease]) -> list[str | None]:
    return [lease.group for lease in leases]


async def claim_groups(queue: Queue, n: int) -> list[str | None]:
    return groups(await queue.claim_many(n, lease_s=3600))


async def test_a_claim_takes_from_each_group_in_turn(queue: Queue) -> None:
    await queue.put_many(items("a", 10) + items("b", 2) + items("c", 5))
    first = await queue.claim_many(6)
    assert groups(first) == ["a", "b", "c", "a", "b", "c"]
    assert [lease.payload for lease in first[:2]] == [b"a:0", b"b:0"]
    # b is empty: its turns go to the others, and the round goes on after c.
    assert await claim_groups(queue, 6) == ["a", "c", "a", "c", "a", "c"]
    last = await queue.claim_many(10)
    assert [lease.payload for lease in last] == [b"a:%d" % i for i in range(5, 10)]


async def test_claims_of_one_go_round_the_groups(queue: Queue) -> None:
    await queue.put_many(items("a", 5) + items("b", 5) + items("c", 5))
    got = [lease.group for _ in range(9) if (lease := await queue.claim())]
    assert got == ["a", "b", "c"] * 3


async def test_a_huge_group_enqueued_first_does_not_starve_the_others(queue: Queue) -> None:
    await queue.put_many(items("zz/huge", 1000))
    await queue.put_many(items("aa/small", 3) + items("mm/small", 3))
    counts = collections.Counter(await claim_groups(queue, 10))
    assert counts == {"zz/huge": 4, "aa/small": 3, "mm/small": 3}


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 30])
async def test_a_claim_of_n_splits_evenly_over_groups_with_enough(queue: Queue, n: int) -> None:
    await queue.put_many(items("x", 40) + items("y", 40) + items("z", 40))
    totals: collections.Counter[str | None] = collections.Counter()
    for _ in range(3):
        counts = collections.Counter(await claim_groups(queue, n))
        assert sum(counts.values()) == n
        assert max(counts.values()) - min(counts.get(g, 0) for g in "xyz") <= 1
        totals.update(counts)
    # Over successive claims the remainders rotate too: 3 claims of n are n from each.
    assert totals == dict.fromkeys("xyz", n)


async def test_a_small_group_takes_what_it_has_and_the_rest_goes_to_the_others(
    queue: Queue,
) -> None:
    await queue.put_many(items("a", 50) + items("b", 1) + items("c", 50))
    assert collections.Counter(await claim_groups(queue, 21)) == {"a": 10, "b": 1, "c": 10}


async def test_strict_priority_holds_across_groups(queue: Queue) -> None:
    await queue.put_many(items("a", 3, Priority.LOW) + items("b", 3, Priority.HIGH))
    await queue.put_many(items("c", 2, Priority.CRITICAL) + items("a", 2, Priority.HIGH))
    leases = await queue.claim_many(20)
    assert [(lease.priority, lease.group) for lease in leases] == [
        (Priority.CRITICAL, "c"),
        (Priority.CRITICAL, "c"),
        (Priority.HIGH, "a"),
        (Priority.HIGH, "b"),
        (Priority.HIGH, "a"),
        (Priority.HIGH, "b"),
        (Priority.HIGH, "b"),
        (Priority.LOW, "a"),
        (Priority.LOW, "a"),
        (Priority.LOW, "a"),
    ]


async def test_each_priority_keeps_its_own_place_in_the_round(queue: Queue) -> None:
    await queue.put_many(items("a", 4) + items("b", 4) + items("c", 4))
    assert await claim_groups(queue, 1) == ["a"]
    await queue.put_many(items("c", 2, Priority.HIGH) + items("b", 1, Priority.HIGH))
    # HIGH starts its own round (b, c, c); MEDIUM goes on after a.
    assert await claim_groups(queue, 5) == ["b", "c", "c", "b", "c"]
    assert [lease.priority for lease in await queue.claim_many(1)] == [Priority.MEDIUM]


async def test_items_without_a_group_are_one_implicit_group(queue: Queue) -> None:
    await queue.put_many([*items(None, 2), Message(b"empty", group=""), *items("a", 3)])
    leases = await queue.claim_many(6)
    assert groups(leases) == [None, "a", None, "a", None, "a"]
    assert [lease.payload for lease in leases if lease.group is None] == [b"-:0", b"-:1", b"empty"]


async def test_put_takes_a_group(queue: Queue) -> None:
    await queue.put(b"one", group="o/r", key="k")
    lease = await queue.claim()
    assert lease is not None
    assert (lease.group, lease.key) == ("o/r", "k")
    with pytest.raises(ConfigurationError, match="groups are str"):
        await queue.put(b"x", group=7)  # type: ignore[arg-type]


async def test_groups_holding_only_delayed_items_are_passed_over(
    queue: Queue, clock: FakeClock
) -> None:
    later = clock.now + 60
    await queue.put_many([Message(b"a", group="a", not_before=later)])
    await queue.put_many([Message(b"b%d" % i, group="b", not_before=later) for i in range(3)])
    await queue.put_many(items("c", 3) + items("d", 3) + items("e", 1))
    assert await claim_groups(queue, 2) == ["c", "d"]
    assert await claim_groups(queue, 4) == ["e", "c", "d", "c"]
    clock.advance(60)
    assert await claim_groups(queue, 4) == ["d", "a", "b", "b"]


async def test_a_claim_takes_what_is_ready_when_other_groups_hold_only_delayed_items(
    queue: Queue, clock: FakeClock
) -> None:
    await queue.put(b"a", group="a", not_before=clock.now + 60)
    await queue.put_many(items("b", 1))
    assert await claim_groups(queue, 2) == ["b"]
    assert await claim_groups(queue, 2) == []


async def test_a_group_emptied_by_a_claim_joins_again_when_it_gets_items(queue: Queue) -> None:
    await queue.put_many(items("a", 1) + items("b", 3))
    assert await claim_groups(queue, 2) == ["a", "b"]
    assert await claim_groups(queue, 1) == ["b"]
    await queue.put_many(items("a", 2))
    assert await claim_groups(queue, 3) == ["a", "b", "a"]
    assert await queue.claim() is None


async def test_a_group_whose_items_all_expired_is_passed_over(
    queue: Queue, clock: FakeClock
) -> None:
    await queue.put_many([Message(b"a%d" % i, group="a", ttl_s=1) for i in range(2)])
    await queue.put_many(items("b", 2))
    clock.advance(2)
    assert await claim_groups(queue, 5) == ["b", "b"]
    assert len(await queue.dead_letters()) == 2
    assert (await queue.statistics()).waiting == 0


async def test_successive_claims_and_handles_share_the_round(
    make_queue: MakeQueue, backend: str
) -> None:
    if backend == "memory":
        pytest.skip("a memory queue lives in one handle")
    first, second = await make_queue(), await make_queue()
    await first.put_many(items("a", 3) + items("b", 3) + items("c", 3))
    assert await claim_groups(first, 1) == ["a"]
    assert await claim_groups(second, 1) == ["b"]
    assert await claim_groups(first, 2) == ["c", "a"]
    await first.close()
    reopened = await make_queue()
    assert await claim_groups(reopened, 3) == ["b", "c", "a"]


async def test_retries_and_expired_leases_come_back_to_their_group(
    queue: Queue, clock: FakeClock
) -> None:
    await queue.put_many(items("a", 2) + items("b", 2))
    a0, b0 = await queue.claim_many(2, lease_s=5)
    decision = await queue.nack(a0.id, ErrorKind.RATE_LIMITED, "429", retry_after=1)
    assert decision is not None
    clock.advance(5)  # b0's lease ends too
    again = await queue.claim_many(4)
    assert [(lease.payload, lease.group) for lease in again] == [
        (b"a:0", "a"),
        (b"b:0", "b"),
        (b"a:1", "a"),
        (b"b:1", "b"),
    ]
    assert [lease.attempts for lease in again] == [2, 2, 1, 1]
    assert b0.group == "b"


async def test_dead_letters_and_replays_keep_their_group(queue: Queue, clock: FakeClock) -> None:
    await queue.put_many(items("a", 1) + items("b", 2))
    await queue.put(b"stale", group="c", ttl_s=1)
    for lease in await queue.claim_many(2):
        await queue.nack(lease.id, ErrorKind.PERMANENT, "no")
    clock.advance(2)
    await queue.statistics()  # a count, like a claim, dead-letters what outlived its TTL
    dead = await queue.dead_letters()
    assert [(d.payload, d.group) for d in dead] == [(b"a:0", "a"), (b"b:0", "b"), (b"stale", "c")]
    one = await queue.dead_letter(dead[1].id)
    assert one is not None
    assert one.group == "b"
    assert await queue.replay() == 3
    leases = await queue.claim_many(10)
    assert sorted((lease.group, lease.payload) for lease in leases) == [
        ("a", b"a:0"),
        ("b", b"b:0"),
        ("b", b"b:1"),
        ("c", b"stale"),
    ]


async def test_statistics_count_the_ready_items_of_every_group(
    queue: Queue, clock: FakeClock
) -> None:
    await queue.put_many(items("a", 3) + items("b", 1) + items(None, 2))
    await queue.put_many(items("c", 2, Priority.HIGH))
    await queue.put(b"later", group="d", not_before=clock.now + 10)
    await queue.claim_many(4)  # c, c (HIGH), then None, a
    stats = await queue.statistics()
    assert stats.depth[Priority.HIGH] == 0
    assert stats.depth[Priority.MEDIUM] == 4
    assert (stats.delayed, stats.in_flight) == (1, 4)
    assert await claim_groups(queue, 10) == ["b", None, "a", "a"]
    assert (await queue.statistics()).depth[Priority.MEDIUM] == 0


async def test_lower_priority_slots_are_fair_across_groups_too(make_queue: MakeQueue) -> None:
    queue = await make_queue(priorities=PriorityPolicy(lower_share=0.25))
    await queue.put_many(items("c", 20, Priority.CRITICAL))
    await queue.put_many(items("x", 2, Priority.HIGH) + items("y", 2, Priority.HIGH))
    # Slots 3 and 15 try HIGH first (7 and 11 try MEDIUM and LOW, which are empty).
    got = await claim_groups(queue, 16)
    assert (got[3], got[15]) == ("x", "y")
    assert got[:3] + got[4:15] == ["c"] * 14


# -- a model of the rule, against which random workloads are checked ------------------------


@dataclass
class Model:
    """The rule in a few lines: per priority, groups in name order after a cursor."""

    ready: dict[Priority, dict[str, collections.deque[bytes]]] = field(
        default_factory=lambda: collections.defaultdict(dict)
    )
    cursors: dict[Priority, str] = field(default_factory=dict)

    def put(self, message: Message) -> None:
        queues = self.ready[Priority(message.priority)]
        queues.setdefault(message.group or "", collections.deque()).append(message.payload)

    def claim(self, n: int) -> list[tuple[str, bytes]]:
        out = []
        for _ in range(n):
            taken = next((t for p in Priority if (t := self._take(p))), None)
            if taken is None:
                break
            out.append(taken)
        return out

    def _take(self, priority: Priority) -> tuple[str, bytes] | None:
        names = sorted(g for g, q in self.ready[priority].items() if q)
        if not names:
            return None
        cursor = self.cursors.get(priority)
        at = 0 if cursor is None else bisect.bisect_right(names, cursor) % len(names)
        self.cursors[priority] = names[at]
        return names[at], self.ready[priority][names[at]].popleft()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_workloads_follow_the_rule(make_queue: MakeQueue, seed: int) -> None:
    rng = random.Random(seed)
    queue, model = await make_queue(), Model()
    names = [None, "", "a/1", "a/2", "b", "c/long-name", "d"]
    serial = 0
    for _ in range(40):
        batch = []
        for _ in range(rng.randrange(0, 12)):
            serial += 1
            batch.append(
                Message(
                    b"%d" % serial,
                    priority=rng.choice([Priority.HIGH, Priority.MEDIUM, Priority.MEDIUM]),
                    group=rng.choice(names),
                )
            )
        await queue.put_many(batch)
        for message in batch:
            model.put(message)
        n = rng.choice([1, 1, 2, 3, 7, 20])
        got = [(lease.group or "", lease.payload) for lease in await queue.claim_many(n)]
        assert got == model.claim(n)


async def test_claims_go_round_many_groups(queue: Queue) -> None:
    await queue.put_many([Message(b"%d" % i, group=f"g{i:03d}") for i in range(150)])
    await queue.put_many(items("g000", 5))
    first = await claim_groups(queue, 100)
    assert first == [f"g{i:03d}" for i in range(100)]
    second = await claim_groups(queue, 100)
    assert second == [f"g{i:03d}" for i in range(100, 150)] + ["g000"] * 5


# -- Redis: the set of groups a claim walks is exactly the groups with ready items ----------


async def listed_and_ready(queue: RedisQueue) -> tuple[set[str], set[str]]:
    listed, ready = set(), set()
    for pr in range(4):
        members = await queue.client.zrange(f"{queue.prefix}:groups:{pr}", 0, -1)
        listed |= {f"{pr}/{member.decode()}" for member in members}
    async for key in queue.client.scan_iter(match=f"{queue.prefix}:ready:*"):
        pr, _, group = key.decode().removeprefix(f"{queue.prefix}:ready:").partition(":")
        ready.add(f"{pr}/{group}")
    return listed, ready


@pytest.mark.redis
async def test_redis_lists_exactly_the_groups_with_ready_items(
    redis_url: str, clock: FakeClock
) -> None:
    retry = RetryPolicy(max_attempts=2, base_s=1, cap_s=1, rng=random.Random(0))
    queue = await open_queue(redis_url, clock=clock, retry=retry)
    assert isinstance(queue, RedisQueue)
    rng = random.Random(5)
    for step in range(60):
        await random_step(queue, rng, clock)
        listed, ready = await listed_and_ready(queue)
        assert listed == ready, f"after step {step}"
    await queue.close()


async def random_step(queue: Queue, rng: random.Random, clock: FakeClock) -> None:
    choice = rng.randrange(5)
    if choice == 0:
        group = rng.choice([None, "a", "b:c", "d/e"])
        ttl = rng.choice([None, 1.0])
        await queue.put_many(
            [*items(group, rng.randrange(1, 4)), Message(b"t", group=group, ttl_s=ttl)]
        )
    elif choice == 1:
        leases = await queue.claim_many(rng.choice([1, 3, 10]), lease_s=rng.choice([1, 60]))
        for lease in leases[: len(leases) // 2]:
            await queue.nack(lease.id, rng.choice(list(ErrorKind)), "x")
    elif choice == 2:
        clock.advance(rng.choice([0.5, 2.0]))
    elif choice == 3:
        await queue.replay()
    else:
        await queue.purge([d.id for d in await queue.dead_letters()][:1])
