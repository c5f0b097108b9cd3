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
import math
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._report import BenchReport, median
from autoissue.bench._work import BENCH_LABEL, bench_labels, calibrate
from autoissue.emulator import GITHUB_LIMITS, GithubLimits, least_seconds

logger = logging.getLogger(__name__)

ALL_CONTENDERS = (
    "autoissue",
    "wire-ceiling",
    "githubkit-async-10",
    "githubkit-async-best",
    "pygithub-threads-10",
    "pygithub-threads-best",
    "pygithub-sequential",
)
LIMITED_CONTENDERS = tuple(name for name in ALL_CONTENDERS if not name.endswith("-best"))
#: Each contender at its best (BENCH.md): these run once per concurrency, against a reset
#: emulator each time, and the fastest run is theirs. Against github.com's limits every
#: contender keeps its defaults instead, so nothing is swept there.
SWEEPS: dict[str, tuple[int, ...]] = {
    "wire-ceiling": (64, 128, 256, 512),
    "pygithub-threads-best": (10, 25, 50),
    "githubkit-async-best": (10, 25, 50, 100),
}
#: Under github.com's limits on a compressed clock, a contender that paces itself in real time
#: (or not at all) is not comparable: only these are told the emulator's clock scale.
CLOCK_AWARE = frozenset({"autoissue"})
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
    sweeps: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(SWEEPS))

    @classmethod
    def for_workload(
        cls, workload: str, *, quick: bool = False, **overrides: Any
    ) -> TriageBenchConfig:
        """BENCH.md's parameters for ``workload``; ``quick`` shrinks it for CI."""
        presets: dict[str, dict[str, Any]] = {
            "triage": {},
            "memory": {"issues": 100_000},
            # Against the limits nobody is swept: a -best variant would be its -10 again.
            "ratelimited": {
                "issues": 2_000,
                "limits": "github",
                "time_scale": 60.0,
                "contenders": LIMITED_CONTENDERS,
            },
        }
        config = cls(workload=workload, **presets[workload])
        return replace(config.shrunk() if quick else config, **overrides)

    def shrunk(self) -> TriageBenchConfig:
        """This workload small enough for CI: few issues, short latency, one setting each."""
        # PyGithub's own throttle (1 s a write, in real time) paces it against github.com's
        # limits whatever the emulator's clock: fewer issues keep that turn short.
        small = 20 if self.limits == "github" else 100
        # One setting each: keeping the fastest of a sweep is a unit test's job.
        widest = {name: sweep[-1:] for name, sweep in self.sweeps.items()}
        return replace(
            self,
            issues=min(self.issues, small),
            latency_ms=min(self.latency_ms, 10.0),
            repeats=1,
            sweeps=widest,
        )

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


def check(state: dict[str, Any], expected: dict[int, set[str]], dead: set[int]) -> dict[str, int]:
    """Compare the final state with what was expected: missing, wrong, failed and lost issues.

    ``dead`` are the issues the contender gave up on (its dead letters): a missing issue among
    them failed; any other missing issue is lost.
    """
    labels = {issue["number"]: set(issue["labels"]) for issue in state["repos"][0]["issues"]}
    missing = {number for number in expected if BENCH_LABEL not in labels.get(number, set())}
    wrong = sum(
        BENCH_LABEL in labels.get(number, set()) and not wanted <= labels[number]
        for number, wanted in expected.items()
    )
    return {
        "issues": len(expected),
        "missing": len(missing),
        "wrong_labels": wrong,
        "failed": len(missing & dead),
        "lost": len(missing - dead),
    }


