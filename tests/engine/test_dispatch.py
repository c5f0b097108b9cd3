"""The controller drives the engine: in-flight work is bounded by its limit, which it learns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from autoissue import BackendUnavailableError, FakeClock, ServerError
from autoissue.concurrency import (
    BALANCED,
    AdaptiveConcurrencyController,
    MemoryHistoryStore,
    Strategy,
)
from autoissue.concurrency._guard import ResourceReading
from autoissue.concurrency._history import ScalingHistory
from autoissue.engine import Engine, EngineOptions
from autoissue.engine._dispatcher import Dispatcher
from autoissue.github import GitHubClient
from autoissue.model import Issue, Plan, Priority
from autoissue.processors import Isolation, ProcessContext
from autoissue.queue import Lease, MemoryQueue, Message, RetryPolicy

CALM = ResourceReading(1.0, 1)


class Calm:
    def sample(self) -> ResourceReading:
        return CALM


def issue(number: int) -> Issue:
    return Issue(number=number, title=f"Issue {number}", state="open", updated_at="2026-01-01")


async def pages(count: int, size: int = 10) -> object:
    for start in range(1, count + 1, size):
        yield [issue(n) for n in range(start, min(count, start + size - 1) + 1)]


class Busy:
    """Yields to the loop a few times per issue and remembers how many ran at once."""

    name = "busy"
    isolation = Isolation.INLINE

    def __init__(self, turns: int = 3, fail: dict[int, Exception] | None = None) -> None:
        self.turns = turns
        self.fail = fail or {}
        self.active = self.peak = 0
        self.seen: list[int] = []

    def select(self, issue: Issue) -> Priority | None:
        return Priority.LOW

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        self.active += 1
        self.peak = max(self.peak, self.active)
        self.seen.append(issue.number)
        try:
            for _ in range(self.turns):
                await asyncio.sleep(0)
            if issue.number in self.fail:
                raise self.fail[issue.number]
        finally:
            self.active -= 1
        return Plan(self.name, context.repo, issue.number, issue.updated_at)


def offline() -> GitHubClient:
    # Never contacted: the pages are given and the run is dry.
    return GitHubClient(base_url="http://127.0.0.1:9", token="t", clock=FakeClock())


def controller(strategy: Strategy = BALANCED, **options: object) -> AdaptiveConcurrencyController:
    return AdaptiveConcurrencyController(
        strategy=strategy,
        clock=FakeClock(),
        sampler=Calm(),
        **options,  # type: ignore[arg-type]
    )


async def run(processor: Busy, count: int, **engine_options: object) -> Engine:
    options = engine_options.pop("options", EngineOptions(dry_run=True))
    engine = Engine(
        offline(),
        "o/r",
        processor,
        options=options,  # type: ignore[arg-type]
        pages=pages(count),  # type: ignore[arg-type]
        **engine_options,  # type: ignore[arg-type]
    )
    await engine.run()
    return engine


async def test_a_forced_concurrency_is_exactly_the_work_in_flight() -> None:
    busy = Busy()
    engine = await run(busy, 50, options=EngineOptions(concurrency=3, dry_run=True))
    assert busy.peak == 3
    assert sorted(busy.seen) == list(range(1, 51))
    stats = engine.statistics()
    assert (stats.strategy, stats.limit, stats.hard_cap) == ("fixed", 3, None)


async def test_the_controllers_limit_bounds_the_work_in_flight() -> None:
    busy = Busy()
    ctl = controller(BALANCED.with_options(initial_limit=5, min_limit=1, max_limit=5))
    engine = await run(busy, 60, controller=ctl)
    assert busy.peak == 5
    assert engine.tally.processed == 60
    assert engine.statistics().completed == 60
    assert "limit=5" in repr(engine)


async def test_as_the_limit_grows_so_does_the_work_in_flight_and_no_further() -> None:
    busy = Busy()
    ctl = controller(BALANCED.with_options(initial_limit=5, min_limit=1))
    engine = await run(busy, 300, controller=ctl)
    # learned from completions (the fake clock's latencies)
    assert 5 < engine.worker.limit_peak < 300
    assert busy.peak <= engine.worker.limit_peak


async def test_the_hard_cap_follows_the_governor() -> None:
    busy = Busy()
    client = offline()
    caps: list[int | None] = []

    class Learning(Busy):
        async def process(self, issue: Issue, context: ProcessContext) -> Plan:
            caps.append(engine.worker.controller.limiter.hard_cap)
            if issue.number == 20:
                client.governor.set_unlimited()  # as warm_up does on a server without limits
            return await super().process(issue, context)

    ctl = controller()
    engine = Engine(
        client,
        "o/r",
        Learning(),
        options=EngineOptions(dry_run=True),
        controller=ctl,
        pages=pages(40),
    )  # type: ignore[arg-type]
    summary = await engine.run()
    assert caps[0] == 40  # github.com's allowance until the server says otherwise
    assert caps[-1] == 256
    assert summary.concurrency["hard_cap"] == 256
    assert busy.peak == 0


async def test_outcomes_feed_the_controller_and_the_summary_shows_it() -> None:
    busy = Busy(
        fail={3: ServerError("502 bad gateway", status=502), 4: ValueError("a processor bug")}
    )
    ctl = controller(BALANCED.with_options(window=0, algorithm="aimd"))
    once = MemoryQueue(retry=RetryPolicy(max_attempts=1))  # each failure is final at once
    options = EngineOptions(dry_run=True)
    engine = Engine(
        offline(), "o/r", busy, options=options, pages=pages(10), controller=ctl, queue=once
    )
    summary = await engine.run()
    stats = engine.statistics()
    assert stats.drops == 1  # the 5xx is overload; the processor's bug says nothing about load
    assert stats.completed == 10  # every completion is counted; only the 5xx is a drop
    assert engine.tally.failed == 2
    assert summary.concurrency["drops"] == 1
    assert summary.concurrency["strategy"] == "balanced"
    assert summary.to_dict()["concurrency"]["limit_peak"] >= summary.concurrency["limit"]


async def test_scaling_history_persists_so_a_restart_starts_where_it_ended() -> None:
    store = MemoryHistoryStore(ScalingHistory(limit=33))
    engine = await run(Busy(), 5, history=store)
    assert engine.statistics().limit == 33
    saved = store.load()
    assert saved is not None
    assert saved.limit == 33
    again = Engine(offline(), "o/r", Busy(), history=store)
    assert again.worker.controller.limit == 33


async def test_the_governors_cap_wins_over_a_remembered_limit() -> None:
    store = MemoryHistoryStore(ScalingHistory(limit=77))
    engine = await run(Busy(), 5, history=store)
    assert engine.statistics().limit == 40


async def test_a_failed_listing_cancels_the_work_in_flight_and_keeps_what_was_learned() -> None:
    async def broken() -> object:
        yield [issue(1), issue(2)]
        raise RuntimeError("listing broke")

    busy = Busy(turns=1000)
    engine = Engine(
        offline(),
        "o/r",
        busy,
        options=EngineOptions(dry_run=True),
        controller=controller(),
        pages=broken(),
    )  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="listing broke"):
        await engine.run()
    assert engine.worker.controller.limiter.in_flight == 0


def test_engine_options_choose_adaptive_unless_forced() -> None:
    assert EngineOptions().worker_options().adaptive
    assert not EngineOptions(concurrency=8).worker_options().adaptive
    with pytest.raises(ValueError, match="backlog"):
        EngineOptions(backlog=0)


def test_autoissue_run_keeps_scaling_history_per_host_and_processor(tmp_path: Path) -> None:
    from autoissue.cli._repos import RepoChoice  # noqa: PLC0415 - CLI, one test
    from autoissue.cli._run import RunSettings, history_name  # noqa: PLC0415 - CLI, one test

    settings = RunSettings(
        repos=RepoChoice(explicit=("o/r",)),
        base_url="https://ghe.example.com:8443/api/v3",
        token="t",
        app=None,
        processor="triage",
        options=EngineOptions(),
        state_dir=tmp_path,
        plan_out=None,
        progress=False,
        backend="memory://",
    )
    assert history_name(settings) == "ghe.example.com:8443:triage"


async def test_the_dispatcher_says_what_it_is_doing() -> None:
    engine = await run(Busy(), 3, options=EngineOptions(concurrency=2, dry_run=True))
    assert "started=3" in repr(engine.worker)


async def _dispatched(
    count: int,
    flush: Callable[[], Awaitable[None]],
    handled: list[str],
    everything: asyncio.Event,
) -> tuple[Dispatcher, MemoryQueue]:
    """A dispatcher over ``count`` queued items; ``everything`` is set once all were handled."""
    queue = MemoryQueue()
    await queue.put_many([Message(b"%d" % n) for n in range(count)])

    async def handle(lease: Lease) -> BaseException | None:
        handled.append(lease.id)
        await queue.ack([lease.id])
        if len(handled) == count:
            everything.set()
        return None

    dispatcher = Dispatcher(controller(Strategy.fixed(2)), queue, Work(handle, flush), batch=2)
    return dispatcher, queue


class Work:
    """A unit of work made of two functions: one to handle a lease, one to settle."""

    def __init__(
        self,
        handle: Callable[[Lease], Awaitable[BaseException | None]],
        flush: Callable[[], Awaitable[None]],
    ) -> None:
        self._handle, self._flush = handle, flush

    async def prepare(self, leases: list[Lease]) -> list[Lease]:
        return leases

    async def handle(self, lease: Lease) -> BaseException | None:
        return await self._handle(lease)

    async def refresh(self, lease_ids: list[str]) -> None:
        """Nothing beside the leases to extend."""

    async def flush(self) -> None:
        await self._flush()


async def test_claims_go_on_while_a_flush_is_under_way() -> None:
    handled: list[str] = []
    flushes: list[int] = []
    everything = asyncio.Event()

    async def slow_flush() -> None:
        flushes.append(len(handled))
        if len(flushes) == 1:
            await everything.wait()  # the first flush lasts until every item was handled

    dispatcher, queue = await _dispatched(10, slow_flush, handled, everything)

    async def finished() -> bool:
        return (await queue.statistics()).unfinished == 0

    await asyncio.wait_for(dispatcher.run(finished), 5)
    assert len(handled) == 10
    assert flushes[0] == 0
    assert len(flushes) >= 2  # what finished meanwhile was settled once the first let go


async def test_a_failed_flush_ends_the_dispatch_with_its_error() -> None:
    async def failing_flush() -> None:
        raise BackendUnavailableError("the state store is gone")

    dispatcher, _ = await _dispatched(4, failing_flush, [], asyncio.Event())

    async def never() -> bool:
        return False

    with pytest.raises(BackendUnavailableError, match="state store is gone"):
        await asyncio.wait_for(dispatcher.run(never), 5)


class Held:
    """Work that holds each lease until the test lets it go."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}

    async def prepare(self, leases: list[Lease]) -> list[Lease]:
        return leases

    async def handle(self, lease: Lease) -> BaseException | None:
        gate = self.gates.setdefault(lease.id, asyncio.Event())
        await gate.wait()
        return None

    async def refresh(self, lease_ids: list[str]) -> None:
        """Nothing beside the leases to extend."""

    async def flush(self) -> None:
        """Nothing to settle."""

    def release(self, count: int) -> None:
        for gate in [g for g in self.gates.values() if not g.is_set()][:count]:
            gate.set()


