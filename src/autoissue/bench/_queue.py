"""The ``queue`` workload: claims+acks per second, single and batched, on each backend.

For each backend the queue is filled (untimed), then drained by one consumer: ``single``
claims and acks one item at a time, ``batched`` claims ``batch`` items in one call and acks
them in one call. Contenders take turns (A B A B …) over ``repeats`` rounds and the report
quotes medians, per BENCH.md. Every drain is checked: each item claimed and acked once.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoissue._exceptions import AutoIssueError, QueueError
from autoissue.bench._report import BenchReport, median
from autoissue.queue import Message, Queue, open_queue

logger = logging.getLogger(__name__)

MODES = ("single", "batched")
#: The goals from the queue issue, for batched mode.
GOALS = {"sqlite": 20_000.0, "redis": 10_000.0}


@dataclass(frozen=True, slots=True)
class QueueBenchConfig:
    """What to measure: ``items`` per drain, ``batch`` for batched mode, ``repeats`` rounds."""

    items: int = 20_000
    batch: int = 100
    repeats: int = 3
    redis_url: str = "redis://127.0.0.1:6379/0"
    backends: tuple[str, ...] = ("memory", "sqlite", "redis")

    @classmethod
    def quick(cls, **overrides: Any) -> QueueBenchConfig:
        """A small run that checks the bench works, not how fast (for CI)."""
        return cls(**{"items": 500, "batch": 50, "repeats": 1, **overrides})


async def _drain(queue: Queue, items: int, batch: int) -> float:
    await queue.put_many(Message(b"%08d" % i) for i in range(items))
    done = 0
    started = time.perf_counter()
    while leases := await queue.claim_many(batch, lease_s=60):
        done += await queue.ack([lease.id for lease in leases])
    seconds = time.perf_counter() - started
    if done != items:
        raise QueueError(f"the bench acked {done} of {items} items")
    return seconds


def _dsn(backend: str, folder: Path, config: QueueBenchConfig) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
    if backend == "redis":
        separator = "&" if "?" in config.redis_url else "?"
        return f"{config.redis_url}{separator}prefix=autoissue-bench:{uuid.uuid4().hex}"
    return "memory://"


async def _one_run(backend: str, mode: str, folder: Path, config: QueueBenchConfig) -> float:
    queue = await open_queue(_dsn(backend, folder, config))
    try:
        return await _drain(queue, config.items, 1 if mode == "single" else config.batch)
    finally:
        await _forget(queue)
        await queue.close()


async def _forget(queue: Queue) -> None:
    # Leave nothing behind on a shared Redis: delete this run's keys (and only them).
    client = getattr(queue, "client", None)
    prefix = getattr(queue, "prefix", None)
    if client is not None and prefix is not None:
        async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            await client.delete(key)


async def run_queue_bench(config: QueueBenchConfig) -> BenchReport:
    """Measure every backend in both modes, taking turns; return the report."""
    report = BenchReport("queue", params=_params(config))
    with tempfile.TemporaryDirectory(prefix="autoissue-bench-") as folder:
        session = _Session(config, Path(folder), report)
        for _ in range(config.repeats):
            for backend in config.backends:
                for mode in MODES:
                    await session.measure(backend, mode)
    report.results = [_result(key, runs, config) for key, runs in session.timings.items()]
    report.ratios = _ratios(report.results)
    return report


@dataclass
class _Session:
    config: QueueBenchConfig
    folder: Path
    report: BenchReport
    timings: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    async def measure(self, backend: str, mode: str) -> None:
        skipped = self.report.params["skipped"]
        if backend in skipped:
            return
        try:
            seconds = await _one_run(backend, mode, self.folder, self.config)
        except AutoIssueError as exc:
            # An unreachable Redis skips that backend (and says so) rather than the whole bench.
            logger.warning("queue bench: %s skipped: %s", backend, exc)
            skipped[backend] = str(exc)
            return
        self.timings.setdefault((backend, mode), []).append(seconds)


def _params(config: QueueBenchConfig) -> dict[str, Any]:
    return {
        "items": config.items,
        "batch": config.batch,
        "repeats": config.repeats,
        "backends": list(config.backends),
        "goals_batched_claims_acks_per_s": GOALS,
        "skipped": {},
    }


def _result(key: tuple[str, str], runs: list[float], config: QueueBenchConfig) -> dict[str, Any]:
    backend, mode = key
    seconds = median(runs)
    rate = config.items / seconds if seconds else 0.0
    result: dict[str, Any] = {
        "contender": f"{backend}-{mode}",
        "backend": backend,
        "mode": mode,
        "batch": 1 if mode == "single" else config.batch,
        "items": config.items,
        "seconds": round(seconds, 4),
        "claims_acks_per_s": round(rate, 1),
        "runs_per_s": [round(config.items / s, 1) for s in runs],
        "failed": 0,
        "lost": 0,
    }
    if mode == "batched" and backend in GOALS:
        result["goal_per_s"] = GOALS[backend]
        result["meets_goal"] = rate >= GOALS[backend]
    return result


def _ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    rates = {r["contender"]: r["claims_acks_per_s"] for r in results}
    ratios = {}
    for backend in ("memory", "sqlite", "redis"):
        single, batched = rates.get(f"{backend}-single"), rates.get(f"{backend}-batched")
        if single and batched:
            ratios[f"{backend}-batched/{backend}-single"] = round(batched / single, 2)
    if rates.get("sqlite-batched") and rates.get("redis-batched"):
        ratios["sqlite-batched/redis-batched"] = round(
            rates["sqlite-batched"] / rates["redis-batched"], 2
        )
    return ratios
