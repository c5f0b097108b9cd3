"""``autoissue run`` over several repositories: --repo repeated, --org, and bad choices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from autoissue.cli import main
from autoissue.cli._repos import RepoChoice
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread

REPOS = ("acme/alpha", "acme/beta", "other/gamma")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repos=REPOS, issues=40)) as running:
        yield running


def run(emulator: Emulator, tmp_path: Path, *args: str) -> Any:
    argv = ["run", "--base-url", emulator.base_url, "--state-dir", str(tmp_path), "--quiet"]
    return CliRunner().invoke(main, [*argv, "--dry-run", *args], env={"GITHUB_TOKEN": "t0k3n"})


def saved_summary(tmp_path: Path) -> dict[str, Any]:
    [path] = (tmp_path / "runs").glob("*.json")
    summary: dict[str, Any] = json.loads(path.read_text())
    return summary


def test_repeated_repos_run_together_with_a_line_each(emulator: Emulator, tmp_path: Path) -> None:
    result = run(emulator, tmp_path, "--repo", "acme/alpha", "--repo", "other/gamma")
    assert result.exit_code == 0, result.output
    summary = saved_summary(tmp_path)
    assert sorted(summary["by_repo"]) == ["acme/alpha", "other/gamma"]
    assert "by repository" in result.output
    assert summary["repo"] == "acme/alpha, other/gamma"


def test_an_organisation_brings_its_repositories_and_a_pattern_filters_them(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = run(emulator, tmp_path / "all", "--org", "acme")
    assert result.exit_code == 0, result.output
    assert sorted(saved_summary(tmp_path / "all")["by_repo"]) == ["acme/alpha", "acme/beta"]
    result = run(emulator, tmp_path / "beta", "--org", "acme", "--repo-pattern", "b*")
    assert result.exit_code == 0, result.output
    assert sorted(saved_summary(tmp_path / "beta")["by_repo"]) == ["acme/beta"]


def test_a_pattern_that_matches_nothing_is_one_clear_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = run(emulator, tmp_path, "--org", "acme", "--repo-pattern", "zzz*")
    assert result.exit_code == 1
    assert "no repository to work on: the repositories of organisation acme matching zzz*" in (
        result.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name the repositories: --repo OWNER/NAME, --org or --all-repos"),
        (("--org", "acme", "--all-repos"), "--org and --all-repos exclude each other"),
        (("--repo", "acme/alpha", "--repo-pattern", "a*"), "--repo-pattern filters --org"),
        (("--repo", "not a repo"), "repository must look like OWNER/NAME"),
    ],
)
def test_a_choice_that_is_no_choice_is_refused(
    emulator: Emulator, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(emulator, tmp_path, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


class Listed:
    def __init__(self, name: str, *, archived: bool = False, fork: bool = False) -> None:
        self.full_name, self.archived, self.fork, self.open_issues_count = name, archived, fork, 0


def test_a_choice_keeps_archived_repositories_and_forks_only_when_asked() -> None:
    plain = RepoChoice(all_repos=True)
    assert plain.keeps(Listed("a/b"))
    assert not plain.keeps(Listed("a/b", archived=True))
    assert not plain.keeps(Listed("a/b", fork=True))
    wide = RepoChoice(all_repos=True, archived=True, forks=True, pattern="b")
    assert wide.keeps(Listed("a/b", archived=True, fork=True))
    assert not wide.keeps(Listed("b/a"))  # the pattern is for the name, not the owner
    assert plain.describe() == "the repositories of the installation"
    assert RepoChoice(explicit=("a/b", "c/d")).describe() == "a/b, c/d"
