"""The ``adaptive`` workload: the emulator's capacity changes mid-run (BENCH.md).

The emulator serves ``capacity`` requests in flight before a queueing delay grows (200);
at t=20 s it drops to 50, at t=40 s it returns to 200; the run lasts 60 s. Contenders take
turns, each in a process of its own (see :mod:`._timeline` for the per-issue work): the
engine with its defaults (the adaptive controller), then the engine forced to each
concurrency of the ``sweep``. Figures:

- ``vs_best_fixed``: issues completed within the 60 s, divided by the best fixed setting's.
- ``reconverge_s``, per capacity change (the result quotes the larger of the two): seconds
  until the controller's throughput, a trailing mean over ``smooth_s`` (2 s) of completions
  per second, reaches 90% of the new regime's best fixed setting's throughput and stays there
  until the phase ends; the whole phase if it never does. A controller whose limit did not
  move (the phase's settled limit within ``tolerance``, ±25%, of the previous phase's) also
  scores the whole phase: had it stayed put, nothing re-converged.
- ``settle_s``, per change: how long the limit took to settle. The limit is sampled every
  0.25 s and smoothed by a trailing median over ``smooth_s``. Samples taken while the
  controller probes the no-load latency (a scheduled measurement that holds the limit at its
  minimum for a few seconds, every minute or so) are left out of the check, not out of the
  throughput: their cost is in ``vs_best_fixed``, and ``probing_s`` says how long they lasted.
  The phase's settled value is the median limit over the phase's last quarter; the limit has
  settled at the first time after which the smoothed limit stays within ``tolerance`` of it.
- The setting "tuned for the first phase" is the smallest swept concurrency whose first-phase
  throughput is within 5% of the best first-phase throughput of the sweep.

Per phase, each result gives throughput and latency percentiles, so what a fixed setting
pays when capacity falls (latency, throughput) is visible beside the controller's choice.

The emulator answers with a 200 ms median (GitHub-like, log-normal), no faults and no rate
limits, so its capacity and not this 2-core machine's CPU bounds throughput: at 256 requests
in flight that is about 700 requests a second. The sweep stops at 256, the governor's cap on
a server without limits; beyond it every setting sends the same 256 requests at once. Note
what the emulator's model implies: queueing delay grows linearly past capacity, so throughput
stays flat past it and more concurrency never loses throughput - only latency. The best fixed
setting is therefore the widest; a controller that keeps latency near the no-load figure
gives up some throughput for it while capacity is low.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from autoissue._percentiles import percentiles
from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._report import BenchReport

logger = logging.getLogger(__name__)

REPO = "acme/widgets"
ADAPTIVE = "autoissue"
_TURN_TIMEOUT_S = 600
#: ``(seconds, limit, in flight, probing)`` every ``sample_s``.
Samples = list[tuple[float, int, int, bool]]


@dataclass(frozen=True, kw_only=True)
class AdaptiveBenchConfig:
    """The timeline, the emulator's model, the fixed settings swept, and the detector's knobs."""

    duration: float = 60.0
    capacity: int = 200
    changes: tuple[tuple[float, int], ...] = ((20.0, 50), (40.0, 200))
    latency_ms: float = 200.0
    issues: int = 3000
    sweep: tuple[int, ...] = (50, 100, 150, 200, 256)
    repeats: int = 3  # run to run the controller varies by about ±0.03: quote a median
    tolerance: float = 0.25
    smooth_s: float = 2.0
    sample_s: float = 0.25
    seed: int = 1

    @classmethod
    def quick(cls, **overrides: Any) -> AdaptiveBenchConfig:
        """A 3 s timeline with two fixed settings: checks the bench works (for CI)."""
        return replace(
            cls(
                duration=3.0,
                changes=((1.0, 50), (2.0, 200)),
                latency_ms=50.0,
                issues=600,
                sweep=(50, 200),
                smooth_s=0.5,
                repeats=1,
            ),
            **overrides,
        )

    def scaled(self, duration: float) -> AdaptiveBenchConfig:
        """The same timeline stretched or shrunk to ``duration`` seconds."""
        factor = duration / self.duration
        changes = tuple((at * factor, capacity) for at, capacity in self.changes)
        return replace(self, duration=duration, changes=changes)

    def phases(self) -> list[tuple[float, float, int]]:
        """``(start, end, capacity)`` of each phase of the timeline."""
        starts = [(0.0, self.capacity), *self.changes]
        ends = [at for at, _ in self.changes] + [self.duration]
        return [(start, end, cap) for (start, cap), end in zip(starts, ends, strict=True)]

    def emulator_options(self) -> dict[str, Any]:
        """The emulator's command-line options."""
        return {
            "repo": REPO,
            "issues": self.issues,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "capacity": self.capacity,
            "faults": 0.0,
            "limits": "none",
        }


