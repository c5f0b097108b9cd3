from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autoissue import ConfigurationError
from autoissue.concurrency._guard import (
    GuardAction,
    PsutilSampler,
    ResourceGuard,
    ResourceReading,
    default_cpu_target,
)


class FixedSampler:
    """Hands out the readings it was given, repeating the last one."""

    def __init__(self, *readings: ResourceReading) -> None:
        self.readings = list(readings)

    def sample(self) -> ResourceReading:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def test_default_cpu_target_is_eighty_percent_of_the_machine() -> None:
    assert default_cpu_target() == pytest.approx(0.8 * (os.cpu_count() or 1) * 100)
    assert ResourceGuard(FixedSampler(ResourceReading(0, 0))).cpu_target == default_cpu_target()


def test_high_cpu_cuts_the_limit_in_proportion_but_at_most_by_half() -> None:
    guard = ResourceGuard(FixedSampler(ResourceReading(120.0, 0)), cpu_target=100.0)
    guard.sample()
    verdict = guard.verdict(60)
    assert verdict.action is GuardAction.CUT
    assert verdict.ceiling == 50
    assert verdict.reason == "cpu over budget"
    assert guard.verdict(60, ResourceReading(1000.0, 0)).ceiling == 30
    assert guard.cpu_percent == 120.0


def test_near_the_target_holds_and_below_is_ok() -> None:
    guard = ResourceGuard(FixedSampler(ResourceReading(95.0, 0)), cpu_target=100.0)
    assert guard.verdict(10).action is GuardAction.OK  # nothing sampled yet
    guard.sample()
    held = guard.verdict(40)
    assert (held.action, held.ceiling) == (GuardAction.HOLD, 40)
    fine = guard.verdict(40, ResourceReading(10.0, 0))
    assert (fine.action, fine.ceiling) == (GuardAction.OK, None)


def test_rss_over_budget_cuts() -> None:
    reading = ResourceReading(1.0, 300 * 2**20)
    guard = ResourceGuard(FixedSampler(reading), cpu_target=100.0, rss_budget=200 * 2**20)
    guard.sample()
    verdict = guard.verdict(30)
    assert verdict.action is GuardAction.CUT
    assert verdict.reason == "rss over budget"
    assert verdict.ceiling == 20
    assert guard.rss_bytes == reading.rss_bytes
    assert "rss=" in repr(guard)


async def test_sampling_in_a_thread_gives_the_same_reading() -> None:
    guard = ResourceGuard(FixedSampler(ResourceReading(5.0, 7)), cpu_target=100.0)
    assert await guard.sample_async(in_thread=True) == ResourceReading(5.0, 7)
    assert await guard.sample_async() == ResourceReading(5.0, 7)


def test_psutil_sampler_reads_this_process() -> None:
    reading = PsutilSampler().sample()
    assert reading.rss_bytes > 0
    assert reading.cpu_percent >= 0.0
    assert PsutilSampler(children=False).sample().rss_bytes > 0


def test_bad_target_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        ResourceGuard(FixedSampler(ResourceReading(0, 0)), cpu_target=0)


def test_psutil_sampler_counts_children() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        sampler = PsutilSampler()
        alone = PsutilSampler(children=False).sample().rss_bytes
        assert sampler.sample().rss_bytes > alone
        assert sampler.sample().rss_bytes > alone  # the child's Process object is reused
    finally:
        child.kill()
        child.wait()
        assert child.stdin is not None
        child.stdin.close()
    assert sampler.sample().rss_bytes > 0  # the child is gone: skipped, not an error


def test_psutil_sampler_survives_its_process_exiting() -> None:
    argv = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    child = subprocess.Popen(argv, stdin=subprocess.PIPE)
    sampler = PsutilSampler(child.pid)
    child.kill()
    child.wait()
    assert child.stdin is not None
    child.stdin.close()
    assert sampler.sample() == ResourceReading(0.0, 0)
