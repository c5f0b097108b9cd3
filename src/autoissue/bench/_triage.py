"""The triage family of workloads: ``triage``, ``memory`` and ``ratelimited`` (BENCH.md).

One emulator process serves every contender; before each contender's turn it is reset to
the same seeded repository. Contenders take turns (A B A B …) for ``repeats`` rounds, each
in a process of its own, and the report quotes medians. Every run is checked against the
emulator's final state: issues without their labels are lost (or failed, when the
contender said so), and duplicates are counted by the emulator.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._report import BenchReport, median
from autoissue.bench._work import BENCH_LABEL, bench_labels, calibrate

logger = logging.getLogger(__name__)

ALL_CONTENDERS = (
    "autoissue",
    "wire-ceiling",
    "githubkit-async-10",
    "pygithub-threads-10",
    "pygithub-sequential",
)
REPO = "acme/widgets"
_CONTENDER_TIMEOUT_S = 3 * 3600


@dataclass(frozen=True, kw_only=True)
class TriageBenchConfig:
    """One triage-family workload's parameters; the defaults are BENCH.md's ``triage``."""

    workload: str = "triage"
    issues: int = 20_000
    latency_ms: float = 50.0
    faults: float = 0.01
    limits: str = "none"
    time_scale: float = 1.0
    seed: int = 1
    repeats: int = 1
    cpu_ms: float = 1.0
    contenders: tuple[str, ...] = ALL_CONTENDERS
    concurrency: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_workload(
        cls, workload: str, *, quick: bool = False, **overrides: Any
    ) -> TriageBenchConfig:
        """BENCH.md's parameters for ``workload``; ``quick`` shrinks it for CI."""
        presets: dict[str, dict[str, Any]] = {
            "triage": {},
            "memory": {"issues": 100_000},
            "ratelimited": {"issues": 2_000, "limits": "github", "time_scale": 60.0},
        }
        config = cls(workload=workload, **presets[workload])
        if quick:
            # PyGithub's own throttle (1 s a write, in real time) paces it against github.com's
            # limits whatever the emulator's clock: fewer issues keep that turn short.
            small = 20 if config.limits == "github" else 100
            config = replace(config, issues=min(config.issues, small),
                             latency_ms=min(config.latency_ms, 10.0), repeats=1)  # fmt: skip
        return replace(config, **overrides)

    def emulator_options(self) -> dict[str, Any]:
        """The emulator's command-line options for this workload."""
        return {
            "repo": REPO,
            "issues": self.issues,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "faults": self.faults,
            "limits": self.limits,
            "time_scale": self.time_scale,
        }


def expected_labels(state: dict[str, Any]) -> dict[int, set[str]]:
    """Every open issue's labels once the workload has run on it (pull requests excluded)."""
    issues = state["repos"][0]["issues"]
    return {
        issue["number"]: set(
            bench_labels(
                issue["title"], issue["body"], [c["body"] for c in issue["comments"][:100]], 1
            )
        )
        for issue in issues
        if issue["state"] == "open" and not issue["is_pull_request"]
    }


def check(state: dict[str, Any], expected: dict[int, set[str]], failed: int) -> dict[str, int]:
    """Compare the final state with what was expected: missing, wrong and lost issues."""
    labels = {issue["number"]: set(issue["labels"]) for issue in state["repos"][0]["issues"]}
    missing = sum(BENCH_LABEL not in labels.get(number, set()) for number in expected)
    wrong = sum(
        BENCH_LABEL in labels.get(number, set()) and not wanted <= labels[number]
        for number, wanted in expected.items()
    )
    return {"issues": len(expected), "missing": missing, "wrong_labels": wrong,
            "lost": max(0, missing - failed)}  # fmt: skip


