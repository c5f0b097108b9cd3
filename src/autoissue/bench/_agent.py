"""The ``agent`` workload: one OS process per issue, then a branch and a pull request (BENCH.md).

Each issue runs the bundled fake agent (``python -m autoissue.agent.fake``: sleeps 0.2-1.0 s,
holds 20 MB, writes one file, fails for 2% of issues) through the real ``command`` processor:
a worktree from the repository's mirror, the agent, trust checks, commit, force-push, and a
plan whose ``OpenPullRequest`` write-back applies against the emulator.

The ceiling is the bare spawn loop: the same agent, the same issues, the same concurrency,
spawned with ``asyncio.create_subprocess_exec`` and nothing else - no worktree, no git, no
pull request. ``spawn_ceiling_share`` = the engine's issues/s / the loop's issues/s: how much
of the spawn-bound rate the command processor keeps.

Contenders take turns (ceiling, autoissue, ceiling, …) over ``repeats`` rounds; the emulator
is reset before each autoissue round and each round has a fresh state directory. Which
issues fail is a function of the seed (:func:`~autoissue.agent.fake.should_fail`), so the
check knows exactly which pull requests must exist: ``prs_expected`` of them, each from its
deterministic branch with ``Closes #N`` in its body, and none twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoissue import _runtime
from autoissue.agent import (
    CommandConfig,
    Containment,
    Sandbox,
    SandboxKind,
    default_sandbox_kind,
    preset_argv,
    scrubbed_env,
)
from autoissue.agent.fake import should_fail
from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._report import BenchReport, median
from autoissue.bench._scaling import instant_emulator_options
from autoissue.engine import Engine, EngineOptions, Selector
from autoissue.github import GitHubClient
from autoissue.model import Issue, Plan, Priority
from autoissue.pool import PoolConfig, WarmPool
from autoissue.processors import CommandProcessor, ProcessContext
from autoissue.queue import MemoryQueue, RetryPolicy
from autoissue.stream import gc_tuned

logger = logging.getLogger(__name__)

REPO = "acme/widgets"
TOKEN = "bench-token"  # noqa: S105 - the emulator's stand-in, not a secret
NAME = "bench"
ALREADY_EXISTS = "already_exists"


def default_bench_sandbox() -> Sandbox:
    """The sandbox ``autoissue run`` would choose here; none where bubblewrap is missing."""
    return Sandbox(kind=default_sandbox_kind() or SandboxKind.NONE)


@dataclass(frozen=True, kw_only=True)
class AgentBenchConfig:
    """Issues per round, agents at once, rounds, and the fake agent's cost and failure rate."""

    issues: int = 2000
    concurrency: int = 16
    in_flight_per_agent: int = 6
    repeats: int = 1
    seed: int = 1
    sleep_min_s: float = 0.2
    sleep_max_s: float = 1.0
    alloc_mb: int = 20
    fail_rate: float = 0.02
    #: Where both contenders run their agents: bubblewrap where it is installed, as in a run.
    sandbox: Sandbox = field(default_factory=default_bench_sandbox)

    @classmethod
    def quick(cls, **overrides: Any) -> AgentBenchConfig:
        """A small run that checks the bench works, not how fast (for CI)."""
        return cls(
            **{"issues": 24, "concurrency": 8, "sleep_min_s": 0.05, "sleep_max_s": 0.2, **overrides}
        )

    def agent_argv(self) -> tuple[str, ...]:
        """The fake agent's command line, the same for both contenders."""
        return preset_argv(
            "fake",
            "--sleep-min",
            str(self.sleep_min_s),
            "--sleep-max",
            str(self.sleep_max_s),
            "--alloc-mb",
            str(self.alloc_mb),
            "--fail-rate",
            str(self.fail_rate),
            "--seed",
            str(self.seed),
        )

    def emulator_options(self) -> dict[str, Any]:
        """An emulator with enough open issues, answering at once, without limits."""
        return instant_emulator_options(REPO, self.issues, self.seed)


class Quota:
    """Admits the first ``quota`` issues to ``processor`` and remembers their numbers."""

    def __init__(self, processor: CommandProcessor, quota: int) -> None:
        self.processor = processor
        self.name = processor.name
        self.isolation = processor.isolation
        self.quota = quota
        self.admitted: list[int] = []

    def __repr__(self) -> str:
        return f"<Quota {self.name} {len(self.admitted)}/{self.quota}>"

    def select(self, issue: Issue) -> Priority | None:
        """The processor's choice, while the quota lasts."""
        if len(self.admitted) >= self.quota or self.processor.select(issue) is None:
            return None
        self.admitted.append(issue.number)
        return Priority.LOW

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """The command processor's plan."""
        return await self.processor.process(issue, context)


