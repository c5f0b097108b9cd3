from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from autoissue.cli import main
from autoissue.cli._demo import verify


def state(*issues: dict[str, Any]) -> dict[str, Any]:
    return {"repos": [{"full_name": "o/r", "issues": list(issues), "pulls": []}]}


def issue(number: int, labels: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "labels": labels,
        "state": "open",
        "locked": False,
        "is_pull_request": False,
        **extra,
    }


def test_demo_runs_end_to_end_and_checks_every_label() -> None:
    result = CliRunner().invoke(main, ["demo", "--issues", "400", "--latency-ms", "1"])
    assert result.exit_code == 0, result.output
    assert "check passed: all" in result.output
    assert "issues/s" in result.output


def test_verify_accepts_a_correct_state() -> None:
    final = state(
        issue(1, ["bug", "priority:low"]),
        issue(2, ["wontfix"]),
        issue(3, [], is_pull_request=True),
        issue(4, [], state="closed"),
        issue(5, [], locked=True),
    )
    assert verify(final, "o/r", {1: frozenset({"bug", "priority:low"})}, listed=5) == []


def test_verify_finds_each_kind_of_problem() -> None:
    final = state(
        issue(1, ["priority:low"]),
        issue(2, ["bug"]),
        issue(3, ["priority:high"]),
    )
    planned = {1: frozenset({"bug", "priority:low"}), 2: frozenset()}
    assert verify(final, "o/r", planned, listed=2) == [
        "listed 2 of 3 items",
        "#1 lacks bug",
        "#2 has no priority label",
        "#3 was not processed",
    ]
