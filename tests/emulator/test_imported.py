"""The emulator serving real issues from a file: JSON Lines of issue objects, or a labelled CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autoissue import ConfigurationError
from autoissue.emulator import read_issues_file
from tests.emulator.conftest import Api, Start
from tests.learn._corpus import write_corpus


def _row(repo: str, label: str, title: str, body: str = "") -> dict[str, str]:
    return {"repo": repo, "created_at": "", "label": label, "title": title, "body": body}


def _jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_a_csv_gives_the_rows_of_the_served_repository_in_file_order(tmp_path: Path) -> None:
    rows = [
        _row("acme/widgets", "bug", "It crashes", "Traceback"),
        _row("other/repo", "question", "Not ours"),
        _row("acme/widgets", "", "Unlabelled one"),
    ]
    records = read_issues_file(write_corpus(tmp_path / "issues.csv", rows), "acme/widgets")
    assert [(r.number, r.title, r.labels, r.state) for r in records] == [
        (1, "It crashes", ("bug",), "open"),
        (2, "Unlabelled one", (), "open"),
    ]
    assert records[0].body == "Traceback"
    assert records[0].created_at < records[1].created_at  # spread along the epoch in order


def test_json_lines_keep_labels_states_times_and_leave_pull_requests_out(tmp_path: Path) -> None:
    first_item = {
        "number": 40,
        "title": "First",
        "body": "text",
        "labels": [{"name": "bug"}, "P1"],
        "user": {"login": "octocat"},
        "created_at": "2024-01-02T03:04:05Z",
        "updated_at": "2024-02-01T00:00:00Z",
        "state": "closed",
        "state_reason": "not_planned",
        "closed_at": "2024-02-01T00:00:00Z",
        "locked": True,
    }
    pull = {"number": 41, "title": "A pull request", "pull_request": {"url": "x"}}
    second_item = {"number": 42, "title": "Second", "body": None, "labels": [{"name": " "}, 7]}
    items = [first_item, pull, second_item | {"created_at": "yesterday", "pull_request": None}]
    records = read_issues_file(_jsonl(tmp_path / "issues.jsonl", items), "acme/widgets")
    first, second = records
    assert (first.number, first.labels, first.user, first.locked) == (
        1,
        ("bug", "P1"),
        "octocat",
        True,
    )
    assert (first.state, first.state_reason) == ("closed", "not_planned")
    assert first.created_at == 1_704_164_645
    assert first.updated_at == first.closed_at == 1_706_745_600
    assert (second.number, second.title, second.body, second.labels) == (2, "Second", None, ())
    assert (second.user, second.state) == ("ghost", "open")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("issues.txt", "x", r"must end in one of \.csv, \.jsonl, \.ndjson$"),
        ("issues.jsonl", "{not json\n", r"issues\.jsonl:1: not JSON"),
        ("issues.ndjson", '\n{"title": 3}\n', r"ndjson:2: not an issue object with a title$"),
        ("issues.jsonl", '["a list"]\n', r":1: not an issue object"),
        ("issues.jsonl", "\n\n", r"holds no issue of acme/widgets$"),
        ("issues.csv", "repo,label,title\n", r"lacks column|body"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        read_issues_file(path, "acme/widgets")


def test_a_csv_without_the_repository_names_the_ones_it_has(tmp_path: Path) -> None:
    path = write_corpus(tmp_path / "issues.csv", [_row("a/b", "bug", "x"), _row("c/d", "", "y")])
    with pytest.raises(ConfigurationError, match=r"no issue of acme/widgets \(it has a/b, c/d\)$"):
        read_issues_file(path, "acme/widgets")


def test_a_missing_or_undecodable_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"cannot read issues file .*missing\.jsonl"):
        read_issues_file(tmp_path / "missing.jsonl", "acme/widgets")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"title": "caf\xe9"}\n')
    with pytest.raises(ConfigurationError, match="cannot read issues file"):
        read_issues_file(latin, "acme/widgets")


async def test_the_emulator_serves_the_file_and_a_reset_restores_it(
    start: Start, api: Api, tmp_path: Path
) -> None:
    rows = [_row("acme/widgets", "bug", "Crash"), _row("acme/widgets", "", "Needs a type")]
    emulator = await start(issues_file=write_corpus(tmp_path / "issues.csv", rows))
    base = f"{emulator.base_url}/repos/acme/widgets/issues"
    status, _, listed = await api("GET", base, params={"state": "all", "direction": "asc"})
    assert status == 200
    assert [(i["number"], i["title"], [x["name"] for x in i["labels"]]) for i in listed] == [
        (1, "Crash", ["bug"]),
        (2, "Needs a type", []),
    ]
    await api("POST", f"{base}/2/labels", json=["question"])
    status, _, body = await api("POST", f"{emulator.base_url}/_emulator/reset")
    assert (status, body) == (200, {"reset": True, "issues": 2})
    _, _, again = await api("GET", f"{base}/2")
    assert again["labels"] == []


async def test_a_file_that_cannot_be_served_stops_the_emulator_at_start(
    start: Start, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match=r"cannot read issues file .*nothing\.jsonl"):
        await start(issues_file=tmp_path / "nothing.jsonl")
