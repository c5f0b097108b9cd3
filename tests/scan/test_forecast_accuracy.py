"""The must-show: a scan of a 10,000-issue repository forecasts the real run's calls within 10%."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from autoissue.cli import main
from autoissue.emulator import EmulatorConfig, run_in_thread
from autoissue.engine import Engine, EngineOptions
from autoissue.github import GitHubClient
from autoissue.processors import Triage

REPO = "acme/widgets"


async def real_run(base_url: str) -> tuple[int, int]:
    """The calls a real triage run makes, counted by its client, and the writes it made."""
    async with GitHubClient(base_url=base_url, token="t0k3n") as client:
        await client.warm_up()
        await client.get_repository(REPO)
        engine = Engine(client, REPO, Triage(), options=EngineOptions(state="open"))
        summary = await engine.run()
        return client.statistics().requests, summary.writes


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_scan_forecasts_the_calls_of_a_10000_issue_run_within_10_percent(tmp_path: object) -> None:
    config = EmulatorConfig(repo=REPO, issues=10_000, seed=3, latency_ms=0, faults=0)
    with run_in_thread(config) as emulator:
        argv = ["scan", "--repo", REPO, "--base-url", emulator.base_url, "--format", "json"]
        argv += ["--state-dir", str(tmp_path), "--limit", "1"]
        scanned = CliRunner().invoke(main, argv, env={"GITHUB_TOKEN": "t0k3n"})
        assert scanned.exit_code == 0, scanned.output
        forecast = json.loads(scanned.output)["forecast"]
        assert emulator.stats()["requests"].keys() <= {
            "GET /rate_limit",
            "GET /repos/{owner}/{repo}",
            "GET /repos/{owner}/{repo}/issues",
            "GET /repositories/{id}/issues",
        }
        actual, writes = asyncio.run(real_run(emulator.base_url))
    predicted = forecast["calls"]
    assert abs(predicted - actual) <= 0.1 * actual, (predicted, actual)
    # Issues whose labels already say their type and priority need no write.
    assert forecast["writes"] == writes > 4_000
