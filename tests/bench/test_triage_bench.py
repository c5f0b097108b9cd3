"""The triage family of workloads, at tiny sizes: the bench works and checks every contender."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from autoissue.bench import (
    ALL_CONTENDERS,
    BENCH_LABEL,
    TriageBenchConfig,
    bench_labels,
    calibrate,
    check,
    expected_labels,
    run_triage_bench,
    theoretical_rate,
)
from autoissue.cli import main

pytestmark = pytest.mark.timeout(120)


def tiny(workload: str = "triage", **overrides: Any) -> TriageBenchConfig:
    return TriageBenchConfig.for_workload(
        workload, issues=40, latency_ms=1.0, cpu_ms=0.05, **overrides
    )


def test_every_contender_does_the_whole_workload_and_is_checked() -> None:
    report = run_triage_bench(tiny(faults=0.02))
    results = {result["contender"]: result for result in report.results}
    assert set(results) == set(ALL_CONTENDERS)
    for name, result in results.items():
        assert result["issues"] > 20, name
        assert result["lost"] == 0, name
        assert result["wrong_labels"] == 0, name
        assert result["duplicate_writes"] == 0, name
        assert result["issues_per_s"] > 0, name
        assert result["api_calls_per_issue"] >= 2.0, name
        assert result["rss_peak_mb"] > 10, name
    assert results["autoissue"]["failed"] == 0
    assert set(report.ratios) == {f"autoissue/{n}" for n in ALL_CONTENDERS if n != "autoissue"}
    assert report.params["classification_rounds"] >= 1


def test_ratelimited_keeps_inside_githubs_limits_and_reports_its_budget_share() -> None:
    config = tiny("ratelimited", contenders=("autoissue",), time_scale=3600.0)
    (result,) = run_triage_bench(config).results
    assert result["rate_limit_violations"] == 0
    assert result["lost"] == 0
    assert result["budget_share"] > 0


def test_a_contender_that_cannot_run_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one true boundary: the contender's process. A bad interpreter makes it fail to start.
    monkeypatch.setattr("autoissue.bench._triage.sys.executable", "/bin/false")
    with pytest.raises(Exception, match="emulator did not start"):
        run_triage_bench(tiny(contenders=("autoissue",)))


def test_the_cli_writes_json_and_markdown(tmp_path: Path) -> None:
    out, table = tmp_path / "triage.json", tmp_path / "triage.md"
    args = ["bench", "triage", "--quick", "--issues", "30", "--contender", "autoissue"]
    args += ["--contender", "wire-ceiling", "--json", str(out), "--markdown", str(table)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["workload"] == "triage"
    assert [r["contender"] for r in report["results"]] == ["autoissue", "wire-ceiling"]
    assert "autoissue/wire-ceiling" in report["ratios"]
    assert "| autoissue |" in table.read_text()
    assert "issues/s" in result.output


def state(*issues: dict[str, Any]) -> dict[str, Any]:
    return {"repos": [{"issues": list(issues)}]}


def issue(number: int, labels: list[str], **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": "App crash", "body": None, "comments": [],
            "state": "open", "is_pull_request": False, "labels": labels, **extra}  # fmt: skip


def test_expected_labels_cover_open_issues_only() -> None:
    seeded = state(issue(1, []), issue(2, [], state="closed"), issue(3, [], is_pull_request=True))
    assert expected_labels(seeded) == {1: {BENCH_LABEL, "bug"}}


def test_check_tells_missing_wrong_and_lost_apart() -> None:
    expected = {1: {BENCH_LABEL, "bug"}, 2: {BENCH_LABEL, "bug"}, 3: {BENCH_LABEL, "bug"}}
    final = state(issue(1, [BENCH_LABEL, "bug"]), issue(2, [BENCH_LABEL]), issue(3, []))
    assert check(final, expected, failed=0) == {
        "issues": 3,
        "missing": 1,
        "wrong_labels": 1,
        "lost": 1,
    }
    assert check(final, expected, failed=1)["lost"] == 0


def test_the_theoretical_rate_is_the_tightest_budget() -> None:
    requests = {
        "GET /repos/{owner}/{repo}/issues/{n}/comments": {"200": 100},
        "POST /repos/{owner}/{repo}/issues/{n}/labels": {"200": 100},
    }
    # Primary: 5,000 an hour over 2 calls each = 0.694 issues/s; points: 900 a minute
    # over 5 points each = 3 issues/s. The primary budget binds.
    assert theoretical_rate(requests, 100, 1.0) == pytest.approx(5000 / 3600 / 2)
    # 304s are free of the primary budget, not of points.
    requests["GET /repos/{owner}/{repo}/issues/{n}/comments"] = {"304": 100}
    assert theoretical_rate(requests, 100, 60.0) == pytest.approx(5000 / 60)


def test_labels_do_not_depend_on_the_cpu_spent() -> None:
    assert bench_labels("How do I?", None, [], 1) == bench_labels("How do I?", None, [], 50)
    assert bench_labels("Lorem", "ipsum", ["dolor"], 1) == [BENCH_LABEL, "question"]
    assert calibrate(0.01) >= 1
