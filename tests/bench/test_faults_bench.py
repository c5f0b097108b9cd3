"""The ``faults`` workload's logic without real kills: kill points, MTTR, the final check.

The real kills and restarts run in ``test_bench_all.py`` (``bench all --quick``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autoissue.bench import FaultsBenchConfig
from autoissue.bench._dead import dead_lettered
from autoissue.bench._emulated import EmulatorProcess
from autoissue.bench._faults import (
    KillLoop,
    Recovery,
    check,
    eligible,
    kill_points,
    mttr,
    run_round,
    summarise,
    untriaged,
    write_count,
)
from autoissue.emulator import EmulatorConfig, run_in_thread


def item(number: int, labels: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "title": "The app crashes with an error",
        "body": "broken",
        "state": "open",
        "is_pull_request": False,
        "locked": False,
        "labels": labels,
        **extra,
    }


def state(*items: dict[str, Any]) -> dict[str, Any]:
    return {"repos": [{"issues": list(items)}]}


def test_eligible_issues_are_those_the_run_must_triage() -> None:
    seeded = state(
        item(1, []),
        item(2, [], state="closed"),
        item(3, [], is_pull_request=True),
        item(4, [], locked=True),
        item(5, ["WontFix"]),
        item(6, ["bug", "priority:low"]),
        item(7, ["priority: high", "p1"]),
        item(8, ["bug"]),
    )
    numbers = eligible(seeded)
    # Triage adds no priority label where one is named in any spelling (6, 7): only the
    # others can show they were triaged.
    assert numbers == {1, 8}
    assert untriaged(seeded, numbers) == {1, 8}


def test_lost_are_untriaged_issues_that_are_not_dead_letters() -> None:
    final = state(
        item(1, ["priority:low"]),
        item(2, ["bug", "priority:critical"]),
        item(3, []),
        item(4, ["priority: high"]),
        item(5, []),
    )
    numbers = {1, 2, 3, 4}
    assert check(final, numbers, dead={3}) == {"issues": 4, "missing": 2, "failed": 1, "lost": 1}
    assert check(final, numbers, dead={3, 4})["lost"] == 0


def test_dead_letter_keys_name_their_issues() -> None:
    keys = ["triage:acme/widgets#12@2026-01-02T03:04:05Z", None, "odd", "triage:a/b#3@x/dry-run"]
    assert dead_lettered(keys) == {12, 3}


def test_writes_are_successful_answers_to_anything_but_a_read() -> None:
    stats = {
        "requests": {
            "GET /repos/{owner}/{repo}/issues": {"200": 40, "304": 2},
            "POST /repos/{owner}/{repo}/issues/{n}/labels": {"200": 30, "502": 3, "reset": 1},
            "POST /repos/{owner}/{repo}/issues/{n}/comments": {"201": 2},
        }
    }
    assert write_count(stats) == 32


def test_kill_points_are_seeded_sorted_and_inside_the_window() -> None:
    config = FaultsBenchConfig(kills=10, seed=7)
    points = kill_points(1000, config)
    assert points == sorted(points)
    assert len(points) == 10
    assert all(50 <= point <= 900 for point in points)
    assert kill_points(1000, config) == points
    assert kill_points(1000, FaultsBenchConfig(kills=10, seed=8)) != points
    assert kill_points(0, config) == [1] * 10  # nothing to do: kills at the first write


def test_mttr_is_the_worst_time_from_a_restart_to_the_next_write() -> None:
    recoveries = [
        Recovery(killed_at=1.0, writes=10, restarted_at=1.5, resumed_at=2.25),
        Recovery(killed_at=3.0, writes=20, restarted_at=3.5, resumed_at=3.75),
        Recovery(killed_at=5.0, writes=30, restarted_at=5.5, resumed_at=None),
        Recovery(killed_at=6.0, writes=30, restarted_at=6.5, resumed_at=8.5),
    ]
    figures = mttr(recoveries)
    assert figures["mttr_each_s"] == [0.75, 0.25, 0.0, 2.0]
    assert (figures["kills"], figures["resumed"]) == (4, 3)
    assert figures["mttr_s"] == 2.0
    assert figures["mttr_median_s"] == 0.5
    assert mttr([]) == {
        "kills": 0,
        "mttr_s": 0.0,
        "mttr_median_s": 0.0,
        "mttr_each_s": [],
        "resumed": 0,
    }


def test_rounds_are_summarised_by_their_worst_losses_and_median_speed() -> None:
    runs = [
        {"issues": 10, "seconds": 2.0, "lost": 0, "mttr_s": 1.0, "mttr_each_s": [1.0]},
        {"error": "boom"},
        {"issues": 10, "seconds": 4.0, "lost": 1, "mttr_s": 3.0, "mttr_each_s": [3.0]},
    ]
    summary = summarise(runs)
    assert summary == {
        "contender": "autoissue",
        "runs": 2,
        "issues": 10,
        "seconds": 3.0,
        "lost": 1,
        "mttr_s": 3.0,
        "mttr_each_s": [1.0, 3.0],
    }
    assert summarise([{"error": "boom"}])["error"] == "boom"
    assert summarise([])["error"] == "not run"


def test_the_quick_size_is_small_and_the_full_one_is_benchs() -> None:
    full, quick = FaultsBenchConfig(), FaultsBenchConfig.quick(kills=2)
    assert (full.issues, full.kills, full.faults, full.latency_ms) == (5000, 10, 0.05, 50.0)
    assert (quick.issues, quick.kills) == (600, 2)
    assert quick.emulator_options()["faults"] == 0.05


@pytest.mark.timeout(60)
def test_a_run_that_ends_before_a_kill_point_is_not_killed(tmp_path: Path) -> None:
    # A kill point past every write the run makes: the run ends first, nothing is killed.
    config = EmulatorConfig(repo="acme/widgets", issues=30, seed=3)
    with run_in_thread(config) as emulator:
        loop = KillLoop(emulator.base_url, tmp_path, FaultsBenchConfig(poll_s=0.01))
        loop.start()
        assert not loop.one_kill(10_000)
        assert loop.finish() == 0
        assert loop.writes() > 0
    assert loop.recoveries == []
    assert "--quiet" in loop.argv()
    assert "summary saved" in loop.last_log_line()


@pytest.mark.timeout(60)
def test_a_run_that_cannot_start_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorProcess(FaultsBenchConfig(issues=20).emulator_options()) as emulator:
        # The one true boundary: the process the bench starts. It cannot run at all.
        monkeypatch.setattr("autoissue.bench._faults.sys.executable", "/bin/false")
        result = run_round(emulator, FaultsBenchConfig(kills=2), tmp_path)
    assert result == {"error": "autoissue run exited 1: "}
