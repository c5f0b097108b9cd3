"""The ``scaling`` workload: latency-bound work at a forced concurrency N (BENCH.md).

Each issue costs exactly ``wait_s`` (1.0 s) of waiting in its processor and no CPU: the
workload's defined cost, standing for work that only waits (an API elsewhere, a model
server). Everything around the wait is the real engine - the emulator's issue list paged
through the client, the selector, the bounded work queue and the dispatcher under a limiter
forced to N - so what the efficiency measures is the engine's overhead at width N.

For each N, ``waves`` x N issues are admitted (the rest of the list is declined by the
processor, so every point's work is a whole number of waves) and

    X(N) = issues processed / seconds of the run,   efficiency(N) = X(N) / (N * X(1)).

Levels take turns within each round (1, 10, …, 1000, then again), and the report quotes the
median X(N) over ``repeats`` rounds. Plans carry no action, so nothing is written back.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import Any

from autoissue import _runtime
from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._report import BenchReport, median
from autoissue.engine import Engine, EngineOptions, Selector
from autoissue.github import GitHubClient
from autoissue.model import Issue, Plan, Priority
from autoissue.processors import Isolation, ProcessContext

logger = logging.getLogger(__name__)

REPO = "acme/widgets"
TOKEN = "bench-token"  # noqa: S105 - the emulator's stand-in, not a secret
#: Goals from the issue: efficiency at these levels.
GOALS = {100: 0.95, 1000: 0.9}
# About 60% of the emulator's seeded items are open issues; size the repository with margin.
_ELIGIBLE_SHARE = 0.5


def instant_emulator_options(repo: str, open_issues: int, seed: int) -> dict[str, Any]:
    """An emulator with room for ``open_issues`` open issues, answering at once, without limits."""
    issues = math.ceil(open_issues / _ELIGIBLE_SHARE) + 100
    return {
        "repo": repo,
        "issues": issues,
        "seed": seed,
        "latency_ms": 0.0,
        "faults": 0.0,
        "limits": "none",
    }


@dataclass(frozen=True, kw_only=True)
class ScalingBenchConfig:
    """The levels measured, the wait per issue, waves of N issues per level, rounds."""

    levels: tuple[int, ...] = (1, 10, 25, 50, 100, 250, 500, 1000)
    wait_s: float = 1.0
    waves: int = 3
    repeats: int = 3
    seed: int = 1

    @classmethod
    def quick(cls, **overrides: Any) -> ScalingBenchConfig:
        """A small run that checks the bench works, not how well it scales (for CI)."""
        return cls(**{"levels": (1, 10, 50), "wait_s": 0.2, "waves": 2, "repeats": 1, **overrides})

    def emulator_options(self) -> dict[str, Any]:
        """An emulator with enough open issues for the widest level, answering at once."""
        return instant_emulator_options(REPO, self.waves * max(self.levels), self.seed)


class Waiting:
    """Admits the first ``quota`` open issues, then waits ``wait_s`` on each; plans nothing."""

    name = "bench-wait"
    isolation = Isolation.INLINE

    def __init__(self, wait_s: float, quota: int) -> None:
        self.wait_s = wait_s
        self.quota = quota

    def __repr__(self) -> str:
        return f"<Waiting {self.wait_s}s quota={self.quota}>"

    def select(self, issue: Issue) -> Priority | None:
        """Admit while the quota lasts, so each level's work is whole waves."""
        if self.quota <= 0:
            return None
        self.quota -= 1
        return Priority.LOW

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """Wait, and plan nothing: the cost is the wait alone."""
        await asyncio.sleep(self.wait_s)
        return Plan(self.name, context.repo, issue.number, issue.updated_at)


async def measure_level(base_url: str, level: int, config: ScalingBenchConfig) -> dict[str, Any]:
    """One run at a forced concurrency ``level``: issues processed and seconds taken."""
    processor = Waiting(config.wait_s, config.waves * level)
    selector = Selector(processor, skip_labels=frozenset(), skip_locked=False)
    async with GitHubClient(base_url=base_url, token=TOKEN) as client:
        await client.warm_up()
        options = EngineOptions(concurrency=level)
        summary = await Engine(client, REPO, processor, options=options, selector=selector).run()
    return {
        "concurrency": level,
        "processed": summary.processed,
        "failed": summary.failed,
        "seconds": summary.seconds,
    }


def points(runs: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Median X(N) per level and its efficiency against the first level's X (N = 1)."""
    rates = {
        level: median([run["processed"] / run["seconds"] for run in found])
        for level, found in runs.items()
    }
    base = rates[min(rates)] / min(rates) if rates else 0.0
    return [
        {
            "concurrency": level,
            "issues_per_s": rate,
            "efficiency": rate / (level * base) if base > 0 else 0.0,
        }
        for level, rate in sorted(rates.items())
    ]


def _result(runs: dict[int, list[dict[str, Any]]], waves: int) -> dict[str, Any]:
    every = [run for level_runs in runs.values() for run in level_runs]
    expected = sum(run["concurrency"] * waves for run in every)
    done = sum(run["processed"] + run["failed"] for run in every)
    return {
        "contender": "autoissue",
        "issues": sum(run["processed"] for run in every),
        "seconds": sum(run["seconds"] for run in every),
        "failed": sum(run["failed"] for run in every),
        "lost": expected - done,
        "points": points(runs),
    }


def run_scaling_bench(config: ScalingBenchConfig) -> BenchReport:
    """Measure every level, taking turns over ``repeats`` rounds, and report."""
    runs: dict[int, list[dict[str, Any]]] = {level: [] for level in config.levels}
    with EmulatorProcess(config.emulator_options()) as emulator:
        for _ in range(config.repeats):
            for level in config.levels:
                run = _runtime.run(measure_level(emulator.base_url, level, config))
                logger.info("scaling: %s", run)
                runs[level].append(run)
    result = _result(runs, config.waves)
    params = {
        "levels": list(config.levels),
        "wait_s": config.wait_s,
        "waves": config.waves,
        "repeats": config.repeats,
        "goals": {str(level): goal for level, goal in GOALS.items()},
    }
    ratios = {f"efficiency@{p['concurrency']}": p["efficiency"] for p in result["points"]}
    return BenchReport("scaling", params, results=[result], ratios=ratios)