def command_processor(config: AgentBenchConfig, state_dir: Path) -> CommandProcessor:
    """The fake agent through the command processor, ``config.concurrency`` agents at once."""
    return CommandProcessor(
        CommandConfig(
            argv=config.agent_argv(),
            name=NAME,
            state_dir=state_dir,
            timeout_s=300.0,
            max_agents=config.concurrency,
            sandbox=config.sandbox,
        )
    )


def _engine(client: GitHubClient, quota: Quota, config: AgentBenchConfig) -> Engine:
    selector = Selector(quota, skip_labels=frozenset(), skip_locked=False)
    # The fake agent's failures are a function of the issue: a retry would fail again.
    queue = MemoryQueue(max_depth=512, retry=RetryPolicy(max_attempts=1))
    # As many agents at once as the loop runs; more issues in flight, so that the issues
    # waiting for their batch's push do not keep the next ones from their agents.
    options = EngineOptions(concurrency=config.concurrency * config.in_flight_per_agent)
    return Engine(client, REPO, quota, options=options, selector=selector, queue=queue)


async def run_engine(base_url: str, config: AgentBenchConfig, state_dir: Path) -> dict[str, Any]:
    """One autoissue round: the engine, the command processor, write-back to the emulator."""
    command = command_processor(config, state_dir)
    quota = Quota(command, config.issues)
    async with GitHubClient(base_url=base_url, token=TOKEN) as client:
        await client.warm_up()
        engine = _engine(client, quota, config)
        with gc_tuned():  # as ``autoissue run`` sets the collector once start-up is done
            summary = await engine.run()
    return {
        "numbers": quota.admitted,
        "processed": summary.processed,
        "failed": summary.failed,
        "skipped": summary.skipped.get(ALREADY_EXISTS, 0),
        "seconds": summary.seconds,
        "git_pushes": command.git_pushes,
    }


async def run_spawn_loop(
    numbers: list[int], config: AgentBenchConfig, folder: Path
) -> dict[str, Any]:
    """The ceiling: spawn the agent once per issue, ``concurrency`` at a time, sandboxed.

    Each agent runs in a folder of its own, in the sandbox the command processor runs agents
    in by default (``config.sandbox``): the ceiling pays for containment as the engine does,
    and for nothing else. Returns the seconds taken and, from the agents' exit codes, how
    many failed and how many finished at all.
    """
    containment = Containment(config.sandbox, state_dir=folder, environ=os.environ)
    await containment.check()
    base = scrubbed_env(os.environ)
    gate = asyncio.Semaphore(config.concurrency)

    async def one(number: int) -> int:
        async with gate:
            env = base | {"AUTOISSUE_ISSUE_NUMBER": str(number)}
            return await _exit_code(containment, config.agent_argv(), folder / str(number), env)

    await asyncio.to_thread(_make_folders, folder, numbers)  # before the clock: at its best
    started = time.perf_counter()
    codes = await asyncio.gather(*(one(number) for number in numbers))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "failed": sum(code != 0 for code in codes), "finished": len(codes)}


def _make_folders(folder: Path, numbers: list[int]) -> None:
    for number in numbers:
        (folder / str(number)).mkdir(parents=True)


async def _exit_code(
    containment: Containment, argv: tuple[str, ...], workdir: Path, env: dict[str, str]
) -> int:
    contained = containment.contain(argv, env, workdir=workdir, folder=workdir)
    async with contained as (command, inside):
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=workdir,
            env=inside,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await process.communicate(b'{"issue": {}}')
    return process.returncode if process.returncode is not None else -1


def open_issue_numbers(state: dict[str, Any], count: int) -> list[int]:
    """The first ``count`` open issues (not pull requests): those the engine admits."""
    numbers = sorted(
        item["number"]
        for item in state["issues"]
        if item["state"] == "open" and not item["is_pull_request"]
    )
    return numbers[:count]


def check(
    pulls: list[dict[str, Any]], numbers: list[int], config: AgentBenchConfig
) -> dict[str, int]:
    """Compare the emulator's pull requests with those the fake agent's outcomes call for."""
    expected = {n for n in numbers if not should_fail(n, seed=config.seed, rate=config.fail_rate)}
    prefix = f"autoissue/{NAME}/issue-"
    opened: list[int] = []
    correct = 0
    for pull in pulls:
        if pull["head"].startswith(prefix):
            number = int(pull["head"].removeprefix(prefix))
            opened.append(number)
            correct += number in expected and f"Closes #{number}" in (pull["body"] or "")
    return {
        "prs_opened": len(opened),
        "prs_expected": len(expected),
        "prs_correct": correct,
        "prs_missing": len(expected - set(opened)),
        "prs_unexpected": len(set(opened) - expected),
        "prs_repeated": len(opened) - len(set(opened)),
    }