def smoothed(samples: Samples, window: float) -> list[tuple[float, float]]:
    """Each sample's limit replaced by the median over the trailing ``window`` seconds."""
    times = [t for t, *_ in samples]
    limits = [limit for _, limit, *_ in samples]
    out, first = [], 0
    for index, t in enumerate(times):
        while times[first] < t - window:
            first += 1
        out.append((t, float(statistics.median(limits[first : index + 1]))))
    return out


def settled(samples: Samples, start: float, end: float) -> float:
    """The median limit over the last quarter of ``[start, end)``."""
    tail = [limit for t, limit, *_ in samples if end - (end - start) / 4 <= t < end]
    return float(statistics.median(tail)) if tail else 0.0


def settle_time(
    samples: Samples, change: float, end: float, *, tolerance: float, window: float
) -> float:
    """Seconds after ``change`` until the smoothed limit stays within ``tolerance`` of settled."""
    samples = [sample for sample in samples if not sample[3]]
    target = settled(samples, change, end)
    inside = [
        (t, abs(value - target) <= tolerance * target)
        for t, value in smoothed(samples, window)
        if change <= t < end
    ]
    converged = change
    for t, ok in inside:
        if not ok:
            converged = t + (inside[1][0] - inside[0][0] if len(inside) > 1 else 0.0)
    return min(converged, end) - change


def moved(samples: Samples, before: float, change: float, end: float, tolerance: float) -> bool:
    """Whether the limit settled after ``change`` more than ``tolerance`` away from before it."""
    kept = [sample for sample in samples if not sample[3]]
    old, new = settled(kept, before, change), settled(kept, change, end)
    return abs(new - old) > tolerance * max(old, 1e-9)


def reach_time(
    series: list[float], change: float, end: float, goal: float, *, window: float
) -> float:
    """Seconds after ``change`` until the throughput stays at 90% of ``goal`` or more.

    ``series`` is completions per second in 1 s buckets; each bucket counts by the trailing
    mean over ``window`` seconds within the phase. The whole phase when it never gets there.
    """
    span = max(1, round(window))
    first, last = math.ceil(change), min(math.ceil(end), len(series))
    reached: float | None = None
    for second in range(first, last):
        recent = series[max(first, second - span + 1) : second + 1]
        if sum(recent) / len(recent) < 0.9 * goal:
            reached = None
        elif reached is None:
            reached = float(second + 1)
    return min(end if reached is None else reached, end) - change


def reconverge(
    ours: dict[str, Any], fixed: list[dict[str, Any]], config: AdaptiveBenchConfig
) -> None:
    """Add ``reconverge_s`` and ``reconverge_each_s`` to the controller's result (see above)."""
    phases = config.phases()
    times = []
    for index, ((start, end, _), did_move) in enumerate(
        zip(phases[1:], ours["moved_each"], strict=True), 1
    ):
        goal = max(result["phases"][index]["issues_per_s"] for result in fixed)
        took = reach_time(ours["throughput_series"], start, end, goal, window=config.smooth_s)
        times.append(took if did_move else end - start)
    ours |= {"reconverge_s": max(times), "reconverge_each_s": times}


def phase_figures(run: dict[str, Any], start: float, end: float) -> dict[str, float]:
    """Throughput, latency percentiles and mean limit of one phase of one run."""
    latencies = [lat for t, lat in run["completions"] if start <= t < end]
    limits = [limit for t, limit, *_ in run["samples"] if start <= t < end]
    found = percentiles(latencies, scale=1000.0)
    return {
        "issues_per_s": len(latencies) / (end - start),
        "latency_p50_ms": found["p50"],
        "latency_p95_ms": found["p95"],
        "limit_mean": float(np.mean(limits)) if limits else 0.0,
    }


