"""One contender's turn of the ``adaptive`` workload, in a process of its own.

``python -m autoissue.bench._timeline --base-url URL --duration 60 --change 20:50
--change 40:200 --out FILE [--concurrency N]`` lists the repository's open issues once, then
runs the engine over them in a loop until ``duration`` seconds have passed (then it stops: the
backlog still queued is not drained, as nothing after the end is scored), changing the
emulator's capacity at the given times. It writes one JSON document to ``FILE``: the limit,
the in-flight count and whether the controller was probing, sampled every ``--sample``
seconds, and every completion's time and latency (seconds from the start).

Each issue's work is the triage workload's requests - one GET of its comments and one POST of
its labels - with the lightest classification (one scoring pass), so that the emulator's
capacity, not this machine's CPU, is what limits throughput. Re-labelling an issue is
idempotent, so looping over the same issues writes nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msgspec.structs import replace

from autoissue import _runtime
from autoissue.bench._contenders import TOKEN, BenchTriage
from autoissue.bench._emulated import admin_call
from autoissue.engine import Engine, EngineOptions, Observers, RunSummary, Selector
from autoissue.github import GitHubClient
from autoissue.model import Issue, Plan
from autoissue.processors import ProcessContext

REPO = "acme/widgets"


@dataclass(frozen=True, kw_only=True)
class TimelineSpec:
    """One turn: where, how long, which capacity changes, adaptive (None) or a forced N."""

    base_url: str
    repo: str = REPO
    duration: float = 60.0
    changes: tuple[tuple[float, int], ...] = ()
    concurrency: int | None = None
    sample_s: float = 0.25


@dataclass
class Recorder:
    """Times measured from ``t0``: samples of the limit, and each completion with its latency."""

    t0: float = field(default_factory=time.monotonic)
    samples: list[tuple[float, int, int, bool]] = field(default_factory=list)
    completions: list[tuple[float, float]] = field(default_factory=list)
    _started: dict[int, float] = field(default_factory=dict)

    def now(self) -> float:
        """Seconds since the turn began."""
        return time.monotonic() - self.t0

    def start(self, number: int) -> None:
        """An issue's work began."""
        self._started[number] = self.now()

    def done(self, plan: Plan) -> None:
        """An issue's plan was applied: its work is complete."""
        begun = self._started.pop(plan.issue, None)
        if begun is not None:
            now = self.now()
            self.completions.append((round(now, 4), round(now - begun, 4)))


class TimedTriage(BenchTriage):
    """The triage workload's work, telling the recorder when each issue begins."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(rounds=1)
        self.recorder = recorder

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """Note the start, then do the triage work."""
        self.recorder.start(issue.number)
        return await super().process(issue, context)


async def looped(issues: list[Issue], until: float, size: int = 100) -> AsyncIterator[list[Issue]]:
    """Pages over ``issues`` again and again until ``time.monotonic()`` reaches ``until``.

    Each round gets its own ``updated_at``, so the queue takes every round as new work.
    """
    rounds = itertools.count()
    while issues:
        stamp = f"round-{next(rounds):06d}"
        for start in range(0, len(issues), size):
            if time.monotonic() >= until:
                return
            yield [replace(issue, updated_at=stamp) for issue in issues[start : start + size]]


def probing(engine: Engine) -> bool:
    """Whether the controller's algorithm is holding the limit down to probe no-load latency."""
    algorithm = engine.worker.controller.limiter.algorithm
    return bool(getattr(getattr(algorithm, "delegate", algorithm), "probing", False))


async def _sample(engine: Engine, recorder: Recorder, every: float) -> None:
    while True:
        limiter = engine.worker.controller.limiter
        sample = (round(recorder.now(), 3), limiter.limit, limiter.in_flight, probing(engine))
        recorder.samples.append(sample)
        await asyncio.sleep(every)


async def _change(spec: TimelineSpec, recorder: Recorder) -> None:
    for at, capacity in spec.changes:
        await asyncio.sleep(max(0.0, at - recorder.now()))
        await asyncio.to_thread(admin_call, spec.base_url, "config", "POST", {"capacity": capacity})


async def _open_issues(client: GitHubClient, repo: str) -> list[Issue]:
    pages = client.iter_issue_pages(repo, state="open", per_page=100)
    return [issue async for page in pages for issue in page if not issue.is_pull_request]


def _engine(
    client: GitHubClient, spec: TimelineSpec, recorder: Recorder, issues: list[Issue]
) -> Engine:
    processor = TimedTriage(recorder)
    return Engine(
        client,
        spec.repo,
        processor,
        options=EngineOptions(concurrency=spec.concurrency, force=True),
        selector=Selector(processor, skip_labels=frozenset(), skip_locked=False),
        observers=Observers(on_plan=recorder.done),
        pages=looped(issues, recorder.t0 + spec.duration),
    )


async def _stop_at_the_end(engine: Engine, spec: TimelineSpec, recorder: Recorder) -> None:
    """Stop the run when the timeline ends: what is still queued then is never scored."""
    await asyncio.sleep(max(0.0, spec.duration - recorder.now()))
    engine.request_stop("the timeline ended")


async def _run_sampled(engine: Engine, spec: TimelineSpec, recorder: Recorder) -> RunSummary:
    """Run the engine while its limit is sampled and the capacity changes on schedule."""
    side = [
        asyncio.create_task(_sample(engine, recorder, spec.sample_s)),
        asyncio.create_task(_change(spec, recorder)),
        asyncio.create_task(_stop_at_the_end(engine, spec, recorder)),
    ]
    summary = await engine.run()
    for task in side:
        task.cancel()
    await asyncio.gather(*side, return_exceptions=True)
    return summary


async def run_timeline(spec: TimelineSpec) -> dict[str, Any]:
    """Run one turn and return what was recorded (see the module docstring)."""
    async with GitHubClient(base_url=spec.base_url, token=TOKEN) as client:
        await client.warm_up()
        issues = await _open_issues(client, spec.repo)
        recorder = Recorder()
        engine = _engine(client, spec, recorder, issues)
        summary = await _run_sampled(engine, spec, recorder)
    return {
        "concurrency": spec.concurrency,
        "duration": spec.duration,
        "failed": summary.failed,
        "summary": summary.concurrency,
        "samples": recorder.samples,
        "completions": recorder.completions,
    }


def _change_arg(text: str) -> tuple[float, int]:
    at, capacity = text.split(":", 1)
    return float(at), int(capacity)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the turn, print the record as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m autoissue.bench._timeline")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--repo", default=REPO)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--change", type=_change_arg, action="append", default=[])
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--sample", type=float, default=0.25)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    spec = TimelineSpec(
        base_url=args.base_url,
        repo=args.repo,
        duration=args.duration,
        changes=tuple(args.change),
        concurrency=args.concurrency,
        sample_s=args.sample,
    )
    # A file, not stdout: the record runs to megabytes, more than a pipe should be trusted with.
    args.out.write_text(json.dumps(_runtime.run(run_timeline(spec))), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
