"""Filtered, sorted and paginated views of the store, cached between requests.

A *selection* (state, labels, sort) is the matching items in ascending sort order; it is rebuilt
only when a version it depends on moves: the created order depends on states and labels (and
on labels only when filtering by them), the updated and comments orders on every change.
``since`` with the updated order walks back from the newest item, so incremental scans cost
what they return. Encoded pages are cached per content version.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import takewhile
from operator import attrgetter
from typing import TypeVar

import msgspec

from autoissue.emulator._models import IssueRecord
from autoissue.emulator._query import IssueQuery
from autoissue.emulator._store import Encoded, RepoStore, digest

__all__ = ["Listing", "page_slice"]

_SELECTIONS_LIMIT = 64
_PAGES_LIMIT = 2048
_updated_at = attrgetter("updated_at")
T = TypeVar("T")


def page_slice(items: Sequence[T], start: int, page: int, per_page: int, asc: bool) -> list[T]:
    """Page ``page`` of ``items[start:]`` (kept in ascending order), read in either direction."""
    if asc:
        low = start + (page - 1) * per_page
        return list(items[low : low + per_page])
    high = len(items) - (page - 1) * per_page
    if high <= start:
        return []
    return list(items[max(start, high - per_page) : high][::-1])


def last_page(count: int, per_page: int) -> int:
    """The number of pages ``count`` items fill."""
    return math.ceil(count / per_page)


class Listing:
    """Answers list requests over one :class:`RepoStore`."""

    def __init__(self, store: RepoStore) -> None:
        self.store = store
        self._selections: dict[tuple[object, ...], tuple[object, list[IssueRecord]]] = {}
        self._pages: dict[IssueQuery, tuple[int, Encoded, int]] = {}
        self._lower: dict[tuple[str, ...], frozenset[str]] = {}

    def __repr__(self) -> str:
        return f"Listing(selections={len(self._selections)}, pages={len(self._pages)})"

    def issues(self, query: IssueQuery) -> tuple[Encoded, int]:
        """The encoded page ``query`` asks for, and the number of the last page."""
        cached = self._pages.get(query)
        if cached is not None and cached[0] == self.store.content_version:
            return cached[1], cached[2]
        items, start = self._select(query)
        chunk = page_slice(items, start, query.page, query.per_page, query.direction == "asc")
        page = self._encode(chunk)
        last = last_page(len(items) - start, query.per_page)
        if len(self._pages) >= _PAGES_LIMIT:
            self._pages.clear()
        self._pages[query] = (self.store.content_version, page, last)
        return page, last

    def _encode(self, chunk: list[IssueRecord]) -> Encoded:
        parts = [self.store.issue(rec) for rec in chunk]
        body = b"[" + b",".join(part.body for part in parts) + b"]"
        modified = max((part.modified for part in parts), default=0)
        return Encoded(body, modified, digest(b"".join(part.digest for part in parts)))

    def _select(self, query: IssueQuery) -> tuple[list[IssueRecord], int]:
        if query.since is not None and query.sort == "updated":
            return self._recent(query, query.since), 0
        key = (query.state, query.labels, query.sort)
        version = self._version(query)
        entry = self._selections.get(key)
        if entry is None or entry[0] != version:
            if len(self._selections) >= _SELECTIONS_LIMIT:
                self._selections.clear()
            entry = self._selections[key] = (version, self._compute(query))
        items = entry[1]
        if query.since is None:
            return items, 0
        return [rec for rec in items if rec.updated_at >= query.since], 0

    def _version(self, query: IssueQuery) -> object:
        store = self.store
        if query.sort != "created":
            return store.content_version
        return (store.state_version, store.label_version if query.labels else 0)

    def _recent(self, query: IssueQuery, since: int) -> list[IssueRecord]:
        """Items updated at or after ``since``, oldest first: a walk back from the newest.

        An incremental scan asks for few items, so this costs what it returns rather than a
        pass over the repository; the update order is always sorted (see ``RepoStore.touch``).
        """
        newest_first = reversed(self.store.updated_order.values())
        found = list(takewhile(lambda rec: rec.updated_at >= since, newest_first))
        found.reverse()
        return self._filter(query, found)

    def _compute(self, query: IssueQuery) -> list[IssueRecord]:
        if query.sort == "updated":
            order = list(self.store.updated_order.values())
        else:
            order = list(self.store.records)
        found = self._filter(query, order)
        if query.sort == "comments":
            found.sort(key=lambda rec: (len(rec.comments), rec.number))
        return found

    def _filter(self, query: IssueQuery, found: list[IssueRecord]) -> list[IssueRecord]:
        if query.state != "all":
            found = [rec for rec in found if rec.state == query.state]
        if query.labels:
            wanted = set(query.labels)
            found = [rec for rec in found if wanted <= self._lowered(rec.labels)]
        return found

    def _lowered(self, labels: tuple[str, ...]) -> frozenset[str]:
        found = self._lower.get(labels)
        if found is None:
            found = self._lower[labels] = frozenset(name.lower() for name in labels)
        return found

    def comments(
        self, rec: IssueRecord, page: int, per_page: int, since: int | None
    ) -> tuple[Encoded, int]:
        """A page of ``rec``'s comments (oldest first) and the number of the last page."""
        items = [c for c in rec.comments if since is None or c.updated_at >= since]
        chunk = page_slice(items, 0, page, per_page, asc=True)
        body = msgspec.json.encode([self.store.comment(rec, c) for c in chunk])
        modified = max((c.updated_at for c in chunk), default=rec.created_at)
        return Encoded(body, modified), last_page(len(items), per_page)

    def pulls(self, filters: dict[str, str], page: int, per_page: int) -> tuple[Encoded, int]:
        """A page of pull requests matching ``state``, ``head`` and ``base`` (newest first)."""
        items = [rec for rec in self.store.records if rec.pull and _pull_matches(rec, filters)]
        if filters.get("sort") == "updated":
            items.sort(key=_updated_at)
        chunk = page_slice(items, 0, page, per_page, filters.get("direction") == "asc")
        body = msgspec.json.encode([self.store.pull(rec) for rec in chunk])
        modified = max((rec.updated_at for rec in chunk), default=0)
        return Encoded(body, modified), last_page(len(items), per_page)


def _pull_matches(rec: IssueRecord, filters: dict[str, str]) -> bool:
    assert rec.pull is not None  # noqa: S101 - filtered by the caller
    state = filters.get("state") or "open"
    head = filters.get("head")
    base = filters.get("base")
    return (
        state in ("all", rec.state)
        and (head is None or head == rec.pull.head)
        and (base is None or base == rec.pull.base)
    )
