"""``autoissue bench all --quick``: every workload completes and reports sane fields.

What is checked is that the bench works - fields present, of the right types, not negative,
nothing lost or written twice - not how fast anything was. The whole quick suite, with
the peers left out (each workload's own test runs them), takes about 50 s on a 2-core machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from autoissue.bench import COLUMNS, WORKLOADS, BenchReport, run_suite
from autoissue.cli import main

NUMBERS = (
    "issues",
    "seconds",
    "issues_per_s",
    "failed",
    "lost",
    "duplicate_writes",
    "kills",
    "mttr_s",
    "mttr_median_s",
    "claims_acks_per_s",
    "api_calls",
)


def sane(workload: str, result: dict[str, Any]) -> None:
    where = f"{workload}/{result.get('contender')}"
    assert "error" not in result, where
    assert isinstance(result["contender"], str), where
    for key in NUMBERS:
        if key in result:
            assert isinstance(result[key], int | float), (where, key)
            assert result[key] >= 0, (where, key)
    assert result.get("lost", 0) == 0, where
    assert result.get("duplicate_writes", 0) == 0, where


def check_faults(report: dict[str, Any]) -> None:
    (result,) = report["results"]
    assert result["kills"] == 3
    assert len(result["mttr_each_s"]) == 3
    assert result["mttr_s"] == max(result["mttr_each_s"]) > 0
    assert result["issues"] > 200  # those whose labels name no priority: triage gives them one
    assert result["missing"] == result["failed"]  # every issue labelled or dead-lettered
    assert result["writes"] >= result["writes_needed"] - result["failed"]
    assert report["params"]["contenders"] == ["autoissue"]


def check_pool(report: dict[str, Any]) -> None:
    inline, pool = report["results"]
    assert (inline["contender"], pool["contender"]) == ("inline", "pool")
    assert inline["pool_tasks"] == 0  # scored on the event loop
    assert inline["worker_pids"] == []
    assert pool["pool_tasks"] >= pool["issues"] > 100  # every issue scored in a pool worker
    assert pool["workers_killed"] == 1
    assert len(pool["worker_pids"]) == pool["pool_workers"] >= 1
    assert pool["failed"] == 0  # the killed worker's issue was retried, not given up
    assert "pool/inline" in report["ratios"]


@pytest.mark.timeout(240)
def test_bench_all_quick_runs_every_workload(tmp_path: Path) -> None:
    out, table, png = tmp_path / "all.json", tmp_path / "all.md", tmp_path / "adaptive.png"
    args = [
        "bench",
        "all",
        "--quick",
        "--json",
        str(out),
        "--markdown",
        str(table),
        "--plot",
        str(png),
        # The peers' runs of each workload are its own test's (test_triage_bench's every
        # contender); here what is checked is that every workload runs within ``all``.
        "--contender",
        "autoissue",
    ]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    document = json.loads(out.read_text())
    assert document["workload"] == "all"
    assert document["quick"] is True
    assert document["errors"] == {}
    assert set(document["reports"]) == set(WORKLOADS) == set(document["seconds"])
    for workload, report in document["reports"].items():
        assert report["workload"] == workload
        assert report["results"], workload
        for result in report["results"]:
            sane(workload, result)
    check_faults(document["reports"]["faults"])
    check_pool(document["reports"]["pool"])
    triage = document["reports"]["triage"]["results"]
    assert [r["contender"] for r in triage] == ["autoissue"]
    assert png.read_bytes()[:4] == b"\x89PNG"
    markdown = table.read_text()
    assert all(f"`autoissue bench {name}`" in markdown for name in WORKLOADS)
    assert "mttr_s" in markdown
    assert f"bench all: {len(WORKLOADS)} of {len(WORKLOADS)} workloads" in done.output


def test_a_failing_workload_is_reported_and_the_others_still_run() -> None:
    def one(name: str) -> BenchReport:
        if name == "broken":
            raise RuntimeError("no emulator")
        return BenchReport(name, {}, results=[{"contender": "autoissue", "lost": 0}])

    suite = run_suite(["queue", "broken", "faults"], one, quick=True)
    assert set(suite.reports) == {"queue", "faults"}
    assert suite.errors == {"broken": "RuntimeError: no emulator"}
    assert list(suite.seconds) == ["queue", "broken", "faults"]
    document = suite.to_dict()
    assert document["reports"]["faults"]["workload"] == "faults"
    markdown = suite.to_markdown({**COLUMNS, "faults": ["contender", "lost"]})
    assert "| broken |" in markdown
    assert "RuntimeError: no emulator" in markdown
    assert "| autoissue | 0 |" in markdown


def test_the_cli_fails_when_a_workload_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one true boundary: the processes the bench starts. A bad interpreter makes every
    # emulator fail to start; the queue workload needs none and still runs.
    monkeypatch.setattr("autoissue.bench._emulated.sys.executable", "/bin/false")
    out = tmp_path / "all.json"
    args = ["bench", "all", "--quick", "--json", str(out), "--backend", "memory"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 1
    document = json.loads(out.read_text())
    assert set(document["reports"]) == {"queue"}
    assert set(document["errors"]) == set(WORKLOADS) - {"queue"}
    assert "emulator did not start" in document["errors"]["faults"]
    assert "faults: failed (EmulatorError" in done.output
    assert f"bench all: 1 of {len(WORKLOADS)} workloads" in done.output


def test_plot_is_for_adaptive_or_all(tmp_path: Path) -> None:
    args = ["bench", "faults", "--json", str(tmp_path / "x.json"), "--plot", "x.png"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 2
    assert "--plot is for the adaptive workload (or all)" in done.output
