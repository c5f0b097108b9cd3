"""Parsing list parameters and building ``link`` headers: pure code, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

__all__ = [
    "IssueQuery",
    "QueryError",
    "RepoQuery",
    "link_header",
    "page_args",
    "parse_issue_query",
    "parse_repo_query",
    "since",
]

_STATES = ("open", "closed", "all")
_SORTS = ("created", "updated", "comments")
_REPO_SORTS = ("created", "updated", "pushed", "full_name")
_DIRECTIONS = ("asc", "desc")


class QueryError(ValueError):
    """A query parameter GitHub would refuse; ``field`` names it."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"invalid {field}: {value!r}")
        self.field = field
        self.value = value


@dataclass(frozen=True, slots=True)
class IssueQuery:
    """The parameters of ``GET .../issues``; ``labels`` are lower-cased and sorted."""

    state: str = "open"
    labels: tuple[str, ...] = ()
    sort: str = "created"
    direction: str = "desc"
    since: int | None = None
    page: int = 1
    per_page: int = 30


def _choice(query: Mapping[str, str], field: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(field, default) or default
    if value not in allowed:
        raise QueryError(field, value)
    return value


def since(query: Mapping[str, str]) -> int | None:
    """Parse ``since`` (ISO 8601) into epoch seconds; raise :class:`QueryError` when invalid."""
    value = query.get("since")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise QueryError("since", value) from None
    if moment.tzinfo is None:
        # GitHub reads a timestamp without offset as UTC.
        return math.floor(moment.replace(tzinfo=UTC).timestamp())
    return math.floor(moment.timestamp())


def page_args(query: Mapping[str, str]) -> tuple[int, int]:
    """Return ``(page, per_page)``: GitHub's defaults for missing or junk values, at most 100."""
    return max(_int(query.get("page"), 1), 1), min(max(_int(query.get("per_page"), 30), 1), 100)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def parse_issue_query(query: Mapping[str, str]) -> IssueQuery:
    """Read the issue-list parameters GitHub documents; raise :class:`QueryError` on bad values."""
    labels = tuple(sorted({n.strip().lower() for n in query.get("labels", "").split(",")} - {""}))
    page, per_page = page_args(query)
    return IssueQuery(
        state=_choice(query, "state", _STATES, "open"),
        labels=labels,
        sort=_choice(query, "sort", _SORTS, "created"),
        direction=_choice(query, "direction", _DIRECTIONS, "desc"),
        since=since(query),
        page=page,
        per_page=per_page,
    )


@dataclass(frozen=True, slots=True)
class RepoQuery:
    """The parameters of the repository lists (``/orgs/{org}/repos``, ``/user/repos``)."""

    sort: str
    direction: str
    page: int
    per_page: int


def parse_repo_query(query: Mapping[str, str], default_sort: str) -> RepoQuery:
    """Read ``sort``, ``direction`` and the page: by name ascending, else newest first."""
    sort = _choice(query, "sort", _REPO_SORTS, default_sort)
    direction = _choice(query, "direction", _DIRECTIONS, "asc" if sort == "full_name" else "desc")
    page, per_page = page_args(query)
    return RepoQuery(sort=sort, direction=direction, page=page, per_page=per_page)


def link_header(url: str, query: Mapping[str, str], page: int, last: int) -> str | None:
    """GitHub's ``link`` header for ``page`` of ``last`` pages at ``url``; ``None`` for one page.

    The original parameters are kept in their order and ``page`` goes last, as in the recorded
    responses; relations come in GitHub's order: prev, next, last, first.
    """
    if last <= 1 and page <= 1:
        return None
    params = [(key, value) for key, value in query.items() if key != "page"]

    def ref(number: int, rel: str) -> str:
        return f'<{url}?{urlencode([*params, ("page", str(number))])}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(ref(min(page - 1, max(last, 1)), "prev"))
    if page < last:
        links += [ref(page + 1, "next"), ref(last, "last")]
    if page > 1:
        links.append(ref(1, "first"))
    return ", ".join(links)