def throughput_series(run: dict[str, Any], duration: float, width: float = 1.0) -> list[float]:
    """Completions per second in consecutive ``width``-second buckets."""
    counts = np.zeros(max(1, round(duration / width)))
    for t, _ in run["completions"]:
        if 0 <= t < duration:
            counts[min(int(t // width), counts.size - 1)] += 1
    return [float(count / width) for count in counts]


def describe(name: str, run: dict[str, Any], config: AdaptiveBenchConfig) -> dict[str, Any]:
    """One turn's result: totals, per-phase figures, the series the plot draws."""
    completed = sum(1 for t, _ in run["completions"] if 0 <= t < config.duration)
    result: dict[str, Any] = {
        "contender": name,
        "concurrency": run["concurrency"],
        "issues": completed,
        "seconds": config.duration,
        "issues_per_s": completed / config.duration,
        "failed": run["failed"],
        "phases": [
            {"capacity": cap, **phase_figures(run, start, end)}
            for start, end, cap in config.phases()
        ],
        "throughput_series": throughput_series(run, config.duration),
        "limit_series": [list(sample) for sample in run["samples"]],
    }
    if run["concurrency"] is None:
        result |= _limit_figures(run["samples"], config)
        result["controller"] = run["summary"]
    return result


def _limit_figures(samples: Samples, config: AdaptiveBenchConfig) -> dict[str, Any]:
    """How the controller's limit settled after each change, whether it moved, how it probed."""
    phases = config.phases()
    pairs = list(itertools.pairwise(phases))
    settle = [
        settle_time(samples, start, end, tolerance=config.tolerance, window=config.smooth_s)
        for _, (start, end, _) in pairs
    ]
    did_move = [
        moved(samples, before, start, end, config.tolerance)
        for (before, _, _), (start, end, _) in pairs
    ]
    probes = sum(1 for sample in samples if sample[3]) * config.sample_s
    return {"settle_each_s": settle, "moved_each": did_move, "probing_s": probes}


def _turn(
    emulator: EmulatorProcess, concurrency: int | None, config: AdaptiveBenchConfig
) -> dict[str, Any]:
    emulator.admin("reset", "POST", {})
    emulator.admin("config", "POST", {"capacity": config.capacity})
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "turn.json"
        argv = _timeline_argv(emulator.base_url, out, concurrency, config)
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_TURN_TIMEOUT_S, check=False
        )
        if done.returncode != 0 or not out.exists():
            logger.error("adaptive turn %s failed: %s", concurrency, done.stderr[-2000:])
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            return {"error": lines[-1]}
        run: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return run


def _timeline_argv(
    base_url: str, out: Path, concurrency: int | None, config: AdaptiveBenchConfig
) -> list[str]:
    """One turn's command line: the timeline against the emulator, its record into ``out``."""
    argv = [
        sys.executable,
        "-m",
        "autoissue.bench._timeline",
        "--base-url",
        base_url,
        "--repo",
        REPO,
        "--duration",
        str(config.duration),
        "--sample",
        str(config.sample_s),
        "--out",
        str(out),
    ]
    argv += [arg for at, cap in config.changes for arg in ("--change", f"{at}:{cap}")]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    return argv


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median throughput, kept whole so its series stay consistent."""
    good = sorted((r for r in runs if "error" not in r), key=lambda r: r["issues_per_s"])
    return {**good[len(good) // 2], "runs": len(good)} if good else runs[0]


def compare(results: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, Any]]:
    """Ratios against the best fixed setting and the one tuned for the first phase.

    Adds ``vs_best_fixed`` to every result; returns the ratios and which settings they were.
    """
    fixed = [r for r in results if "error" not in r and r["concurrency"] is not None]
    if not fixed:
        return {}, {}
    best = max(fixed, key=lambda r: r["issues_per_s"])
    first = max(r["phases"][0]["issues_per_s"] for r in fixed)
    tuned = min(
        (r for r in fixed if r["phases"][0]["issues_per_s"] >= 0.95 * first),
        key=lambda r: r["concurrency"],
    )
    for result in results:
        if "error" not in result:
            result["vs_best_fixed"] = result["issues_per_s"] / max(best["issues_per_s"], 1e-9)
    ratios = {
        f"{r['contender']}/best-fixed": r["vs_best_fixed"]
        for r in (*(r for r in results if r["contender"] == ADAPTIVE), tuned)
        if "vs_best_fixed" in r
    }
    chosen = {"best_fixed": best["concurrency"], "phase1_tuned": tuned["concurrency"]}
    return ratios, chosen


def _scored(
    results: list[dict[str, Any]], config: AdaptiveBenchConfig
) -> tuple[dict[str, float], dict[str, Any]]:
    """:func:`compare`, and the controller's re-convergence against the fixed settings."""
    ratios, chosen = compare(results)
    fixed = [r for r in results if "error" not in r and r["concurrency"] is not None]
    ours = results[0]
    if fixed and "error" not in ours:
        reconverge(ours, fixed, config)
    return ratios, chosen


def run_adaptive_bench(config: AdaptiveBenchConfig) -> BenchReport:
    """The controller, then each swept setting, taking turns over ``repeats`` rounds."""
    runs = _take_turns(config)
    results = [_median_run(found) for found in runs.values()]
    ratios, chosen = _scored(results, config)
    params = {
        **config.emulator_options(),
        "duration": config.duration,
        "changes": [list(change) for change in config.changes],
        "sweep": list(config.sweep),
        "repeats": config.repeats,
        "tolerance": config.tolerance,
        "smooth_s": config.smooth_s,
        **chosen,
    }
    return BenchReport("adaptive", params, results=results, ratios=ratios)


def _take_turns(config: AdaptiveBenchConfig) -> dict[str, list[dict[str, Any]]]:
    """Each contender's runs, by name: one emulator, every contender's turn in every round."""
    contenders: list[tuple[str, int | None]] = [(ADAPTIVE, None)]
    contenders += [(f"fixed-{n}", n) for n in config.sweep]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in contenders}
    with EmulatorProcess(config.emulator_options()) as emulator:
        for _ in range(config.repeats):
            for name, concurrency in contenders:
                run = _turn(emulator, concurrency, config)
                found = run if "error" in run else describe(name, run, config)
                runs[name].append({"contender": name, **found})
                logger.info("adaptive: %s %s", name, found.get("issues_per_s"))
    return runs
