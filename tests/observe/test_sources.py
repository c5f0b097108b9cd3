from __future__ import annotations

from collections import Counter

from autoissue.engine import RunTally
from autoissue.engine._isolation import Planner
from autoissue.model import Priority
from autoissue.observe import Sources
from autoissue.observe._sources import TallySnapshot
from autoissue.pool import PoolConfig, WarmPool
from autoissue.queue import MemoryQueue
from autoissue.serve import WebhookStatistics


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


async def test_a_planner_that_started_no_pool_reads_as_absent() -> None:
    sources = Sources(pool=Planner())
    assert repr(sources) == "<Sources pool>"
    assert (await sources.read()).pool is None


class Receiver:
    """A webhook receiver as far as it is watched: its statistics, changed by hand."""

    def __init__(self) -> None:
        self.figures = WebhookStatistics()

    def statistics(self) -> WebhookStatistics:
        return self.figures


async def test_a_receivers_deliveries_and_the_sweeps_are_frozen_at_the_reading() -> None:
    receiver, swept = Receiver(), Counter({"acme/widgets": 1})
    sources = Sources(webhooks=receiver, sweeps=swept)
    assert repr(sources) == "<Sources webhooks sweeps>"
    receiver.figures = WebhookStatistics(received=2, accepted=1, failed_by={"unavailable": 1})
    reading = await sources.read()
    swept.update(["acme/widgets", "acme/gadgets"])
    assert reading.webhooks is not None
    assert (reading.webhooks.received, reading.webhooks.failed) == (2, 1)
    assert reading.sweeps == {"acme/widgets": 1}
    assert (await sources.read()).sweeps == {"acme/widgets": 2, "acme/gadgets": 1}