class CountingQueue(MemoryQueue):
    """A memory queue that remembers how many items each claim asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    async def claim_many(self, n: int, lease_s: float | None = None) -> list[Lease]:
        self.asked.append(n)
        return await super().claim_many(n, lease_s)


async def _settle_loop() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_claims_come_an_eighth_of_the_limit_at_a_time_and_as_many_wait_ready() -> None:
    queue, work = CountingQueue(), Held()
    await queue.put_many([Message(b"%d" % n) for n in range(100)])
    dispatcher = Dispatcher(controller(Strategy.fixed(16)), queue, work, poll_s=60)
    running = asyncio.create_task(dispatcher.run(lambda: asyncio.sleep(0, False)))
    await _settle_loop()
    # The limit's 16 at once; with work in flight, an eighth of it more is made ready.
    assert (queue.asked, dispatcher.in_flight) == ([16, 2], 16)
    work.release(1)  # its slot goes to a ready lease at once; one ready left: no claim yet
    await _settle_loop()
    assert (queue.asked, dispatcher.in_flight) == ([16, 2], 16)
    work.release(1)  # none ready left: the next eighth is claimed
    await _settle_loop()
    assert (queue.asked, dispatcher.in_flight) == ([16, 2, 2], 16)
    assert dispatcher.started == 18  # the limit's 16 and the two ready that took freed slots
    running.cancel()
    await dispatcher.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
