"""The ``adaptive`` workload: convergence detection, comparisons, and a short real run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from autoissue import ConfigurationError
from autoissue.bench import AdaptiveBenchConfig, BenchReport, plot_report
from autoissue.bench._adaptive import (
    compare,
    moved,
    phase_figures,
    reach_time,
    reconverge,
    settle_time,
    settled,
    smoothed,
    throughput_series,
)
from autoissue.bench._timeline import _change_arg, looped
from autoissue.cli import main
from autoissue.model import Issue

pytestmark = pytest.mark.timeout(90)


def trace(*steps: tuple[float, float, int], probing: tuple[float, float] = (-1, -1)) -> list[Any]:
    """Samples every 0.25 s: ``(start, end, limit)`` steps, probing at the minimum in between."""
    samples = []
    for start, end, limit in steps:
        t = start
        while t < end:
            probe = probing[0] <= t < probing[1]
            samples.append((t, 4 if probe else limit, limit, probe))
            t += 0.25
    return samples


def test_the_phases_follow_the_changes() -> None:
    config = AdaptiveBenchConfig()
    assert config.phases() == [(0.0, 20.0, 200), (20.0, 40.0, 50), (40.0, 60.0, 200)]
    short = config.scaled(6.0)
    assert short.changes == ((2.0, 50), (4.0, 200))
    assert AdaptiveBenchConfig.quick().duration == 3.0


def test_the_limit_settles_when_its_smoothed_value_stays_near_the_settled_one() -> None:
    samples = trace((20.0, 23.0, 200), (23.0, 40.0, 80))
    assert settled(samples, 20.0, 40.0) == 80
    took = settle_time(samples, 20.0, 40.0, tolerance=0.25, window=1.0)
    # The 1 s trailing median is back within 25% of 80 one second after the step at 23 s.
    assert 3.0 <= took <= 4.25


def test_a_limit_that_keeps_moving_converges_only_at_its_last_step() -> None:
    samples = trace(*[(20.0 + i, 21.0 + i, 50 if i % 2 else 200) for i in range(20)])
    took = settle_time(samples, 20.0, 40.0, tolerance=0.1, window=0.25)
    assert took == pytest.approx(19.25)  # within the band only in the last second


def test_probing_samples_are_left_out_of_the_check() -> None:
    samples = trace((40.0, 60.0, 250), probing=(54.0, 58.0))
    assert settle_time(samples, 40.0, 60.0, tolerance=0.25, window=2.0) == 0.0
    assert smoothed(samples, 1.0)[0] == (40.0, 250.0)


def test_a_limit_that_stays_put_has_not_moved() -> None:
    stayed = trace((0.0, 40.0, 200))
    assert not moved(stayed, 0.0, 20.0, 40.0, tolerance=0.25)
    fell = trace((0.0, 21.0, 200), (21.0, 40.0, 60))
    assert moved(fell, 0.0, 20.0, 40.0, tolerance=0.25)


def test_throughput_reaches_the_goal_when_it_stays_at_nine_tenths_of_it() -> None:
    # Per second: a dip after the change at 2 s, back at 9 of 10 from 4 s, a relapse at 6 s.
    series = [10.0, 10.0, 3.0, 5.0, 9.0, 10.0, 4.0, 10.0, 10.0, 10.0]
    assert reach_time(series, 2.0, 6.0, 10.0, window=1.0) == 3.0  # at the end of second 4
    assert reach_time(series, 2.0, 10.0, 10.0, window=1.0) == 6.0  # after the relapse
    # A trailing mean over two seconds takes one second longer to forgive the dip.
    assert reach_time(series, 2.0, 6.0, 10.0, window=2.0) == 4.0
    # Never there: the whole phase.
    assert reach_time(series, 2.0, 6.0, 50.0, window=1.0) == 4.0


def controller(per_second: list[float], moved_each: list[bool]) -> dict[str, Any]:
    return {"throughput_series": per_second, "moved_each": moved_each}


def fixed(*phase_rates: float) -> dict[str, Any]:
    return {"phases": [{"issues_per_s": rate} for rate in phase_rates]}


def test_reconvergence_is_against_the_best_fixed_setting_of_each_new_regime() -> None:
    config = AdaptiveBenchConfig(duration=6.0, changes=((2.0, 50), (4.0, 200)), smooth_s=1.0)
    ours = controller([10, 10, 2, 5, 10, 10], [True, True])
    reconverge(ours, [fixed(10, 5, 10), fixed(10, 4, 8)], config)
    # After the first change the best fixed does 5: ours at 2, then 5 through the phase's
    # second second. After the second, 10 (goal 10) from its first second on.
    assert ours["reconverge_each_s"] == [2.0, 1.0]
    assert ours["reconverge_s"] == 2.0


def test_a_controller_that_does_not_move_scores_the_whole_phase() -> None:
    config = AdaptiveBenchConfig(duration=6.0, changes=((2.0, 50), (4.0, 200)), smooth_s=1.0)
    ours = controller([10, 10, 5, 5, 10, 10], [False, True])
    reconverge(ours, [fixed(10, 5, 10)], config)
    assert ours["reconverge_each_s"] == [2.0, 1.0]


def run(concurrency: int | None, per_second: list[int], latency: float = 0.1) -> dict[str, Any]:
    completions = [
        (second + i / n, latency) for second, n in enumerate(per_second) for i in range(n)
    ]
    return {
        "concurrency": concurrency,
        "completions": completions,
        "samples": [(float(s), 10, 10, False) for s in range(len(per_second))],
    }


def test_phase_figures_and_throughput_series() -> None:
    record = run(10, [10, 10, 20, 20])
    figures = phase_figures(record, 2.0, 4.0)
    assert figures["issues_per_s"] == 20.0
    assert figures["latency_p95_ms"] == pytest.approx(100.0)
    assert throughput_series(record, 4.0) == [10.0, 10.0, 20.0, 20.0]
    assert phase_figures(record, 9.0, 10.0)["limit_mean"] == 0.0


def result(name: str, concurrency: int | None, total: float, first: float) -> dict[str, Any]:
    return {
        "contender": name,
        "concurrency": concurrency,
        "issues_per_s": total,
        "phases": [{"issues_per_s": first}],
    }


def test_compare_finds_the_best_fixed_and_the_first_phase_tuned_setting() -> None:
    results = [
        result("autoissue", None, 90.0, 95.0),
        result("fixed-50", 50, 60.0, 50.0),
        result("fixed-200", 200, 95.0, 100.0),
        result("fixed-256", 256, 100.0, 99.0),
        {"contender": "fixed-999", "error": "boom"},
    ]
    ratios, chosen = compare(results)
    assert chosen == {"best_fixed": 256, "phase1_tuned": 200}
    assert ratios == {"autoissue/best-fixed": 0.9, "fixed-200/best-fixed": 0.95}
    assert compare([result("autoissue", None, 1.0, 1.0)]) == ({}, {})


async def test_the_loop_over_issues_ends_at_its_deadline() -> None:
    items = [Issue(number=n, title="t", state="open", updated_at="x") for n in range(1, 4)]
    pages = [page async for page in looped(items, until=0.0)]
    assert pages == []
    assert _change_arg("20:50") == (20.0, 50)


def test_only_an_adaptive_report_has_a_plot(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no plot"):
        plot_report(BenchReport("scaling", {}), tmp_path / "x.png")


def test_the_cli_runs_a_short_adaptive_bench_and_draws_it(tmp_path: Path) -> None:
    out, table, png = tmp_path / "a.json", tmp_path / "a.md", tmp_path / "a.png"
    args = [
        "bench",
        "adaptive",
        "--quick",
        "--duration",
        "2",
        "--json",
        str(out),
        "--markdown",
        str(table),
        "--plot",
        str(png),
    ]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    report = json.loads(out.read_text())
    by_name = {r["contender"]: r for r in report["results"]}
    assert set(by_name) == {"autoissue", "fixed-50", "fixed-200"}
    ours = by_name["autoissue"]
    assert ours["issues"] > 0
    assert ours["failed"] == 0
    assert 0.0 <= ours["reconverge_s"] <= 2.0
    assert ours["vs_best_fixed"] > 0
    assert len(ours["phases"]) == 3
    assert report["params"]["best_fixed"] in {50, 200}
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "| autoissue |" in table.read_text()
    assert "of the best fixed" in done.output
