from __future__ import annotations

from autoissue.engine import RunTally
from autoissue.model import Priority
from autoissue.observe import Sources
from autoissue.observe._sources import TallySnapshot
from autoissue.pool import PoolConfig, WarmPool
from autoissue.queue import MemoryQueue


async def test_a_reading_holds_only_what_was_registered() -> None:
    sources = Sources()
    assert repr(sources) == "<Sources none>"
    reading = await sources.read()
    assert reading.tally is None
    assert reading.client is None
    assert reading.queue is None
    assert reading.pool is None
    assert reading.process.rss_bytes > 0
    assert reading.process.cpu_seconds > 0


async def test_a_live_tally_is_frozen_at_the_reading() -> None:
    tally = RunTally(listed=5, processed=2)
    tally.skip("closed")
    sources = Sources(tally=tally, labels={"repo": "o/r"})
    reading = await sources.read()
    tally.processed += 1
    assert reading.tally == TallySnapshot(listed=5, processed=2, skipped={"closed": 1})
    assert reading.tally.done == 3
    assert dict(reading.labels) == {"repo": "o/r"}


async def test_the_queue_is_read_with_an_await() -> None:
    queue = MemoryQueue()
    await queue.put(b"a", priority=Priority.HIGH)
    await queue.put(b"b", priority=Priority.HIGH)
    await queue.put(b"c", priority=Priority.LOW)
    sources = Sources(queue=queue)
    assert repr(sources) == "<Sources queue>"
    stats = (await sources.read()).queue
    assert stats is not None
    assert stats.depth[Priority.HIGH] == 2
    assert stats.waiting == 3


async def test_a_pool_that_is_not_started_reads_as_absent() -> None:
    pool = WarmPool(PoolConfig(min_workers=0, max_workers=1))
    assert (await Sources(pool=pool).read()).pool is None
