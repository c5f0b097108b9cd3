from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType

import psutil
import pytest

from autoissue.concurrency import ControllerStatistics
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.github import ClientStatistics, GovernorStatistics, Mode, RateLimitInfo
from autoissue.github._health import EndpointStatistics
from autoissue.model import Priority
from autoissue.observe._sources import ProcessStatistics, Reading, TallySnapshot
from autoissue.pool import PoolStatistics, RecycleReason, WorkerState
from autoissue.queue import QueueStatistics
from autoissue.serve import WebhookStatistics

ISSUES_ENDPOINT = "GET /repos/{owner}/{repo}/issues"


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[Emulator]:
    """An emulator slow enough (10 ms a request) for a run to last about a second."""
    config = EmulatorConfig(repo="acme/widgets", issues=400, seed=5, latency_ms=10)
    with run_in_thread(config) as running:
        yield running


@pytest.fixture(scope="module")
def fast_emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo="acme/widgets", issues=120, seed=2)) as running:
        yield running


def controller_statistics(**changes: object) -> ControllerStatistics:
    figures: dict[str, object] = {
        "strategy": "balanced",
        "limit": 12,
        "in_flight": 9,
        "waiting": 3,
        "hard_cap": 40,
        "ceiling": None,
        "completed": 250,
        "drops": 2,
        "throughput": 100.0,
        "latency_p50": 0.04,
        "latency_p95": 0.12,
        "latency_p99": 0.2,
        "predicted_optimum": 17.5,
        "fit": None,
        "cpu_percent": 30.0,
        "rss_bytes": 1 << 26,
        "decisions": (),
    }
    figures.update(changes)
    return ControllerStatistics(**figures)  # type: ignore[arg-type]


def full_reading(**changes: object) -> Reading:
    """A reading with every source present: real snapshot types, figures chosen by hand."""
    endpoint = EndpointStatistics(
        requests=40,
        statuses=MappingProxyType({200: 38, 502: 2}),
        retries=2,
        failures=1,
        cache_hits=5,
        latency_ms=MappingProxyType({"p50": 20.0, "p95": 80.0, "p99": 120.0}),
    )
    parts: dict[str, object] = {
        "at": 100.0,
        "wall": 1.7e9,
        "process": ProcessStatistics.of(psutil.Process()),
        "labels": MappingProxyType({"repo": "acme/widgets", "processor": "triage"}),
        # Consistent with the queue below: 239 enqueued, 203 settled, 36 waiting or leased.
        "tally": TallySnapshot(
            listed=286,
            enqueued=239,
            processed=200,
            failed=3,
            writes=180,
            skipped=MappingProxyType({"closed": 40, "pull request": 7}),
        ),
        "client": ClientStatistics(
            requests=40,
            retries=2,
            connection_errors=1,
            cache_hits=5,
            by_status=MappingProxyType({200: 38, 502: 2}),
            endpoints=MappingProxyType({ISSUES_ENDPOINT: endpoint}),
        ),
        "governor": GovernorStatistics(
            mode=Mode.LIMITED,
            in_flight=4,
            max_concurrent=40,
            budget=MappingProxyType({"core": RateLimitInfo(5000, 4321, 679, 1.7e9 + 900)}),
            waits=MappingProxyType({"points": 3}),
            waited_s=MappingProxyType({"points": 1.5}),
            paused_until=0.0,
        ),
        "controller": controller_statistics(),
        "queue": QueueStatistics(
            depth={Priority.CRITICAL: 1, Priority.HIGH: 4, Priority.MEDIUM: 20, Priority.LOW: 0},
            delayed=2,
            in_flight=9,
            retrying=1,
            dead_letters=1,
            enqueued=300,
            claimed=270,
            acked=260,
            retried=5,
            dead_lettered=1,
            wait_ms={"p50": 10.0, "p95": 30.0, "p99": 50.0},
        ),
        "pool": PoolStatistics(
            workers=MappingProxyType({WorkerState.IDLE: 2, WorkerState.BUSY: 1}),
            limit=4,
            queued=3,
            submitted=50,
            completed=45,
            failed=1,
            timed_out=1,
            cancelled=0,
            crashed=1,
            crashes=1,
            spawned=5,
            recycles=MappingProxyType({RecycleReason.TASKS: 2}),
            queue_wait_p50_s=0.001,
            queue_wait_p99_s=0.01,
            warm_start_p50_s=0.005,
            warm_start_max_s=0.02,
        ),
        # One in flight: 12 received, 11 answered.
        "webhooks": WebhookStatistics(
            received=12,
            accepted=5,
            duplicate=1,
            enqueued=4,
            rejected_by=MappingProxyType({"signature": 2}),
            ignored_by=MappingProxyType({"ping": 1, "action": 1}),
            failed_by=MappingProxyType({"unavailable": 1}),
            last_delivery_at=1.7e9 - 30,
        ),
        "sweeps": MappingProxyType({"acme/widgets": 3, "acme/gadgets": 2}),
    }
    parts.update(changes)
    return Reading(**parts)  # type: ignore[arg-type]
