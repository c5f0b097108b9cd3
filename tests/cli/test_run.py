from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autoissue.cli import main
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.model import decode_plan, priority_from_labels


def emulator_state(emulator: Emulator) -> dict[str, Any]:
    with urllib.request.urlopen(emulator.base_url + "/_emulator/state") as answer:
        state: dict[str, Any] = json.load(answer)
    return state


def labels_by_issue(state: dict[str, Any]) -> dict[int, set[str]]:
    return {issue["number"]: set(issue["labels"]) for issue in state["repos"][0]["issues"]}


def invoke(args: list[str], token: str | None = "t0ken") -> Any:
    env = {"GITHUB_TOKEN": token} if token is not None else {"GITHUB_TOKEN": ""}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_run_labels_the_repository_and_saves_a_summary(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    seeded = emulator_state(fresh_emulator)
    state_dir = tmp_path / "state"
    args = ["run", "--repo", "acme/widgets", "--base-url", fresh_emulator.base_url]
    result = invoke([*args, "--state-dir", str(state_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    summaries = list((state_dir / "runs").glob("*.json"))
    assert len(summaries) == 1
    summary = json.loads(summaries[0].read_text())
    assert summary["failed"] == 0
    assert summary["processed"] > 100
    before = labels_by_issue(seeded)
    after = labels_by_issue(emulator_state(fresh_emulator))
    changed = {number for number, labels in after.items() if labels != before[number]}
    assert len(changed) == summary["writes"] <= summary["processed"]  # one labels call each
    assert all(after[number] > before[number] for number in changed)
    assert all(priority_from_labels(after[number]) is not None for number in changed)
    assert "summary saved to" in result.output


def test_dry_run_writes_plans_and_no_labels(fresh_emulator: Emulator, tmp_path: Path) -> None:
    seeded = emulator_state(fresh_emulator)
    plans = tmp_path / "plans.jsonl"
    args = ["run", "--repo", "acme/widgets", "--base-url", fresh_emulator.base_url, "--dry-run"]
    result = invoke([*args, "--plan-out", str(plans), "--state-dir", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    decoded = [decode_plan(line) for line in plans.read_bytes().splitlines()]
    assert len(decoded) > 100
    assert labels_by_issue(emulator_state(fresh_emulator)) == labels_by_issue(seeded)
    assert "writes (dry run)" in result.output


def test_dry_run_without_plan_out_saves_plans_in_the_state_dir(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    args = ["run", "--repo", "acme/widgets", "--base-url", fresh_emulator.base_url, "--dry-run"]
    result = invoke([*args, "--state-dir", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "plans").glob("*.jsonl"))) == 1


def test_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    result = invoke(["run", "--repo", "acme/widgets"], token=None)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: GITHUB_TOKEN is not set: export a token that can read and label the issues"
    )


def test_bad_repository_name_is_one_clear_line() -> None:
    result = invoke(["run", "--repo", "not a repo"])
    assert result.exit_code == 1
    assert "repository must look like OWNER/NAME" in result.output
    assert "Traceback" not in result.output


def test_bad_base_url_is_one_clear_line() -> None:
    result = invoke(["run", "--repo", "a/b", "--base-url", "api.github.com"])
    assert result.exit_code == 1
    assert "base URL must be http(s)://HOST[/PATH]" in result.output


def test_unknown_repository_says_not_found(emulator: Emulator) -> None:
    result = invoke(["run", "--repo", "acme/nothing", "--base-url", emulator.base_url, "--quiet"])
    assert result.exit_code == 1
    assert f"repository acme/nothing not found at {emulator.base_url}" in result.output


def test_unreachable_host_says_so() -> None:
    result = invoke(["run", "--repo", "a/b", "--base-url", "http://127.0.0.1:9", "--quiet"])
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output


def test_rejected_token_says_so_and_never_prints_it() -> None:
    config = EmulatorConfig(issues=10, tokens=frozenset({"the-good-one"}))
    with run_in_thread(config) as emulator:
        args = ["run", "--repo", "acme/widgets", "--base-url", emulator.base_url]
        result = invoke(args, token="wrong-secret-value")
    assert result.exit_code == 1
    assert "GitHub rejected the token (Bad credentials): check GITHUB_TOKEN" in result.output
    assert "wrong-secret-value" not in result.output


def test_unknown_processor_is_one_clear_line(emulator: Emulator) -> None:
    args = ["run", "--repo", "acme/widgets", "--base-url", emulator.base_url, "--processor", "x"]
    result = invoke(args)
    assert result.exit_code == 1
    assert "unknown processor 'x'" in result.output


@pytest.mark.parametrize(
    "entry", [["-m", "autoissue"], ["-c", "from autoissue.cli import main; main()"]]
)
def test_runs_as_a_module(entry: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *entry, "--help"], capture_output=True, text=True, check=True
    )
    assert "Process a GitHub repository's issues in bulk." in done.stdout
    for command in ("run", "demo", "emulator"):
        assert command in done.stdout


def test_run_as_a_github_app_installation(fresh_emulator: Emulator, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    app = ["--app-id", "42", "--app-key-file", str(key_file), "--installation-id", "7"]
    args = ["run", "--repo", "acme/widgets", "--base-url", fresh_emulator.base_url, *app]
    result = invoke([*args, "--state-dir", str(tmp_path), "--quiet"], token=None)
    assert result.exit_code == 0, result.output
    assert fresh_emulator.stats()["requests"][
        "POST /app/installations/{installation_id}/access_tokens"
    ] == {"201": 1}


def test_an_incomplete_github_app_setup_is_one_clear_line(tmp_path: Path) -> None:
    result = invoke(["run", "--repo", "a/b", "--app-id", "42"], token=None)
    assert result.exit_code == 1
    assert "a GitHub App needs all three" in result.output


def test_the_token_budget_is_shared_through_the_backend(tmp_path: Path) -> None:
    config = EmulatorConfig(issues=30, limits="github")
    db = tmp_path / "shared.db"
    with run_in_thread(config) as emulator:
        args = ["run", "--repo", "acme/widgets", "--base-url", emulator.base_url, "--dry-run"]
        args += ["--backend", f"sqlite:///{db}", "--state-dir", str(tmp_path), "--quiet"]
        result = invoke(args, token="the-secret-token")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT key, state FROM github_budget").fetchall()
    assert len(rows) == 1
    key, state = rows[0]
    assert key.startswith("github-budget:")
    assert b"the-secret-token" not in state
    assert "the-secret-token" not in key


def test_a_rerun_pays_for_unchanged_pages_with_free_304s(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    args = ["run", "--repo", "acme/widgets", "--base-url", fresh_emulator.base_url, "--dry-run"]
    args += ["--state-dir", str(tmp_path), "--quiet", "--state", "all"]
    assert invoke(args).exit_code == 0
    first = fresh_emulator.stats()["requests"]
    assert invoke(args).exit_code == 0
    second = fresh_emulator.stats()["requests"]
    pages = ["GET /repos/{owner}/{repo}/issues", "GET /repositories/{id}/issues"]
    assert all("304" not in first.get(route, {}) for route in pages)
    assert all(second[route]["304"] == second[route]["200"] for route in pages)
    assert len(list((tmp_path / "etag-cache").glob("*.msgpack"))) == 1


def test_a_damaged_etag_cache_is_ignored_not_fatal(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    args = ["run", "--repo", "acme/widgets", "--base-url", fresh_emulator.base_url, "--dry-run"]
    args += ["--state-dir", str(tmp_path), "--quiet"]
    assert invoke(args).exit_code == 0
    (saved,) = (tmp_path / "etag-cache").glob("*.msgpack")
    saved.write_bytes(b"not a cache")
    assert invoke(args).exit_code == 0
    assert saved.read_bytes() != b"not a cache"
