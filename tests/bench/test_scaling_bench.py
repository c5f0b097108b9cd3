"""The ``scaling`` workload at tiny sizes: whole waves per level, efficiency against N = 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue.bench import ScalingBenchConfig, run_scaling_bench
from autoissue.bench._scaling import Waiting, points
from autoissue.cli import main
from autoissue.model import Issue

pytestmark = pytest.mark.timeout(60)


def test_every_level_does_whole_waves_and_scales_with_the_wait() -> None:
    config = ScalingBenchConfig(levels=(1, 4, 16), wait_s=0.05, waves=2, repeats=1)
    report = run_scaling_bench(config)
    (result,) = report.results
    assert result["issues"] == 2 * (1 + 4 + 16)
    assert (result["lost"], result["failed"]) == (0, 0)
    found = {point["concurrency"]: point for point in result["points"]}
    assert found[1]["efficiency"] == 1.0
    # Sixteen at once do sixteen times the work in about the same time.
    assert found[16]["efficiency"] > 0.5
    assert report.ratios["efficiency@16"] == found[16]["efficiency"]


def test_efficiency_is_against_one_times_n() -> None:
    runs = {
        1: [{"processed": 3, "seconds": 3.0}],
        10: [{"processed": 30, "seconds": 3.3}, {"processed": 30, "seconds": 3.0}],
    }
    by_level = {p["concurrency"]: p for p in points(runs)}
    assert by_level[1]["efficiency"] == pytest.approx(1.0)
    assert by_level[10]["issues_per_s"] == pytest.approx((30 / 3.3 + 10) / 2)
    assert points({}) == []


def test_the_processor_admits_its_quota_then_declines() -> None:
    waiting = Waiting(0.0, 2)
    item = Issue(number=1, title="t", state="open", updated_at="x")
    assert [waiting.select(item) is not None for _ in range(3)] == [True, True, False]
    assert "quota=0" in repr(waiting)


def test_the_cli_runs_the_quick_scaling_bench(tmp_path: Path) -> None:
    out, table = tmp_path / "scaling.json", tmp_path / "scaling.md"
    args = ["bench", "scaling", "--quick", "--json", str(out), "--markdown", str(table)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert [p["concurrency"] for p in report["results"][0]["points"]] == [1, 10, 50]
    assert "efficiency@50" in table.read_text()
    assert "efficiency" in result.output


def test_plot_is_only_for_the_adaptive_workload(tmp_path: Path) -> None:
    args = ["bench", "scaling", "--json", str(tmp_path / "x.json"), "--plot", "x.png"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "--plot is for the adaptive workload" in result.output
