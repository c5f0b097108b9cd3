"""The ``pool`` workload's parts: the processor, the referee's counts, the worker kill.

The whole workload, both contenders and a killed worker, runs in ``test_bench_all.py``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from autoissue import ConfigurationError
from autoissue.bench import PoolBenchConfig
from autoissue.bench._pooled import (
    POOL_PROCESSOR,
    CpuBound,
    CpuWork,
    _kill_a_worker,
    _ran,
    calibrated,
    plan_cpu_bound,
    pool_ratio,
    pool_workers,
    refereed,
    run_argv,
    summarise,
)
from autoissue.bench._work import BENCH_LABEL, cost_ms
from autoissue.model import AddLabels, Issue
from autoissue.processors import Isolation, ProcessContext, ReadOnlyGitHub, get_processor

ISSUE = Issue(number=7, title="Crash on save", body="an error and a traceback", updated_at="t")


def context() -> ProcessContext:
    return ProcessContext(repo="o/r", github=ReadOnlyGitHub(None))  # type: ignore[arg-type]


async def test_the_processor_plans_the_same_labels_inline_and_for_the_pool() -> None:
    inline = CpuBound(rounds=3, isolation="inline")
    pooled = CpuBound(rounds=3)
    assert inline.isolation is Isolation.INLINE
    assert pooled.isolation is Isolation.POOL
    assert "pool" in repr(pooled)
    assert inline.select(ISSUE) is not None
    here = await inline.process(ISSUE, context())
    work = await pooled.prepare(context())
    assert work.state == CpuWork("o/r", 3)
    assert work.run(ISSUE) == here == plan_cpu_bound(CpuWork("o/r", 3), ISSUE)
    (action,) = here.actions
    assert isinstance(action, AddLabels)
    assert action.labels == (BENCH_LABEL, "bug")


def test_the_run_command_loads_it_with_its_isolation() -> None:
    argv = run_argv("inline", 9, "http://127.0.0.1:1", Path("/tmp/state"))  # noqa: S108
    assert argv[argv.index("--processor") + 1] == POOL_PROCESSOR
    assert f"{POOL_PROCESSOR}.isolation=inline" in argv
    assert f"{POOL_PROCESSOR}.rounds=9" in argv
    made = get_processor(POOL_PROCESSOR, rounds=9, isolation="inline")
    assert made.isolation is Isolation.INLINE
    with pytest.raises(ConfigurationError, match="not a valid Isolation"):
        get_processor(POOL_PROCESSOR, isolation="elsewhere")


def test_the_quick_config_is_small_and_the_emulator_unlimited() -> None:
    quick = PoolBenchConfig.quick(repeats=2)
    assert (quick.issues, quick.repeats) == (300, 2)
    options = PoolBenchConfig().emulator_options()
    assert (options["issues"], options["latency_ms"], options["limits"]) == (5_000, 10.0, "none")


def item(number: int, labels: list[str], **extra: Any) -> dict[str, Any]:
    return {"number": number, "state": "open", "is_pull_request": False, "labels": labels} | extra


def test_the_referee_counts_labelled_dead_and_lost_issues() -> None:
    state = {
        "repos": [
            {
                "issues": [
                    item(1, [BENCH_LABEL, "bug"]),
                    item(2, []),
                    item(3, []),
                    item(4, [], state="closed"),
                    item(5, [], is_pull_request=True),
                ]
            }
        ]
    }
    stats = {"duplicate_writes": 0, "redundant_writes": 2}
    run = {"seconds": 0.5, "dead": [2, 5], "requeued": 1}
    result = refereed(state, stats, run)
    assert result["issues"] == 3
    assert result["issues_per_s"] == 2.0  # one labelled issue in half a second
    assert (result["failed"], result["lost"]) == (1, 1)  # 2 dead-lettered, 3 lost
    assert result["redundant_writes"] == 2
    assert result["requeued"] == 1


def turn(rate: float, **extra: Any) -> dict[str, Any]:
    return {
        "issues": 10,
        "seconds": 10 / rate,
        "issues_per_s": rate,
        "pool_tasks": 10,
        "pool_workers": 2,
        "worker_pids": [11, 12],
        "worker_killed": 0,
        "crashes": 0,
        "requeued": 0,
        "failed": 0,
        "lost": 0,
        "duplicate_writes": 0,
        "redundant_writes": 0,
    } | extra


def test_a_summary_takes_medians_the_worst_losses_and_the_total_kills() -> None:
    runs = [turn(10.0), turn(30.0, lost=1, worker_killed=123, crashes=1), turn(20.0)]
    runs[-1]["worker_pids"] = [13, 14]
    result = summarise("pool", [*runs, {"error": "boom"}])
    assert result["issues_per_s"] == 20.0
    assert result["worker_pids"] == [13, 14]  # the last turn's workers
    assert result["lost"] == 1
    assert (result["workers_killed"], result["crashes"], result["errors"]) == (1, 1, 1)
    assert summarise("pool", [{"error": "boom"}]) == {"contender": "pool", "error": "boom"}


def test_the_ratio_needs_both_contenders() -> None:
    both = [
        {"contender": "inline", "issues_per_s": 100.0},
        {"contender": "pool", "issues_per_s": 180.0},
    ]
    assert pool_ratio(both) == {"pool/inline": 1.8}
    assert pool_ratio(both[1:]) == {}
    assert pool_ratio([{"contender": "inline", "error": "x"}, both[1]]) == {}


def test_a_run_that_saved_no_summary_reports_its_last_error_line(tmp_path: Path) -> None:
    (tmp_path / "stderr").write_text("starting\nError: the repository was not found\n")
    assert _ran(tmp_path, 1, 1.0, 0) == {"error": "Error: the repository was not found"}
    (tmp_path / "stderr").write_text("")
    assert _ran(tmp_path, 2, 1.0, 0) == {"error": "exit status 2"}


class Labelled:
    """The admin API's stats, with the count of labelled issues the kill waits for."""

    def __init__(self, labelled: int) -> None:
        self.labelled = labelled

    def admin(self, what: str) -> dict[str, int]:
        assert what == "stats"
        return {"issues_labelled": self.labelled}


def test_the_kill_takes_a_grandchild_once_enough_issues_are_labelled() -> None:
    # A shell (the run) whose child (a worker, forked by someone else than the run) sleeps.
    with subprocess.Popen(["sh", "-c", "sh -c 'sleep 30' & wait"]) as run:
        deadline = time.monotonic() + 10
        while not pool_workers(psutil.Process(run.pid)) and time.monotonic() < deadline:
            time.sleep(0.01)
        (worker,) = [p for p in pool_workers(psutil.Process(run.pid)) if p.name() == "sleep"]
        killed = _kill_a_worker(run, Labelled(5), when=5)  # type: ignore[arg-type]
        assert killed == worker.pid
        run.wait(timeout=10)
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == "zombie"


def test_no_kill_when_the_run_ends_first() -> None:
    with subprocess.Popen(["true"]) as run:
        assert _kill_a_worker(run, Labelled(0), when=5) == 0  # type: ignore[arg-type]
    assert pool_workers(psutil.Process()) == []  # nothing forked under this test


def test_calibration_makes_the_mean_issue_cost_what_was_asked() -> None:
    texts = [(f"Crash {n} when saving", "an error and a traceback " * (n % 7)) for n in range(60)]
    rounds, measured = calibrated(PoolBenchConfig(cpu_ms=2.0), texts)
    assert rounds > 1
    assert 1.0 < measured < 4.0  # timed on a shared machine: the right order, not exactly 2.0
    assert measured == pytest.approx(cost_ms(texts, rounds), rel=0.6)
