"""End to end: ``autoissue run`` learns a repository's types from its labelled issues.

The emulator serves a file of issues, some labelled with the repository's own spellings and
some not; triage labels the unlabelled ones from what it learned, adds no type label where one
is, counts its abstentions, and keeps the model in the backend for the next run.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from autoissue.cli import main
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from tests.processors.test_learned_triage import _WORDS, corpus

pytestmark = pytest.mark.timeout(120)

LEARN = ["--option", "triage.learn=true"]


@pytest.fixture
def items() -> list[dict[str, Any]]:
    return corpus(labelled=12, unlabelled=5)


@pytest.fixture
def emulator(tmp_path: Path, items: list[dict[str, Any]]) -> Iterator[Emulator]:
    path = tmp_path / "issues.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    with run_in_thread(EmulatorConfig(repo="acme/widgets", issues_file=path)) as running:
        yield running


def labels(emulator: Emulator) -> dict[int, set[str]]:
    with urllib.request.urlopen(emulator.base_url + "/_emulator/state") as answer:
        state = json.load(answer)
    return {issue["number"]: set(issue["labels"]) for issue in state["repos"][0]["issues"]}


def run(emulator: Emulator, state_dir: Path, *options: str) -> dict[str, Any]:
    args = ["run", "--repo", "acme/widgets", "--base-url", emulator.base_url]
    result = CliRunner().invoke(
        main,
        [*args, "--state-dir", str(state_dir), *options],
        env={"GITHUB_TOKEN": "t0ken"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    newest = sorted((state_dir / "runs").glob("*.json"))[-1]
    summary: dict[str, Any] = json.loads(newest.read_text())
    newest.unlink()  # the next run's summary is the only one left
    return summary | {"output": result.output}


def test_run_labels_unlabelled_issues_from_what_the_repository_taught_it(
    emulator: Emulator, tmp_path: Path, items: list[dict[str, Any]]
) -> None:
    summary = run(emulator, tmp_path / "state", *LEARN, "--option", "triage.min_confidence=0.4")
    after = labels(emulator)
    for number, item in enumerate(items, 1):
        types = after[number] & set(_WORDS)
        assert types == ({item["truth"]} if not item["labels"] else set(item["labels"]))
    outcomes = summary["outcomes"]
    assert outcomes == {"type already labelled": 36, "type learned": 15}
    assert summary["failed"] == 0
    assert "trained on 36 labelled issues (Type: Bug, kind/feature, question)" in summary["output"]
    assert "type learned" in summary["output"]
    with sqlite3.connect(tmp_path / "state" / "state.db") as db:
        keys = [row[0] for row in db.execute("SELECT key FROM artifacts")]
    # The model, beside what the concurrency controller learned (the scaling history).
    models = [key for key in keys if not key.startswith("scaling-history:")]
    assert models == ["triage:types:acme/widgets:Type: Bug,kind/feature,question"]
    assert len(keys) == 2


def test_a_second_run_loads_the_stored_model_and_abstentions_are_counted(
    emulator: Emulator, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    run(emulator, state, *LEARN, "--dry-run")
    unsure = ["--option", "triage.min_confidence=0.999", "--option", "triage.abstain_label=triage?"]
    summary = run(emulator, state, *LEARN, *unsure)
    assert "loaded from the backend, trained on 36 labelled issues" in summary["output"]
    assert summary["outcomes"] == {"type already labelled": 36, "type abstained": 15}
    assert sum("triage?" in names for names in labels(emulator).values()) == 15


def test_a_repository_without_labelled_history_says_so_and_uses_keywords(
    tmp_path: Path,
) -> None:
    path = tmp_path / "issues.jsonl"
    lines = [{"title": "App crashes with a traceback", "body": "error"}, {"title": "Lorem"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with run_in_thread(EmulatorConfig(repo="acme/widgets", issues_file=path)) as emulator:
        summary = run(emulator, tmp_path / "state", *LEARN)
        after = labels(emulator)
    assert "triage cannot learn types: acme/widgets has no type labels" in summary["output"]
    assert "labelling by keywords" in summary["output"]
    assert summary["outcomes"] == {"type from keywords": 1, "type abstained": 1}
    assert "bug" in after[1]
    assert summary["notes"] == [
        "triage cannot learn types: acme/widgets has no type labels (bug, enhancement,"
        " question...); labelling by keywords"
    ]


def edit_labels(emulator: Emulator, number: int, labels: list[str]) -> None:
    """Set an issue's labels as a maintainer would, through the emulator's admin API."""
    request = urllib.request.Request(
        f"{emulator.base_url}/_emulator/issues/acme/widgets/{number}",
        data=json.dumps({"labels": labels}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


def test_maintainers_corrections_are_reported_and_a_removed_label_stays_off(
    emulator: Emulator, tmp_path: Path, items: list[dict[str, Any]]
) -> None:
    state = tmp_path / "state"
    run(emulator, state, *LEARN)
    first, second, third = range(len(items) - 14, len(items) - 11)  # three we labelled
    # GitHub's times have whole seconds: a person's edit lands in a later second than the
    # writes of a run that finished a moment ago (the ledger keeps that second).
    time.sleep(1.1)
    edit_labels(
        emulator,
        first,
        ["kind/feature" if items[first - 1]["truth"] != "kind/feature" else "question"],
    )
    edit_labels(emulator, second, ["priority:low"])  # the type label taken off
    summary = run(emulator, state, *LEARN)
    assert (
        "maintainers kept 13 of the 15 type labels triage added (0.87); 1 replaced, 1 removed"
        in summary["output"]
    )
    assert summary["outcomes"]["type removed by a maintainer"] == 1
    assert not labels(emulator)[second] & set(_WORDS)
    assert labels(emulator)[third] & set(_WORDS) == {items[third - 1]["truth"]}
