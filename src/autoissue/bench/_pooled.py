"""``autoissue bench pool``: CPU-bound work on the event loop, and the same work in the pool.

Per open issue, ``cpu_ms`` (5 ms) of pure-Python scoring, then one label write. Both
contenders are ``autoissue run`` with its defaults, started as a process of its own, with the
same processor (:class:`CpuBound`); only its isolation differs: ``inline`` scores on the event
loop, ``pool`` in the warm pool's workers. Each turn starts from a fresh emulator. In every
``pool`` turn one pool worker is SIGKILLed once ``kill_at`` of the issues are labelled: its
issue must be retried, not lost.

Figures come from the referee: ``issues_per_s`` is the issues the emulator holds labelled,
over the whole process's time; ``lost`` the open issues neither labelled nor dead-lettered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psutil

from autoissue import _runtime
from autoissue.bench._contenders import TOKEN
from autoissue.bench._dead import dead_letter_numbers
from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._report import BenchReport, median
from autoissue.bench._work import BENCH_LABEL, bench_labels, calibrate, cost_ms, spread
from autoissue.model import AddLabels, Issue, Plan, Priority
from autoissue.processors import Isolation, PoolWork, ProcessContext

REPO = "acme/widgets"
CONTENDERS = ("inline", "pool")
#: ``autoissue run`` names the workload's processor by its import path.
POOL_PROCESSOR = f"{__name__}:CpuBound"

_TURN_TIMEOUT_S = 1800.0
_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class CpuWork:
    """What a pool worker needs to score issues: the repository and the scoring passes."""

    repo: str
    rounds: int


def plan_cpu_bound(work: CpuWork, issue: Issue) -> Plan:
    """Score ``issue`` (``work.rounds`` passes of pure Python) and plan its labels."""
    labels = bench_labels(issue.title, issue.body, (), work.rounds)
    actions = (AddLabels(tuple(labels)),)
    return Plan(CpuBound.name, work.repo, issue.number, issue.updated_at, actions)


class CpuBound:
    """The workload as a processor: CPU-bound scoring, then one label write per issue.

    ``isolation`` is ``"pool"`` or ``"inline"``: the same processor, run either way.
    """

    name = "cpu-bound"

    def __init__(self, rounds: int = 1, isolation: str = "pool") -> None:
        self.rounds = rounds
        self.isolation = Isolation(isolation)

    def __repr__(self) -> str:
        return f"<CpuBound rounds={self.rounds} {self.isolation.value}>"

    def select(self, issue: Issue) -> Priority | None:
        """Every open issue is in the workload."""
        return Priority.LOW

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """Score the issue here, on the event loop."""
        return plan_cpu_bound(CpuWork(context.repo, self.rounds), issue)

    async def prepare(self, context: ProcessContext) -> PoolWork:
        """What the pool workers score with: nothing to build, the passes to make."""
        return PoolWork(plan_cpu_bound, CpuWork(context.repo, self.rounds))


@dataclass(frozen=True)
class PoolBenchConfig:
    """The pool workload's parameters; the defaults are the workload's own."""

    issues: int = 5_000
    latency_ms: float = 10.0
    cpu_ms: float = 5.0
    seed: int = 1
    repeats: int = 3
    kill_at: float | None = 0.4
    contenders: tuple[str, ...] = CONTENDERS

    @classmethod
    def quick(cls, **overrides: Any) -> PoolBenchConfig:
        """Small enough for CI: a few hundred issues, one round."""
        return replace(cls(issues=300, repeats=1), **overrides)

    def emulator_options(self) -> dict[str, Any]:
        """The emulator's command-line options: no limits, no faults, ``latency_ms``."""
        return {
            "repo": REPO,
            "issues": self.issues,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "faults": 0.0,
            "limits": "none",
        }


def run_argv(contender: str, rounds: int, base_url: str, state_dir: Path) -> list[str]:
    """``autoissue run`` for one contender: its defaults, the workload's processor and scope."""
    option = f"{POOL_PROCESSOR}."
    return [
        *(sys.executable, "-m", "autoissue", "--config", os.devnull, "run", "--repo", REPO),
        *("--base-url", base_url, "--processor", POOL_PROCESSOR),
        *("--option", f"{option}rounds={rounds}", "--option", f"{option}isolation={contender}"),
        *("--no-skip-labels", "--include-locked", "--quiet", "--state-dir", str(state_dir)),
    ]


def pool_workers(run: psutil.Process) -> list[psutil.Process]:
    """The pool's worker processes under ``run``: forked by its template, not by ``run``."""
    try:
        return [child for child in run.children(recursive=True) if child.ppid() != run.pid]
    except psutil.Error:
        return []


def _kill_a_worker(run: subprocess.Popen[bytes], emulator: EmulatorProcess, when: int) -> int:
    """SIGKILL one pool worker once ``when`` issues are labelled; its PID, or 0 if none was."""
    parent = psutil.Process(run.pid)
    while run.poll() is None:
        if emulator.admin("stats")["issues_labelled"] >= when:
            for worker in pool_workers(parent):
                os.kill(worker.pid, signal.SIGKILL)
                return worker.pid
        time.sleep(_POLL_S)
    return 0


def _run_once(contender: str, emulator: EmulatorProcess, rounds: int, when: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="autoissue-bench-pool-") as folder:
        state_dir = Path(folder)
        argv = run_argv(contender, rounds, emulator.base_url, state_dir)
        env = {**os.environ, "GITHUB_TOKEN": TOKEN}
        started = time.perf_counter()
        with (state_dir / "stderr").open("wb") as stderr:
            run = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            killed = _kill_a_worker(run, emulator, when) if contender == "pool" and when else 0
            run.wait(timeout=_TURN_TIMEOUT_S)
        seconds = time.perf_counter() - started
        return _ran(state_dir, run.returncode, seconds, killed)


