"""The bounded buffer: budgets by items and bytes, pushback, close and fail."""

from __future__ import annotations

import asyncio

import pytest

from autoissue.stream import Budget
from autoissue.stream._buffer import Buffer, BufferClosedError
from tests.stream._helpers import settle

pytestmark = pytest.mark.timeout(10)


async def test_items_come_out_in_order_and_are_counted() -> None:
    buffer: Buffer[int] = Buffer(Budget(items=4), name="numbers")
    for number in range(3):
        await buffer.put(number)
    assert [await buffer.get() for _ in range(3)] == [0, 1, 2]
    stats = buffer.statistics()
    assert (stats.name, stats.items, stats.peak_items) == ("numbers", 0, 3)
    assert (stats.put_total, stats.got_total, stats.put_waits) == (3, 3, 0)
    assert repr(buffer) == "<Buffer numbers items=0/4 bytes=0 closed=False>"


async def test_a_full_buffer_makes_the_producer_wait_until_an_item_is_taken() -> None:
    buffer: Buffer[int] = Buffer(Budget(items=2))
    await buffer.put(1)
    await buffer.put(2)
    third = asyncio.create_task(buffer.put(3))
    await settle()
    assert not third.done()
    assert len(buffer) == 2
    assert await buffer.get() == 1
    await settle()
    assert third.done()
    assert buffer.statistics().put_waits == 1
    assert [await buffer.get(), await buffer.get()] == [2, 3]


async def test_the_byte_budget_holds_back_what_would_not_fit() -> None:
    buffer: Buffer[bytes] = Buffer(Budget(items=10, bytes=10, size=len))
    await buffer.put(b"123456")
    assert not buffer.fits(5)
    waiting = asyncio.create_task(buffer.put(b"12345"))
    await settle()
    assert not waiting.done()
    await buffer.get()
    await settle()
    assert waiting.done()
    stats = buffer.statistics()
    assert (stats.bytes, stats.peak_bytes) == (5, 6)


async def test_one_item_bigger_than_the_byte_budget_passes_alone() -> None:
    buffer: Buffer[bytes] = Buffer(Budget(items=10, bytes=10, size=len))
    await buffer.put(b"x" * 100)  # would wait forever otherwise
    assert buffer.statistics().bytes == 100
    assert not buffer.fits(1)


async def test_close_lets_consumers_take_what_is_left_then_ends_them() -> None:
    buffer: Buffer[int] = Buffer()
    await buffer.put(1)
    buffer.close()
    assert [item async for item in buffer] == [1]
    assert buffer.closed
    with pytest.raises(BufferClosedError):
        await buffer.put(2)


async def test_close_wakes_waiting_consumers_and_producers() -> None:
    full: Buffer[int] = Buffer(Budget(items=1))
    await full.put(1)
    producer = asyncio.create_task(full.put(2))
    empty: Buffer[int] = Buffer()
    consumer = asyncio.create_task(empty.get())
    await settle()
    full.close()
    empty.close()
    with pytest.raises(BufferClosedError):
        await producer
    with pytest.raises(StopAsyncIteration):
        await consumer


async def test_fail_drops_what_is_left_and_raises_in_consumers() -> None:
    buffer: Buffer[int] = Buffer()
    await buffer.put(1)
    waiting: Buffer[int] = Buffer()
    consumer = asyncio.create_task(waiting.get())
    await settle()
    error = OSError("upstream broke")
    buffer.fail(error)
    waiting.fail(error)
    with pytest.raises(OSError, match="upstream broke"):
        await buffer.get()
    with pytest.raises(OSError, match="upstream broke"):
        await consumer
    assert len(buffer) == 0


async def test_a_cancelled_consumer_passes_its_wake_up_to_the_next() -> None:
    buffer: Buffer[int] = Buffer()
    first = asyncio.create_task(buffer.get())
    second = asyncio.create_task(buffer.get())
    await settle()
    await buffer.put(7)  # wakes ``first``…
    first.cancel()  # …which is cancelled before it runs
    await settle()
    assert first.cancelled()
    assert await second == 7


@pytest.mark.parametrize(
    "kwargs",
    [{"items": 0}, {"bytes": 10}, {"bytes": 0, "size": len}],
)
def test_budgets_that_cannot_be_kept_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"buffer must hold|byte budget"):
        Budget(**kwargs)  # type: ignore[arg-type]


async def test_a_cancelled_lone_consumer_leaves_the_buffer_usable() -> None:
    buffer: Buffer[int] = Buffer()
    alone = asyncio.create_task(buffer.get())
    await settle()
    alone.cancel()
    await settle()
    await buffer.put(1)
    assert await buffer.get() == 1
