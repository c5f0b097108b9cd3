"""The latency model and injected faults, on a fake clock."""

from __future__ import annotations

import statistics

import aiohttp
import pytest

from autoissue.emulator import FakeClock
from autoissue.emulator._latency import Fault, LatencyModel

from .conftest import Api, Start

REPO = "/repos/acme/widgets"


def test_zero_latency_never_sleeps_and_no_faults_draws_nothing() -> None:
    model = LatencyModel(median_ms=0, capacity=0, faults=0, seed=1)
    assert model.delay(500) == 0.0
    assert model.fault() is None


def test_log_normal_around_the_median_plus_queueing() -> None:
    model = LatencyModel(median_ms=200, capacity=0, faults=0, seed=1)
    samples = [model.delay(1) for _ in range(4000)]
    assert 0.18 < statistics.median(samples) < 0.22
    assert 0.02 < sum(sample > 1.0 for sample in samples) / len(samples) < 0.08
    queued = LatencyModel(median_ms=200, capacity=10, faults=0, seed=1)
    plain = LatencyModel(median_ms=200, capacity=10, faults=0, seed=1)
    assert queued.delay(30) - plain.delay(10) == pytest.approx(0.2 * 20 / 10)


def test_faults_at_rate_one_and_live_configuration() -> None:
    model = LatencyModel(median_ms=0, capacity=0, faults=1.0, seed=3)
    kinds = [model.fault() for _ in range(400)]
    assert None not in kinds
    assert set(kinds) == set(Fault)
    assert model.slow_delay() > 0
    model.configure(latency_ms=50, capacity=5, faults=0.0)
    assert model.settings() == {"latency_ms": 50, "capacity": 5, "faults": 0.0}
    assert model.fault() is None
    assert repr(model).startswith("LatencyModel(median_ms=50")


async def test_latency_sleeps_on_the_clock_but_not_for_admin(start: Start, api: Api) -> None:
    clock = FakeClock()
    emulator = await start(clock=clock, latency_ms=100)
    for _ in range(20):
        status, _, _ = await api("GET", f"{emulator.base_url}{REPO}/issues/1")
        assert status == 200
    assert len(clock.slept) == 20
    assert 0.03 < statistics.median(clock.slept) < 0.3
    await api("GET", f"{emulator.base_url}/_emulator/stats")
    assert len(clock.slept) == 20


async def test_faults_at_rate_one_fail_every_request(start: Start, api: Api) -> None:
    clock = FakeClock()
    emulator = await start(clock=clock, faults=1.0, seed=5)
    outcomes = []
    for number in range(1, 41):
        try:
            status, _, _ = await api(
                "POST", f"{emulator.base_url}{REPO}/issues/{number}/labels", json=["x"]
            )
            outcomes.append(status)
        except aiohttp.ServerDisconnectedError:  # the reset
            outcomes.append(0)
    assert {502, 503, 0} <= set(outcomes)
    assert set(outcomes) <= {200, 502, 503, 0}  # 200: a slow fault still answers
    stats = emulator.stats()
    assert stats["faults_injected"] == 40
    assert stats["requests_total"] == 40
    resets = sum(
        stats["requests"]["POST /repos/{owner}/{repo}/issues/{n}/labels"].get(k, 0)
        for k in ("reset",)
    )
    assert resets == outcomes.count(0)
    assert clock.slept  # slow faults sleep even with latency off
    labelled = {
        item["number"] for item in emulator.state()["repos"][0]["issues"] if "x" in item["labels"]
    }
    # 502 and reset strike after the write: those issues carry the label; 503 strikes before.
    assert len(labelled) == outcomes.count(502) + outcomes.count(0) + outcomes.count(200)