def _ran(state_dir: Path, status: int, seconds: float, killed: int) -> dict[str, Any]:
    saved = sorted((state_dir / "runs").glob("*.json"))
    if not saved:
        tail = (state_dir / "stderr").read_text(errors="replace").strip().splitlines()
        return {"error": tail[-1] if tail else f"exit status {status}"}
    summary = json.loads(saved[-1].read_text(encoding="utf-8"))
    dsn = f"sqlite:///{state_dir / 'state.db'}"
    dead = _runtime.run(dead_letter_numbers(dsn, 10**9))
    pool = summary.get("pool") or {}
    return {
        "seconds": seconds,
        "dead": sorted(dead),
        "requeued": summary["requeued"],
        "pool_tasks": pool.get("tasks", 0),
        "pool_workers": len(pool.get("tasks_by_pid", {})),
        "worker_pids": sorted(int(pid) for pid in pool.get("tasks_by_pid", {})),
        "worker_killed": killed,
        "crashes": pool.get("crashes", 0),
    }


def expected_issues(state: dict[str, Any]) -> set[int]:
    """The open issues of the workload (pull requests excluded)."""
    issues = state["repos"][0]["issues"]
    return {i["number"] for i in issues if i["state"] == "open" and not i["is_pull_request"]}


def workload_texts(state: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The (title, body) of every issue of the workload: what the scoring is timed on."""
    expected = expected_issues(state)
    issues = state["repos"][0]["issues"]
    return [(i["title"], i.get("body")) for i in issues if i["number"] in expected]


def refereed(state: dict[str, Any], stats: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """What the emulator's final state says of one finished turn."""
    expected = expected_issues(state)
    labelled = {
        item["number"]
        for item in state["repos"][0]["issues"]
        if item["number"] in expected and BENCH_LABEL in item["labels"]
    }
    dead = set(run.pop("dead")) & expected
    return {
        **run,
        "issues": len(expected),
        "issues_per_s": len(labelled) / run["seconds"],
        "failed": len(dead),
        "lost": len(expected - labelled - dead),
        "duplicate_writes": stats["duplicate_writes"],
        "redundant_writes": stats["redundant_writes"],
    }


def _turn(
    contender: str, config: PoolBenchConfig, emulator: EmulatorProcess, rounds: int
) -> dict[str, Any]:
    emulator.admin("reset", "POST", {})
    expected = len(expected_issues(emulator.admin("state")))
    when = max(1, round(expected * config.kill_at)) if config.kill_at else 0
    run = _run_once(contender, emulator, rounds, when)
    if "error" in run:
        return run
    return refereed(emulator.admin("state"), emulator.admin("stats"), run)


_WORST = ("failed", "lost", "duplicate_writes", "redundant_writes")
_TOTALS = ("crashes", "requeued")


def summarise(contender: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One contender's result: medians over its turns, the worst turn for anything lost."""
    good = [run for run in runs if "error" not in run]
    if not good:
        return {"contender": contender, "error": runs[-1]["error"]}
    result: dict[str, Any] = {"contender": contender, "issues": good[0]["issues"]}
    for key in ("seconds", "issues_per_s", "pool_tasks", "pool_workers"):
        result[key] = round(median([run[key] for run in good]), 3)
    for key in _WORST:
        result[key] = max(run[key] for run in good)
    for key in _TOTALS:
        result[key] = sum(run[key] for run in good)
    result["workers_killed"] = sum(1 for run in good if run["worker_killed"])
    # The processes that planned the last turn's issues: the pool's workers, none inline.
    result["worker_pids"] = good[-1]["worker_pids"]
    result["errors"] = len(runs) - len(good)
    return result


def calibrated(config: PoolBenchConfig, texts: list[tuple[str, str | None]]) -> tuple[int, float]:
    """The scoring passes that cost ``cpu_ms`` per issue here, and the cost they measure.

    Each is the least disturbed of three timings, so the work costs ``cpu_ms`` on a quiet
    core; the measured cost goes in the report beside the asked one.
    """
    rounds = max(calibrate(config.cpu_ms, texts) for _ in range(3))
    measured = min(cost_ms(spread(texts, 300), rounds) for _ in range(3))
    return rounds, round(measured, 2)


def _parameters(config: PoolBenchConfig, rounds: int, measured_ms: float) -> dict[str, Any]:
    return {
        **config.emulator_options(),
        "repeats": config.repeats,
        "cpu_ms": config.cpu_ms,
        "measured_cpu_ms": measured_ms,
        "scoring_rounds": rounds,
        "kill_at": config.kill_at,
        "cpus": os.cpu_count(),
    }


def run_pool_bench(config: PoolBenchConfig) -> BenchReport:
    """Run both contenders, A B A B …, against one emulator reset before every turn."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in config.contenders}
    with EmulatorProcess(config.emulator_options()) as emulator:
        rounds, measured = calibrated(config, workload_texts(emulator.admin("state")))
        for _ in range(config.repeats):
            for name in config.contenders:
                runs[name].append(_turn(name, config, emulator, rounds))
    results = [summarise(name, found) for name, found in runs.items()]
    params = _parameters(config, rounds, measured)
    return BenchReport("pool", params, results=results, ratios=pool_ratio(results))


def pool_ratio(results: list[dict[str, Any]]) -> dict[str, float]:
    """``pool/inline``: the pool's issues/s over the event loop's, when both ran."""
    rates = {result["contender"]: result.get("issues_per_s", 0.0) for result in results}
    if not rates.get("inline") or "pool" not in rates:
        return {}
    return {"pool/inline": round(rates["pool"] / rates["inline"], 3)}
