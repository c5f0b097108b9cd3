"""``autoissue scan`` over several repositories: one run's order, caps and forecast."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from autoissue.cli import main
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.engine import Engine, EngineOptions
from autoissue.engine._caps import in_turns
from autoissue.github import GitHubClient
from autoissue.model import decode_plan
from autoissue.processors import Triage
from autoissue.scan import ScanOptions, scan_many

REPOS = ("acme/alpha", "acme/beta", "other/gamma")
TOKEN = "t0k3n"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(repos=REPOS, issues=60, seed=11, latency_ms=0, faults=0)
    with run_in_thread(config) as running:
        yield running


def invoke(emulator: Emulator, tmp_path: Path, *args: str) -> Result:
    argv = ["scan", "--base-url", emulator.base_url, "--state-dir", str(tmp_path), *args]
    env = {"GITHUB_TOKEN": TOKEN, "COLUMNS": "250"}
    return CliRunner().invoke(main, argv, env=env, catch_exceptions=False)


def scanned(emulator: Emulator, tmp_path: Path, *args: str) -> dict[str, Any]:
    result = invoke(emulator, tmp_path, "--format", "json", "--limit", "0", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_an_organisation_is_scanned_as_one_run(emulator: Emulator, tmp_path: Path) -> None:
    data = scanned(emulator, tmp_path, "--org", "acme")
    assert sorted(data["repos"]) == ["acme/alpha", "acme/beta"]
    assert data["repo"] is None
    assert [row["repo"] for row in data["by_repo"]] == data["repos"]
    assert data["listed"] == sum(row["listed"] for row in data["by_repo"]) > 60
    assert {issue["repo"] for issue in data["issues"]} == {"acme/alpha", "acme/beta"}
    # The organisation's repositories were found by listing them: that call is forecast.
    assert "GET /orgs/acme/repos" in data["forecast"]["by_endpoint"]
    assert "GET /repos/{owner}/{repo}" not in data["forecast"]["by_endpoint"]


def test_within_a_priority_the_repositories_take_turns(emulator: Emulator, tmp_path: Path) -> None:
    data = scanned(emulator, tmp_path, "--repo", "acme/alpha", "--repo", "acme/beta")
    admitted = [issue for issue in data["issues"] if issue["admitted"]]
    for _, group in itertools.groupby(admitted, key=lambda issue: issue["priority"]):
        repos = [issue["repo"] for issue in group]
        pairs = min(repos.count("acme/alpha"), repos.count("acme/beta"))
        head = repos[: 2 * pairs]
        assert head == ["acme/alpha", "acme/beta"] * pairs
    ranks = [issue["priority"] for issue in admitted]
    order = ["critical", "high", "medium", "low"]
    assert ranks == sorted(ranks, key=order.index)


def test_a_run_cap_keeps_the_most_urgent_of_all_as_the_run_does(
    emulator: Emulator, tmp_path: Path
) -> None:
    repos = ("--repo", "acme/alpha", "--repo", "other/gamma")
    data = scanned(emulator, tmp_path / "scan", *repos, "--max-issues", "7")
    admitted = {(i["repo"], i["number"]) for i in data["issues"] if i["admitted"]}
    assert len(admitted) == data["admitted"] == 7
    assert data["skipped"]["cap reached"] > 0
    plans = tmp_path / "plans.jsonl"
    argv = ["run", *repos, "--base-url", emulator.base_url, "--state-dir", str(tmp_path / "run")]
    argv += ["--dry-run", "--quiet", "--max-issues", "7", "--plan-out", str(plans)]
    ran = CliRunner().invoke(main, argv, env={"GITHUB_TOKEN": TOKEN})
    assert ran.exit_code == 0, ran.output
    lines = plans.read_bytes().splitlines()
    planned = {(plan.repo, plan.issue) for plan in map(decode_plan, lines)}
    assert planned == admitted


def test_a_cap_per_repository_caps_each(emulator: Emulator, tmp_path: Path) -> None:
    data = scanned(emulator, tmp_path, "--org", "acme", "--max-issues-per-repo", "3")
    assert [row["admitted"] for row in data["by_repo"]] == [3, 3]
    assert data["admitted"] == 6
    assert all(row["skipped"]["cap reached"] > 0 for row in data["by_repo"])


def test_the_table_shows_each_repository_and_says_as_each_is_listed(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = invoke(emulator, tmp_path, "--org", "acme", "--limit", "4")
    assert result.exit_code == 0, result.output
    assert re.search(r"listed acme/alpha: \d+ issues \([12] of 2\)", result.output)
    assert "(2 of 2)" in result.output
    assert "2 repositories" in result.output
    assert "(4 of " in result.output
    assert "binding constraint" in result.output


def test_one_repository_reads_as_before_with_no_progress_lines(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = invoke(emulator, tmp_path, "--repo", "acme/beta", "--limit", "0")
    assert result.exit_code == 0, result.output
    assert "triage on acme/beta:" in result.output
    assert "listed acme/beta" not in result.output
    data = scanned(emulator, tmp_path, "--repo", "acme/beta")
    assert data["repo"] == "acme/beta"
    assert data["repos"] == ["acme/beta"]


def test_no_repository_is_one_clear_line(emulator: Emulator, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["scan", "--base-url", emulator.base_url], env={"GITHUB_TOKEN": TOKEN}
    )
    assert result.exit_code == 1
    assert "name the repositories: --repo OWNER/NAME, --org or --all-repos" in result.output


async def calls_of_a_real_run(base_url: str, repos: tuple[str, ...]) -> int:
    async with GitHubClient(base_url=base_url, token=TOKEN) as client:
        await client.warm_up()
        for repo in repos:
            await client.get_repository(repo)
        engine = Engine(client, repos, Triage(), options=EngineOptions(state="open"))
        await engine.run()
        return client.statistics().requests


async def forecast_calls(base_url: str, repos: tuple[str, ...]) -> int:
    async with GitHubClient(base_url=base_url, token=TOKEN) as client:
        await client.warm_up()
        scan = await scan_many(client, repos, Triage(), options=ScanOptions())
        assert [report.repo for report in scan.reports] == list(repos)
        return scan.forecast.calls.total


def test_the_forecast_of_several_is_the_calls_of_one_run_over_them() -> None:
    config = EmulatorConfig(repos=REPOS, issues=300, seed=5, latency_ms=0, faults=0)
    with run_in_thread(config) as running:
        predicted = asyncio.run(forecast_calls(running.base_url, REPOS))
        actual = asyncio.run(calls_of_a_real_run(running.base_url, REPOS))
    assert abs(predicted - actual) <= 0.1 * actual, (predicted, actual)


def test_in_turns_takes_one_of_each_until_all_are_spent() -> None:
    assert in_turns([[1, 2, 3], [0], [], [4, 5]]) == [1, 0, 4, 2, 5, 3]
    assert in_turns([]) == []
    assert in_turns([[], []]) == []
