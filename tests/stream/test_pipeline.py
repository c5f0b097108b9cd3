"""Pipelines: bounded memory, pushback to the source, failures, stopping and draining."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from autoissue._clock import FakeClock
from autoissue.stream import Budget, Pipeline, RssWatermark, Step, concurrent
from autoissue.stream._buffer import Buffer
from autoissue.stream._pipeline import PipelineState
from autoissue.stream._stages import filtered, flattened, mapped
from tests.stream._helpers import Source, settle

pytestmark = pytest.mark.timeout(10)


async def test_pages_flow_through_every_stage_to_the_sink() -> None:
    source = Source([[1, 2, 3], [4, 5], [6]])
    got: list[int] = []

    async def double(n: int) -> int:
        return n * 2

    pipeline = Pipeline(
        source(),
        [
            Step(name="issues", stage=flattened()),
            Step(name="select", stage=filtered(lambda n: n != 4)),
            Step(name="dispatch", stage=concurrent(double, limit=3)),
            Step(name="tag", stage=mapped(lambda n: n + 1)),
        ],
    )
    assert await pipeline.run(got.append) == 5
    assert sorted(got) == [3, 5, 7, 11, 13]
    stats = pipeline.statistics()
    assert stats.state is PipelineState.FINISHED
    assert [buffer.name for buffer in stats.buffers] == [
        "intake",
        "issues",
        "select",
        "dispatch",
        "tag",
    ]
    assert all(buffer.closed for buffer in stats.buffers)
    assert source.closed
    assert repr(pipeline) == (
        "<Pipeline finished steps=issues,select,dispatch,tag held=0 delivered=5>"
    )


class Gate:
    """An async stage function held until released: the slow processor."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.started = 0
        self.finished = 0
        self.cancelled = 0

    async def __call__(self, item: int) -> int:
        self.started += 1
        try:
            await self.open.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        return item


async def test_a_blocked_stage_holds_the_source_back_within_the_budgets() -> None:
    source, gate = Source(range(1_000)), Gate()
    pipeline = Pipeline(
        source(),
        [Step(name="dispatch", stage=concurrent(gate, limit=4), budget=Budget(items=3))],
        intake=Budget(items=5),
    )
    run = asyncio.create_task(pipeline.run())
    await settle(50)
    # 4 in flight, 5 waiting in the intake buffer, 1 pulled by the next pull, 1 in hand.
    assert gate.started == 4
    assert source.pulled <= 4 + 5 + 2
    assert pipeline.statistics().buffers[0].put_waits >= 1
    gate.open.set()
    assert await run == 1_000
    assert max(buffer.peak_items for buffer in pipeline.statistics().buffers) <= 5


async def test_the_byte_budget_bounds_what_a_buffer_holds() -> None:
    source, gate = Source([b"x" * 400] * 50), Gate()
    budget = Budget(items=100, bytes=1000, size=len)
    pipeline = Pipeline(
        source(),
        [
            Step(name="copy", stage=mapped(bytes), budget=budget),
            Step(name="slow", stage=concurrent(gate, limit=1)),
        ],
    )
    run = asyncio.create_task(pipeline.run())
    await settle(50)
    assert pipeline.statistics().buffers[1].bytes <= 1000
    gate.open.set()
    assert await run == 50
    assert pipeline.statistics().buffers[1].peak_bytes == 800


async def test_a_failing_stage_fails_the_run_and_closes_every_generator() -> None:
    source = Source(range(100))
    closed: list[str] = []

    async def explode(items: AsyncIterator[int]) -> AsyncGenerator[int, None]:
        try:
            async for item in items:
                if item == 3:
                    raise ValueError("bad issue 3")
                yield item
        finally:
            closed.append("explode")

    pipeline = Pipeline(source(), [Step(name="explode", stage=explode)])
    with pytest.raises(ValueError, match="bad issue 3"):
        await pipeline.run()
    assert pipeline.state is PipelineState.FAILED
    assert closed == ["explode"]
    assert source.closed


