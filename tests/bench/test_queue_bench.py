"""``autoissue bench queue`` writes the report BENCH.md defines (tiny sizes: checks, not timing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoissue.bench import BenchReport, QueueBenchConfig, run_queue_bench
from autoissue.bench._report import machine_info, median
from autoissue.cli import main

pytestmark = pytest.mark.timeout(60)


def test_the_cli_writes_json_and_markdown(tmp_path: Path) -> None:
    out, table = tmp_path / "r" / "queue.json", tmp_path / "queue.md"
    args = ["bench", "queue", "--quick", "--items", "60", "--batch", "10", "--json", str(out)]
    args += ["--markdown", str(table), "--backend", "memory", "--backend", "sqlite"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["workload"] == "queue"
    assert {"cpus", "python"} <= set(report["machine"])
    contenders = {r["contender"]: r for r in report["results"]}
    assert set(contenders) == {"memory-single", "memory-batched", "sqlite-single", "sqlite-batched"}
    batched = contenders["sqlite-batched"]
    assert (batched["backend"], batched["mode"], batched["batch"]) == ("sqlite", "batched", 10)
    assert batched["claims_acks_per_s"] > 0
    assert batched["lost"] == 0
    assert "goal_per_s" in batched
    assert "goal_per_s" not in contenders["memory-batched"]
    assert "sqlite-batched/sqlite-single" in report["ratios"]
    assert "| sqlite-batched | sqlite | batched | 10 |" in table.read_text()
    assert "claims+acks/s" in result.output


@pytest.mark.redis
async def test_redis_is_measured_and_leaves_no_keys(redis_url: str) -> None:
    url = redis_url.split("?", maxsplit=1)[0]
    config = QueueBenchConfig.quick(items=40, batch=8, backends=("redis",), redis_url=url)
    report = await run_queue_bench(config)
    assert [r["contender"] for r in report.results] == ["redis-single", "redis-batched"]
    assert report.ratios["redis-batched/redis-single"] > 0


async def test_an_unreachable_redis_is_skipped_not_fatal() -> None:
    config = QueueBenchConfig.quick(
        items=10, backends=("memory", "redis"), redis_url="redis://127.0.0.1:1/0"
    )
    report = await run_queue_bench(config)
    assert [r["backend"] for r in report.results] == ["memory", "memory"]
    assert "unreachable" in report.params["skipped"]["redis"]
    assert "sqlite-batched/redis-batched" not in report.ratios


def test_report_helpers() -> None:
    assert median([]) == 0.0
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert machine_info()["cpus"] >= 1
    report = BenchReport("queue", params={}, results=[{"a": 1.5, "b": 12345.0}])
    assert "| 1.500 | 12,345.0 |" in report.to_markdown(["a", "b"])


def test_the_cli_reports_a_skipped_backend(tmp_path: Path) -> None:
    out = tmp_path / "queue.json"
    args = ["bench", "queue", "--quick", "--items", "5", "--json", str(out)]
    args += ["--backend", "redis", "--redis", "redis://127.0.0.1:1/0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "redis: skipped" in result.output
    assert json.loads(out.read_text())["results"] == []


def test_machine_info_without_sysconf(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str) -> int:
        raise ValueError(name)

    monkeypatch.setattr("os.sysconf", refuse)
    assert machine_info()["memory_gb"] == 0.0