def _engine_round(
    emulator: EmulatorProcess, config: AgentBenchConfig, folder: Path
) -> dict[str, Any]:
    emulator.admin("reset", "POST", {})
    run = _runtime.run(run_engine(emulator.base_url, config, folder), spawning=True)
    state = emulator.admin("state")["repos"][0]
    run |= check(state["pulls"], run["numbers"], config)
    run["duplicate_writes"] = emulator.admin("stats")["duplicate_writes"]
    return run


def _ceiling_round(numbers: list[int], config: AgentBenchConfig, folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    spawned = _runtime.run(run_spawn_loop(numbers, config, folder), spawning=True)
    return {"numbers": numbers, **spawned}


def pool_start_times() -> dict[str, float]:
    """How long a warm-pool worker takes to be ready, from the pool's own statistics."""
    with WarmPool(PoolConfig(min_workers=2, max_workers=2)) as pool:
        stats = pool.statistics()
    return {
        "p50_ms": round(stats.warm_start_p50_s * 1000, 2),
        "max_ms": round(stats.warm_start_max_s * 1000, 2),
    }


_CHECKED = (
    "failed",
    "duplicate_writes",
    "git_pushes",
    "prs_opened",
    "prs_expected",
    "prs_correct",
    "prs_missing",
    "prs_unexpected",
    "prs_repeated",
)


def _summarise(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    numbers = runs[0]["numbers"]
    seconds = median([run["seconds"] for run in runs])
    last = runs[-1]
    result: dict[str, Any] = {
        "contender": name,
        "issues": len(numbers),
        "seconds": round(seconds, 3),
        "issues_per_s": round(len(numbers) / seconds, 2) if seconds else 0.0,
    }
    if name == "autoissue":
        result |= {key: last[key] for key in _CHECKED}
        result["lost"] = len(numbers) - last["processed"] - last["failed"] - last["skipped"]
    else:
        # Read from the agents' exit codes: what the loop saw, not what the seed predicts.
        result |= {"failed": last["failed"], "lost": len(numbers) - last["finished"]}
    return result


def _measure(config: AgentBenchConfig) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {"spawn-ceiling": [], "autoissue": []}
    with EmulatorProcess(config.emulator_options()) as emulator:
        numbers = open_issue_numbers(emulator.admin("state")["repos"][0], config.issues)
        with tempfile.TemporaryDirectory(prefix="autoissue-bench-agent-") as folder:
            for index in range(config.repeats):
                ceiling = _ceiling_round(numbers, config, Path(folder) / f"c{index}")
                runs["spawn-ceiling"].append(ceiling)
                runs["autoissue"].append(
                    _engine_round(emulator, config, Path(folder) / f"a{index}")
                )
                logger.info(
                    "agent round %d: %s", index, {k: v[-1]["seconds"] for k, v in runs.items()}
                )
    return runs


def _parameters(config: AgentBenchConfig) -> dict[str, Any]:
    return {
        "issues": config.issues,
        "concurrency": config.concurrency,
        "repeats": config.repeats,
        "seed": config.seed,
        "agent": list(config.agent_argv()[1:]),
        "retries": "off: the fake agent's failures are deterministic",
        "sandbox": Containment(config.sandbox, state_dir=Path(), environ={}).describe(),
        "pool_warm_start": pool_start_times(),
    }


def run_agent_bench(config: AgentBenchConfig) -> BenchReport:
    """Measure the bare spawn loop and the engine, taking turns, and report."""
    started_cpu = time.process_time()
    runs = _measure(config)
    ceiling, engine = (_summarise(name, found) for name, found in runs.items())
    rate = ceiling["issues_per_s"]
    engine["spawn_ceiling_share"] = round(engine["issues_per_s"] / rate, 3) if rate else 0.0
    engine["rss_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    engine["children_rss_peak_mb"] = round(children / 1024, 1)  # emulator included
    params = _parameters(config) | {"bench_cpu_s": round(time.process_time() - started_cpu, 1)}
    ratios = {"autoissue/spawn-ceiling": engine["spawn_ceiling_share"]}
    return BenchReport("agent", params, results=[ceiling, engine], ratios=ratios)
