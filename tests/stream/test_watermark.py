"""The RSS watermark: hysteresis between two marks, reads paced by the interval."""

from __future__ import annotations

import asyncio

import pytest

from autoissue._clock import FakeClock
from autoissue.stream import RssWatermark
from autoissue.stream._watermark import process_rss

pytestmark = pytest.mark.timeout(10)


class Readings:
    """A sampler that returns scripted RSS values, the last one for ever after."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


async def test_admit_waits_above_high_until_below_low_not_just_below_high() -> None:
    clock = FakeClock()
    readings = Readings(1500, 1200, 900, 700, 400)
    watermark = RssWatermark(
        high=1000, low=500, interval=0.5, sample=readings, clock=clock, monotonic=clock.time
    )
    await watermark.admit()
    assert not watermark.paused
    assert clock.slept == [0.5] * 4  # 1200, 900 and 700 are not below the low mark
    stats = watermark.statistics()
    assert (stats.pauses, stats.samples, stats.rss, stats.peak_rss) == (1, 5, 400, 1500)
    assert stats.paused_seconds == pytest.approx(2.0)
    assert repr(watermark) == "<RssWatermark open rss=400 high=1000 low=500>"


async def test_rss_is_read_at_most_once_per_interval_while_open() -> None:
    clock = FakeClock()
    readings = Readings(100)
    watermark = RssWatermark(
        high=1000, interval=1.0, sample=readings, clock=clock, monotonic=clock.time
    )
    for _ in range(100):
        await watermark.admit()
    assert readings.reads == 1
    clock.advance(1.0)
    await watermark.admit()
    assert readings.reads == 2
    assert watermark.low == 900


async def test_between_the_marks_the_state_does_not_change() -> None:
    readings = Readings(1100, 950, 950)
    watermark = RssWatermark(high=1000, low=900, sample=readings)
    watermark.read()
    assert watermark.paused
    watermark.read()
    assert watermark.paused  # 950 is not below 900
    blocked = asyncio.create_task(watermark.admit())
    await asyncio.sleep(0)
    assert not blocked.done()
    blocked.cancel()


@pytest.mark.parametrize(
    ("high", "low", "interval"), [(100, 200, 1.0), (100, 0, 1.0), (100, 50, 0.0)]
)
def test_marks_that_make_no_sense_are_refused(high: int, low: int, interval: float) -> None:
    with pytest.raises(ValueError, match="marks must satisfy"):
        RssWatermark(high=high, low=low, interval=interval)


def test_the_default_sampler_reads_this_process() -> None:
    assert process_rss() > 10 * 2**20


async def test_a_pause_that_frees_nothing_ends_and_raises_the_marks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    readings = Readings(1500)  # held by something intake does not control
    watermark = RssWatermark(
        high=1000,
        low=800,
        interval=1.0,
        max_pause=5.0,
        sample=readings,
        clock=clock,
        monotonic=clock.time,
    )
    await watermark.admit()
    assert clock.slept == [1.0] * 5
    assert (watermark.low, watermark.high, watermark.paused) == (1500, 1700, False)
    assert watermark.statistics().rearmed == 1
    assert "held elsewhere" in caplog.text
    clock.advance(1.0)
    await watermark.admit()  # 1500 is under the new high mark
    assert watermark.statistics().pauses == 1
