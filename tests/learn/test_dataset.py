"""Reading labelled issues from a CSV: the dataset's layout, giant fields, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoissue import LearningError
from autoissue.learn import CSV_COLUMNS, LabelledIssue, read_labelled_csv
from tests.learn._corpus import corpus_rows, write_corpus


def test_reads_every_row_in_order(tmp_path: Path) -> None:
    rows = corpus_rows(("acme/a", "acme/b"), per_type=2)
    issues = read_labelled_csv(write_corpus(tmp_path / "d.csv", rows))
    assert [issue.repo for issue in issues] == [row["repo"] for row in rows]
    assert issues[0] == LabelledIssue("acme/a", rows[0]["title"], rows[0]["body"], "bug")


def test_a_body_beyond_csv_default_field_limit_is_read_whole(tmp_path: Path) -> None:
    body = "x" * (1 << 20)  # 1 MiB: csv's default limit is 128 KiB
    row = {"repo": "acme/a", "created_at": "", "label": "bug", "title": "t", "body": body}
    (issue,) = read_labelled_csv(write_corpus(tmp_path / "d.csv", [row]))
    assert issue.body == body


def test_labels_are_stripped_and_empty_fields_are_empty(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("repo,label,title,body\nacme/a, bug ,,\n", encoding="utf-8")
    assert read_labelled_csv(path) == [LabelledIssue("acme/a", "", "", "bug")]


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("repo,title\nacme/a,t\n", encoding="utf-8")
    with pytest.raises(LearningError, match="lacks the column\\(s\\) label, body"):
        read_labelled_csv(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(LearningError, match=r"cannot read labelled issues from .*nope\.csv"):
        read_labelled_csv(tmp_path / "nope.csv")


def test_a_file_that_is_not_utf8_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"repo,label,title,body\nacme/a,bug,\xff\xfe,b\n")
    with pytest.raises(LearningError, match=r"d\.csv"):
        read_labelled_csv(path)


def test_the_columns_are_the_datasets() -> None:
    assert CSV_COLUMNS == ("repo", "label", "title", "body")