async def test_a_failing_source_fails_the_run() -> None:
    source = Source(range(10), fail_after=2)
    pipeline = Pipeline(source(), [Step(name="same", stage=mapped(int))])
    with pytest.raises(OSError, match="source broke"):
        await pipeline.run()
    assert source.closed
    assert pipeline.statistics().buffers[0].items == 0  # a failure drops what was buffered


async def test_stop_closes_the_intake_and_delivers_what_is_inside() -> None:
    source, gate = Source(range(1_000)), Gate()
    got: list[int] = []
    pipeline = Pipeline(
        source(), [Step(name="work", stage=concurrent(gate, limit=2))], intake=Budget(items=3)
    )
    run = asyncio.create_task(pipeline.run(got.append))
    await settle(50)
    pipeline.stop()
    assert pipeline.state is PipelineState.DRAINING
    gate.open.set()
    delivered = await run
    assert source.closed
    assert delivered == len(got) == gate.finished
    assert 2 <= delivered <= 2 + 3 + 1  # what was in flight and buffered, nothing more
    assert gate.cancelled == 0
    assert pipeline.state is PipelineState.FINISHED


async def test_a_source_that_is_not_a_generator_is_read_to_its_end() -> None:
    source: Buffer[int] = Buffer(Budget(items=8))
    for item in range(5):
        await source.put(item)
    source.close()
    got: list[int] = []
    assert await Pipeline(source, [Step(name="same", stage=mapped(int))]).run(got.append) == 5
    assert got == [0, 1, 2, 3, 4]


async def test_stop_before_run_delivers_nothing() -> None:
    source = Source(range(10))
    pipeline = Pipeline(source(), [])
    pipeline.stop()
    assert await pipeline.run() == 0
    assert source.pulled == 0
    with pytest.raises(RuntimeError, match="runs once"):
        await pipeline.run()


async def test_cancelling_the_run_drains_the_work_in_flight_then_cancels() -> None:
    source, gate = Source(range(1_000)), Gate()
    got: list[int] = []
    pipeline = Pipeline(
        source(), [Step(name="work", stage=concurrent(gate, limit=3))], intake=Budget(items=2)
    )
    run = asyncio.create_task(pipeline.run(got.append))
    await settle(50)
    run.cancel()  # Ctrl-C
    await settle(50)
    assert pipeline.state is PipelineState.CANCELLED
    assert source.closed  # no new intake
    gate.open.set()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert len(got) == gate.finished >= 3
    assert gate.cancelled == 0


async def test_a_drain_that_outlasts_its_timeout_cancels_what_is_left() -> None:
    source, gate = Source(range(100)), Gate()
    pipeline = Pipeline(
        source(), [Step(name="work", stage=concurrent(gate, limit=3))], drain_timeout=0.0
    )
    run = asyncio.create_task(pipeline.run())
    await settle(50)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert gate.cancelled == 3
    assert gate.finished == 0


async def test_the_watermark_pauses_intake_until_memory_falls_below_the_low_mark() -> None:
    rss, clock = [100], FakeClock()
    watermark = RssWatermark(
        high=1000,
        low=500,
        interval=1.0,
        max_pause=None,
        sample=lambda: rss[0],
        clock=clock,
        monotonic=clock.time,
    )
    source = Source(range(10))

    async def grow(items: AsyncIterator[int]) -> AsyncGenerator[int, None]:
        async for item in items:
            if item == 1:
                rss[0] = 2000  # the process grew while this item was handled
                clock.advance(1.0)  # and the next admission reads the RSS again
            yield item

    pipeline = Pipeline(
        source(), [Step(name="grow", stage=grow)], intake=Budget(items=1), watermark=watermark
    )
    run = asyncio.create_task(pipeline.run())
    await settle(20)
    pulled = source.pulled
    assert watermark.paused
    await settle(20)
    assert source.pulled == pulled < 10  # nothing more while paused
    rss[0] = 400
    assert await run == 10
    stats = pipeline.statistics().watermark
    assert stats is not None
    assert (stats.pauses, stats.paused, stats.peak_rss) == (1, False, 2000)
    assert stats.paused_seconds >= 20.0
