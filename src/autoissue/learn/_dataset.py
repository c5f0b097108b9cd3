"""Labelled issues read from a CSV file in the layout of the NLBSE'24 issue-report dataset.

The file needs the columns ``repo``, ``label``, ``title`` and ``body``; others, such as
``created_at``, are ignored. It is read whole: a labelled dataset is thousands of issues.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autoissue._exceptions import LearningError

#: The columns a labelled CSV must have.
CSV_COLUMNS = ("repo", "label", "title", "body")


@dataclass(frozen=True)
class LabelledIssue:
    """One issue's text and the type its maintainers gave it (``""`` when it has none)."""

    repo: str
    title: str
    body: str
    label: str


def read_labelled_csv(path: Path) -> list[LabelledIssue]:
    """Every row of a labelled CSV (see :data:`CSV_COLUMNS`), in file order.

    Raises :class:`~autoissue.LearningError` naming the file when it cannot be read, is not
    UTF-8, or lacks a column.
    """
    # Real issue bodies outgrow csv's default 128 KiB field limit.
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(_rows(csv.DictReader(handle), path))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LearningError(f"cannot read labelled issues from {path}: {error}") from error


def _rows(reader: csv.DictReader[str], path: Path) -> Iterator[LabelledIssue]:
    missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or ())]
    if missing:
        raise LearningError(f"{path} lacks the column(s) {', '.join(missing)}")
    for row in reader:
        yield LabelledIssue(
            repo=row["repo"] or "",
            title=row["title"] or "",
            body=row["body"] or "",
            label=(row["label"] or "").strip(),
        )
