"""Stage building blocks on their own: mapped, filtered, flattened, concurrent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

import pytest

from autoissue.stream import Budget, concurrent
from autoissue.stream._buffer import Buffer
from autoissue.stream._stages import filtered, flattened, mapped
from tests.stream._helpers import Source, settle

pytestmark = pytest.mark.timeout(10)


async def numbers(*items: int) -> AsyncGenerator[int, None]:
    for item in items:
        yield item


async def test_flattened_filtered_and_mapped_compose() -> None:
    pages = Source([[1, 2, 3], [], [4, 5]])
    items = mapped(lambda n: n * 10)(filtered(lambda n: n % 2 == 1)(flattened()(pages())))
    assert [item async for item in items] == [10, 30, 50]
    assert pages.closed


class Calls:
    """A function for ``concurrent``: each call waits for its own release; tracks how many run."""

    def __init__(self) -> None:
        self.release: dict[int, asyncio.Event] = {}
        self.running = self.most = 0
        self.cancelled: list[int] = []

    async def __call__(self, item: int) -> int:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.release.setdefault(item, asyncio.Event()).wait()
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        finally:
            self.running -= 1
        if item < 0:
            raise ValueError(f"bad item {item}")
        return item * 2

    def done(self, *items: int) -> None:
        for item in items:
            self.release.setdefault(item, asyncio.Event()).set()


async def collect(stage: AsyncGenerator[int, None], into: list[int]) -> None:
    async with aclosing(stage) as results:
        async for result in results:
            into.append(result)


async def test_concurrent_runs_at_most_limit_and_yields_in_completion_order() -> None:
    calls, results = Calls(), []
    task = asyncio.create_task(collect(concurrent(calls, limit=2)(numbers(1, 2, 3, 4)), results))
    await settle()
    assert (calls.running, sorted(calls.release)) == (2, [1, 2])
    calls.done(2)
    await settle()
    assert results == [4]
    assert sorted(calls.release) == [1, 2, 3]  # a freed slot admits the next item
    calls.done(3, 4, 1)
    await task
    assert sorted(results) == [2, 4, 6, 8]
    assert results[0] == 4
    assert calls.most == 2


async def test_a_callable_limit_is_read_before_each_admission() -> None:
    calls, results, limit = Calls(), [], [1]
    task = asyncio.create_task(
        collect(concurrent(calls, limit=lambda: limit[0])(numbers(1, 2, 3, 4)), results)
    )
    await settle()
    assert calls.running == 1
    limit[0] = 3
    calls.done(1)
    await settle()
    assert calls.running == 3
    calls.done(2, 3, 4)
    await task
    assert sorted(results) == [2, 4, 6, 8]


async def test_an_error_ends_the_stage_and_cancels_the_calls_in_flight() -> None:
    calls, results = Calls(), []
    task = asyncio.create_task(collect(concurrent(calls, limit=3)(numbers(1, -1, 3)), results))
    await settle()
    calls.done(-1)
    with pytest.raises(ValueError, match="bad item -1"):
        await task
    assert sorted(calls.cancelled) == [1, 3]
    assert calls.running == 0


async def test_closing_the_stage_cancels_the_calls_in_flight_and_the_pull() -> None:
    calls = Calls()
    upstream: Buffer[int] = Buffer(Budget(items=8))
    for item in (1, 2):
        await upstream.put(item)
    stage = concurrent(calls, limit=4)(upstream)
    first = asyncio.ensure_future(anext(stage))
    await settle()
    assert calls.running == 2  # and a pull waits on the empty upstream
    first.cancel()
    await settle()
    await stage.aclose()
    assert sorted(calls.cancelled) == [1, 2]
    assert upstream.statistics().got_total == 2


async def test_calls_still_running_when_upstream_ends_are_waited_for() -> None:
    calls, results = Calls(), []
    task = asyncio.create_task(collect(concurrent(calls, limit=4)(numbers(1, 2)), results))
    await settle()
    assert calls.running == 2  # and upstream has already said it has nothing more
    calls.done(1, 2)
    await task
    assert sorted(results) == [2, 4]
