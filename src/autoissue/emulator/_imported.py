"""Real issues for the emulator to serve, read from a file instead of generated.

Two layouts: JSON Lines of GitHub issue objects (``.jsonl``/``.ndjson``: one object per line,
as the REST API returns them; pull requests are left out), or a labelled CSV in the NLBSE'24
layout (``.csv``: columns ``repo``, ``label``, ``title``, ``body``; only the rows of the
served repository, each an open issue labelled with its ``label`` when it has one). Items are
numbered from 1 in file order, as the emulator's routes expect; the times a file does not give
are spread over the seeded epoch in that order.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autoissue._exceptions import ConfigurationError, LearningError
from autoissue.emulator._data import EPOCH_END, EPOCH_START
from autoissue.emulator._models import IssueRecord
from autoissue.learn import read_labelled_csv

__all__ = ["ISSUE_FILE_SUFFIXES", "read_issues_file"]

#: The file names ``read_issues_file`` reads, by how they end.
ISSUE_FILE_SUFFIXES = (".csv", ".jsonl", ".ndjson")
_GHOST = "ghost"  # GitHub's login for a deleted account, here for an issue without a user


def read_issues_file(path: Path, repo: str) -> list[IssueRecord]:
    """The issues ``path`` holds for ``repo``, numbered from 1 in file order.

    Raises :class:`~autoissue.ConfigurationError` in one line naming the file (and the line
    of a bad JSON object) when it cannot be read, or holds no issue of ``repo``.
    """
    suffix = path.suffix.lower()
    if suffix not in ISSUE_FILE_SUFFIXES:
        known = ", ".join(ISSUE_FILE_SUFFIXES)
        raise ConfigurationError(f"issues file {path} must end in one of {known}")
    fields = list(_csv_fields(path, repo) if suffix == ".csv" else _json_fields(path))
    if not fields:
        raise ConfigurationError(f"issues file {path} holds no issue of {repo}")
    return [_record(number, item, len(fields)) for number, item in enumerate(fields, 1)]


def _csv_fields(path: Path, repo: str) -> list[dict[str, Any]]:
    try:
        rows = read_labelled_csv(path)
    except LearningError as error:
        raise ConfigurationError(str(error)) from None
    mine = [row for row in rows if row.repo == repo]
    if rows and not mine:
        found = ", ".join(sorted({row.repo for row in rows})[:10])
        raise ConfigurationError(f"issues file {path} holds no issue of {repo} (it has {found})")
    return [
        {"title": row.title, "body": row.body, "labels": [row.label] if row.label else []}
        for row in mine
    ]


def _json_fields(path: Path) -> Iterator[dict[str, Any]]:
    for line_number, line in _lines(path):
        try:
            item = json.loads(line)
        except ValueError as error:
            raise ConfigurationError(f"{path}:{line_number}: not JSON ({error})") from None
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise ConfigurationError(f"{path}:{line_number}: not an issue object with a title")
        if item.get("pull_request") is None:
            yield item


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield number, line
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigurationError(f"cannot read issues file {path}: {reason}") from None


def _record(number: int, item: dict[str, Any], count: int) -> IssueRecord:
    # Without times of its own, an item is created at its place in the file along the epoch.
    spread = EPOCH_START + (EPOCH_END - EPOCH_START) * (number - 1) // max(count, 1)
    created = _epoch(item.get("created_at")) or spread
    record = IssueRecord(
        number=number,
        id=1_000_000 + number,
        title=item["title"],
        body=_text(item.get("body")),
        user=_login(item.get("user")),
        labels=tuple(_label_names(item.get("labels"))),
        created_at=created,
    )
    record.updated_at = max(created, _epoch(item.get("updated_at")) or created)
    record.locked = item.get("locked") is True
    if item.get("state") == "closed":
        record.close(_epoch(item.get("closed_at")) or record.updated_at, _reason(item))
    return record


def _epoch(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _login(user: object) -> str:
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) and login else _GHOST


def _label_names(labels: object) -> Iterator[str]:
    # GitHub gives label objects; a hand-written file may give plain names.
    for label in labels if isinstance(labels, list) else ():
        name = label.get("name") if isinstance(label, dict) else label
        if isinstance(name, str) and name.strip():
            yield name


def _reason(item: dict[str, Any]) -> str:
    reason = item.get("state_reason")
    return reason if reason in ("completed", "not_planned") else "completed"
