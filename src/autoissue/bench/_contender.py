"""One contender's run in a process of its own: ``python -m autoissue.bench._contender``.

Prints one JSON line: issues handled, failures, seconds, peak and growth of RSS, CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from autoissue import _runtime
from autoissue.bench._contenders import Outcome, Runner, Target, run_autoissue, run_wire
from autoissue.bench._libraries import pygithub, run_githubkit

CONTENDERS: dict[str, Runner] = {
    "autoissue": run_autoissue,
    "wire-ceiling": run_wire,
    "githubkit-async-10": run_githubkit,
    "githubkit-async-best": run_githubkit,  # the bench sweeps --concurrency
    "pygithub-threads-10": pygithub(10),
    "pygithub-threads-best": pygithub(0),  # the bench sweeps --concurrency (threads)
    "pygithub-sequential": pygithub(1),
}
# Against github.com's limits every contender keeps its defaults: PyGithub throttles itself.
THROTTLED = {
    "pygithub-threads-10": pygithub(10, throttled=True),
    "pygithub-threads-best": pygithub(0, throttled=True),
    "pygithub-sequential": pygithub(1, throttled=True),
}


def peak_rss() -> int:
    """This process's peak RSS in bytes, from ``VmHWM``.

    Not ``ru_maxrss``: Linux carries it over ``exec``, so a small contender started by a
    large bench driver would report the driver's peak as its own.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # pragma: no cover


def _outcome(runner: Runner, target: Target) -> Outcome:
    result = runner(target)
    if isinstance(result, Outcome):
        return result
    return _runtime.run(result)


def measure(name: str, target: Target, *, limited: bool) -> dict[str, Any]:
    """Run contender ``name`` against ``target`` and measure it."""
    runner = (THROTTLED if limited else {}).get(name, CONTENDERS[name])
    process = psutil.Process()
    rss_start = process.memory_info().rss
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = _outcome(runner, target)
    seconds, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    rss_end = process.memory_info().rss
    peak = peak_rss()
    return {
        "handled": outcome.handled,
        "failed": outcome.failed,
        "gave_up": sorted(outcome.gave_up),
        "seconds": seconds,
        "cpu_percent": 100 * cpu_s / seconds if seconds else 0.0,
        "rss_peak_mb": peak / 2**20,
        "rss_growth_kb_per_issue": (rss_end - rss_start) / 1024 / max(outcome.handled, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print the measurement as JSON."""
    parser = argparse.ArgumentParser(prog="python -m autoissue.bench._contender")
    parser.add_argument("name", choices=sorted(CONTENDERS))
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=0)
    parser.add_argument("--limited", action="store_true")
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    target = Target(
        base_url=args.base_url,
        repo=args.repo,
        rounds=args.rounds,
        concurrency=args.concurrency,
        time_scale=args.time_scale,
    )
    sys.stdout.write(json.dumps(measure(args.name, target, limited=args.limited)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