def theoretical_rate(
    requests: Mapping[str, Mapping[str, int]],
    issues: int,
    time_scale: float,
    limits: GithubLimits = GITHUB_LIMITS,
) -> tuple[float, str]:
    """The highest issues/s all of github.com's limits together allow, and the one that binds.

    ``requests`` is the emulator's ``stats["requests"]`` for a run of ``issues`` issues on a
    clock ``time_scale`` times fast. Every limit gives the least time the run can take
    (:func:`autoissue.emulator.least_seconds`, by the emulator's own accounting); the run can
    be no shorter than the longest of them, so ``issues`` over that time is a ceiling no
    contender keeping every limit can pass, and ``budget_share`` stays at most 1.0.

    The primary budget is a fixed window the emulator opens at an identity's first request
    and its reset clears: 5,000 requests spent at once if need be, then nothing until the
    window (an hour ÷ ``time_scale``) is over. So it binds only when the run charges more than
    one window holds, and then costs ``ceil(charged / 5000) - 1`` whole windows; a run inside
    one window is not slowed by it at all. A steady 5,000 an hour would be the rate of a
    client spreading its budget evenly, a pace github.com does not demand: taken as the
    ceiling, it let runs that spent one window in a burst score above 1.0. Points per minute
    and content creation are fixed windows alike; mutations need one second each after the
    first, compressed as every window is.

    When nothing makes the run wait (a single write, say), the rate is infinite and the
    binding limit ``"none"``.
    """
    bounds = least_seconds(requests, time_scale, limits)
    binding = max(bounds, key=bounds.__getitem__)
    if bounds[binding] <= 0:
        return math.inf, "none"
    return issues / bounds[binding], binding


