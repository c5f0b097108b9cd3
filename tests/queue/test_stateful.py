"""Random interleavings of put, claim, ack, nack, lease expiry and consumer crashes.

Whatever happens, no item is lost (each ends acked once or dead-lettered) and no item is
leased to two consumers at once.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import shutil
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from autoissue import FakeClock
from autoissue.queue import ErrorKind, Message, PriorityPolicy, Queue, RetryPolicy, open_queue

T = TypeVar("T")
CONSUMERS = st.sampled_from(["c1", "c2", "c3"])
LEASE_S = 5.0


class QueueMachine(RuleBasedStateMachine):
    """Drives one queue and a model of who holds what."""

    dsn = "memory://"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        retry = RetryPolicy(max_attempts=3, base_s=1, cap_s=4, rng=random.Random(0))
        self.queue: Queue = self.run(
            open_queue(
                self.dsn, clock=self.clock, retry=retry, priorities=PriorityPolicy(lower_share=0.2)
            )
        )
        self.put_ids: set[str] = set()
        self.acked: set[str] = set()
        self.held: dict[str, tuple[str, float]] = {}  # id -> (consumer, lease_until)
        self.keys = itertools.count()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    @rule(
        count=st.integers(1, 4),
        priority=st.integers(0, 3),
        dup=st.booleans(),
        group=st.sampled_from([None, "o/a", "o/b"]),
    )
    def put(self, count: int, priority: int, dup: bool, group: str | None) -> None:
        key = "same" if dup else f"k{next(self.keys)}"
        messages = [
            Message(b"x", key=f"{key}-{i}", priority=priority, group=group) for i in range(count)
        ]
        ids = self.run(self.queue.put_many(messages))
        self.put_ids.update(item for item in ids if item is not None)

    @rule(consumer=CONSUMERS, n=st.integers(1, 5))
    def claim(self, consumer: str, n: int) -> None:
        now = self.clock.now
        for lease in self.run(self.queue.claim_many(n, lease_s=LEASE_S)):
            holder = self.held.get(lease.id)
            assert holder is None or holder[1] <= now, f"{lease.id} leased twice"
            assert lease.id in self.put_ids
            assert lease.id not in self.acked
            self.held[lease.id] = (consumer, lease.lease_until)

    def _mine(self, consumer: str) -> list[str]:
        now = self.clock.now
        return sorted(i for i, (c, until) in self.held.items() if c == consumer and until > now)

    @rule(consumer=CONSUMERS)
    def ack(self, consumer: str) -> None:
        for item_id in self._mine(consumer):
            assert self.run(self.queue.ack([item_id])) == 1
            self.acked.add(item_id)
            del self.held[item_id]

    @rule(consumer=CONSUMERS, kind=st.sampled_from(list(ErrorKind)))
    def nack(self, consumer: str, kind: ErrorKind) -> None:
        for item_id in self._mine(consumer)[:1]:
            assert self.run(self.queue.nack(item_id, kind, "boom")) is not None
            del self.held[item_id]

    @rule(consumer=CONSUMERS)
    def heartbeat(self, consumer: str) -> None:
        mine = self._mine(consumer)
        assert sorted(self.run(self.queue.heartbeat(mine, lease_s=LEASE_S))) == mine
        for item_id in mine:
            self.held[item_id] = (consumer, self.clock.now + LEASE_S)

    @rule(consumer=CONSUMERS)
    def crash(self, consumer: str) -> None:
        # The consumer vanishes with its leases; only their expiry can bring the items back.
        for item_id in self._mine(consumer):
            self.held[item_id] = ("crashed", self.held[item_id][1])

    @rule(seconds=st.sampled_from([0.5, 2.0, LEASE_S, 30.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def nothing_acked_is_dead(self) -> None:
        dead = {d.id for d in self.run(self.queue.dead_letters(limit=10_000))}
        assert not dead & self.acked

    def teardown(self) -> None:
        try:
            self.drain()
        finally:
            self.run(self.queue.close())
            self.loop.close()

    def drain(self) -> None:
        for _ in range(50):
            self.clock.advance(1000)
            leases = self.run(self.queue.claim_many(100))
            if not leases:
                break
            assert self.run(self.queue.ack([lease.id for lease in leases])) == len(leases)
            self.acked.update(lease.id for lease in leases)
        dead = {d.id for d in self.run(self.queue.dead_letters(limit=10_000))}
        assert self.acked | dead == self.put_ids
        assert not self.acked & dead
        assert self.run(self.queue.statistics()).unfinished == 0


def _check(dsn: str) -> None:
    machine = type("Machine", (QueueMachine,), {"dsn": dsn})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=35,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.timeout(120)
def test_memory_loses_and_duplicates_nothing() -> None:
    _check("memory://")


@pytest.mark.timeout(120)
def test_sqlite_loses_and_duplicates_nothing() -> None:
    folder = Path(tempfile.mkdtemp())
    counter = itertools.count()

    class Fresh(QueueMachine):
        # A new file per example: examples must not see each other's items.
        def __init__(self) -> None:
            type(self).dsn = f"sqlite:///{folder / f'q{next(counter)}.db'}"
            super().__init__()

    try:
        run_state_machine_as_test(
            Fresh, settings=settings(max_examples=35, stateful_step_count=30, deadline=None)
        )
    finally:
        shutil.rmtree(folder)


@pytest.mark.redis
@pytest.mark.timeout(120)
def test_redis_loses_and_duplicates_nothing(redis_url: str) -> None:
    counter = itertools.count()

    class Fresh(QueueMachine):
        def __init__(self) -> None:
            type(self).dsn = f"{redis_url}:ex{next(counter)}"
            super().__init__()

    run_state_machine_as_test(
        Fresh, settings=settings(max_examples=35, stateful_step_count=30, deadline=None)
    )