def theoretical_rate(requests: dict[str, dict[str, int]], issues: int, time_scale: float) -> float:
    """Issues per second that github.com's budgets allow for this workload's calls.

    The primary budget (5,000 per hour, 304s free) and 900 points per minute per endpoint
    (1 per read, 5 per write), on the emulator's compressed clock; the tightest one binds.
    """
    hour, minute = 3600.0 / time_scale, 60.0 / time_scale
    charged = sum(n for counts in requests.values() for s, n in counts.items() if s != "304")
    rates = [5000.0 / hour / max(charged / issues, 1e-9)]
    for route, counts in requests.items():
        method = route.split(" ", 1)[0]
        points = sum(counts.values()) * (1 if method in {"GET", "HEAD"} else 5) / issues
        rates.append(900.0 / minute / max(points, 1e-9))
    return min(rates)


def _run_contender(
    name: str, base_url: str, rounds: int, config: TriageBenchConfig
) -> dict[str, Any]:
    argv = [sys.executable, "-m", "autoissue.bench._contender", name, "--base-url", base_url,
            "--repo", REPO, "--rounds", str(rounds)]  # fmt: skip
    if config.limits != "none":
        argv += ["--limited", "--time-scale", str(config.time_scale)]
    if name in config.concurrency:
        argv += ["--concurrency", str(config.concurrency[name])]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=_CONTENDER_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        logger.error("contender %s failed: %s", name, done.stderr[-2000:])
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return {"error": lines[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _turn(emulator: EmulatorProcess, name: str, config: TriageBenchConfig, rounds: int,
          expected: dict[int, set[str]]) -> dict[str, Any]:  # fmt: skip
    emulator.admin("reset", "POST", {})
    measured = _run_contender(name, emulator.base_url, rounds, config)
    stats = emulator.admin("stats")
    result = {**measured, "api_calls": stats["requests_total"],
              "duplicate_writes": stats["duplicate_writes"],
              "rate_limit_violations": stats["rate_limit_violations"]}  # fmt: skip
    if "error" not in measured:
        result.update(check(emulator.admin("state"), expected, measured["failed"]))
        result["issues_per_s"] = result["issues"] / measured["seconds"]
        if config.limits == "github":
            ceiling = theoretical_rate(stats["requests"], result["issues"], config.time_scale)
            result["budget_share"] = result["issues_per_s"] / ceiling
    logger.info("%s: %s", name, result)
    return result


_WORST = ("failed", "lost", "missing", "wrong_labels", "duplicate_writes", "rate_limit_violations")


def summarise(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One contender's result: medians over its runs, the worst case for anything lost."""
    good = [run for run in runs if "error" not in run]
    if not good:
        return {"contender": name, "error": runs[0].get("error") if runs else "not run"}
    numbers = {key for run in good for key, value in run.items() if isinstance(value, int | float)}
    summary: dict[str, Any] = {"contender": name, "runs": len(good)}
    for key in sorted(numbers):
        values = [float(run[key]) for run in good if key in run]
        summary[key] = max(values) if key in _WORST else median(values)
    summary["api_calls_per_issue"] = summary["api_calls"] / max(summary["issues"], 1)
    return summary


def ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    """``autoissue/<contender>`` throughput ratios."""
    rates = {r["contender"]: r.get("issues_per_s", 0.0) for r in results}
    ours = rates.get("autoissue", 0.0)
    return {f"autoissue/{name}": ours / rate for name, rate in rates.items()
            if name != "autoissue" and rate > 0}  # fmt: skip


def run_triage_bench(config: TriageBenchConfig) -> BenchReport:
    """Run the workload for every contender, A B A B …, and report."""
    rounds = calibrate(config.cpu_ms)
    params = {**config.emulator_options(), "repeats": config.repeats, "cpu_ms": config.cpu_ms,
              "classification_rounds": rounds, "contenders": list(config.contenders)}  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in config.contenders}
    with EmulatorProcess(config.emulator_options()) as emulator:
        expected = expected_labels(emulator.admin("state"))
        for _ in range(config.repeats):
            for name in config.contenders:
                runs[name].append(_turn(emulator, name, config, rounds, expected))
    results = [summarise(name, found) for name, found in runs.items()]
    return BenchReport(config.workload, params, results=results, ratios=ratios(results))