def _run_contender(
    name: str, base_url: str, rounds: int, config: TriageBenchConfig
) -> dict[str, Any]:
    argv = _contender_argv(name, base_url, rounds, config)
    started = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=_CONTENDER_TIMEOUT_S, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        logger.error("contender %s failed: %s", name, done.stderr[-2000:])
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return {"error": lines[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # What a user waits for: the whole process, start-up and imports included.
    result["work_seconds"], result["seconds"] = result["seconds"], seconds
    return result


def _contender_argv(name: str, base_url: str, rounds: int, config: TriageBenchConfig) -> list[str]:
    """One contender's command line: its limits, its concurrency if one is forced."""
    argv = [
        sys.executable,
        "-m",
        "autoissue.bench._contender",
        name,
        "--base-url",
        base_url,
        "--repo",
        REPO,
        "--rounds",
        str(rounds),
    ]
    if config.limits != "none":
        argv += ["--limited", "--time-scale", str(config.time_scale)]
    if name in config.concurrency:
        argv += ["--concurrency", str(config.concurrency[name])]
    return argv


def _turn(
    emulator: EmulatorProcess,
    name: str,
    config: TriageBenchConfig,
    rounds: int,
    expected: dict[int, set[str]],
) -> dict[str, Any]:
    emulator.admin("reset", "POST", {})
    measured = _run_contender(name, emulator.base_url, rounds, config)
    stats = emulator.admin("stats")
    result = {
        **measured,
        "api_calls": stats["requests_total"],
        "duplicate_writes": stats["duplicate_writes"],
        "redundant_writes": stats["redundant_writes"],
        "faults_injected": stats["faults_injected"],
        "rate_limit_violations": stats["rate_limit_violations"],
        # The referee's clock: first request naming an issue to its labels landing.
        "latency_ms": stats["issue_latency_ms"],
    }
    if "error" not in measured:
        result.update(_refereed(emulator, stats, config, expected, measured))
    logger.info("%s: %s", name, result)
    return result


def _refereed(
    emulator: EmulatorProcess,
    stats: dict[str, Any],
    config: TriageBenchConfig,
    expected: dict[int, set[str]],
    measured: dict[str, Any],
) -> dict[str, Any]:
    """What the emulator's final state says of a finished turn: checks, rate, budget share."""
    result: dict[str, Any] = check(emulator.admin("state"), expected, set(measured["gave_up"]))
    # Of what was labelled, not of what should have been: a contender that drops issues
    # must not be credited with them.
    result["issues_per_s"] = (result["issues"] - result["missing"]) / measured["seconds"]
    if config.limits == "github":
        ceiling, binding = theoretical_rate(stats["requests"], result["issues"], config.time_scale)
        result["budget_share"] = result["issues_per_s"] / ceiling
        result["binding_limit"] = binding
    return result


_WORST = (
    "failed",
    "lost",
    "missing",
    "wrong_labels",
    "duplicate_writes",
    "redundant_writes",
    "rate_limit_violations",
)
#: Text fields a summary keeps: the value most runs had.
_COMMON = ("binding_limit",)


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
    for key in _COMMON:
        texts = [run[key] for run in good if key in run]
        if texts:
            summary[key] = Counter(texts).most_common(1)[0][0]
    summary["api_calls_per_issue"] = summary["api_calls"] / max(summary["issues"], 1)
    latencies = [run["latency_ms"] for run in good if "latency_ms" in run]
    if latencies:
        summary["latency_ms"] = {
            key: median([lat[key] for lat in latencies]) for key in latencies[0]
        }
    return summary


def ratios(results: list[dict[str, Any]]) -> dict[str, float]:
    """``autoissue/<contender>`` throughput ratios."""
    rates = {r["contender"]: r.get("issues_per_s", 0.0) for r in results}
    ours = rates.get("autoissue", 0.0)
    return {
        f"autoissue/{name}": ours / rate
        for name, rate in rates.items()
        if name != "autoissue" and rate > 0
    }


def _best_turn(
    emulator: EmulatorProcess,
    name: str,
    config: TriageBenchConfig,
    rounds: int,
    expected: dict[int, set[str]],
) -> dict[str, Any]:
    """One turn, or for a swept contender a turn per concurrency, keeping the fastest."""
    sweep = config.sweeps.get(name, ()) if config.limits == "none" else ()
    if not sweep or name in config.concurrency:
        return _turn(emulator, name, config, rounds, expected)
    tried = []
    for concurrency in sweep:
        fixed = replace(config, concurrency={**config.concurrency, name: concurrency})
        tried.append((concurrency, _turn(emulator, name, fixed, rounds, expected)))
    good = [(c, result) for c, result in tried if "error" not in result]
    if not good:
        return tried[0][1]
    best_at, best = max(good, key=lambda found: float(found[1]["issues_per_s"]))
    points = [{"concurrency": c, "issues_per_s": r.get("issues_per_s")} for c, r in tried]
    return {**best, "concurrency": best_at, "sweep": points}


def comparable(
    results: list[dict[str, Any]], limits: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The results ratios may compare, and the contenders left out (see :data:`CLOCK_AWARE`)."""
    if limits == "none":
        return results, []
    kept = [result for result in results if result["contender"] in CLOCK_AWARE]
    return kept, [r["contender"] for r in results if r["contender"] not in CLOCK_AWARE]


def run_triage_bench(config: TriageBenchConfig) -> BenchReport:
    """Run the workload for every contender, A B A B …, and report."""
    rounds = calibrate(config.cpu_ms)
    params = {
        **config.emulator_options(),
        "repeats": config.repeats,
        "cpu_ms": config.cpu_ms,
        "classification_rounds": rounds,
        "contenders": list(config.contenders),
    }
    runs = _take_turns(config, rounds)
    results = [summarise(name, found) for name, found in runs.items()]
    for result in results:
        swept = [run["sweep"] for run in runs[result["contender"]] if "sweep" in run]
        if swept:
            result["sweep"] = swept[-1]
    compared, left_out = comparable(results, config.limits)
    if left_out:
        params["left_out_of_ratios"] = left_out  # they pace in real time, not the emulator's
    return BenchReport(config.workload, params, results=results, ratios=ratios(compared))


def _take_turns(config: TriageBenchConfig, rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Each contender's runs, by name: one emulator, every contender's turn in every round."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in config.contenders}
    with EmulatorProcess(config.emulator_options()) as emulator:
        expected = expected_labels(emulator.admin("state"))
        for _ in range(config.repeats):
            for name in config.contenders:
                runs[name].append(_best_turn(emulator, name, config, rounds, expected))
    return runs
