"""What the emulator counts: requests by route and status, limit violations, duplicates, faults.

Two counters referee the writes clients make. ``duplicate_writes``: a comment body posted twice
on one issue, a second pull request for a head that already has an open one, or a second issue
opened through the API with the title and body of one opened before it in the same repository.
``redundant_writes``: a write that changed nothing because its effect was already there, such as
labels added that the issue already carries, or labels, title, body or state set to what they
already are. Retrying a write after an unknown outcome (a 502 or a reset after the write
landed) without looking first is the usual way to make either.

``issue_latency_ms``: for every issue whose labels were added, the time from the first request
that named the issue (its comments read, say) to its first labels landing, in the server's
real time: how long a client kept each issue in hand, measured the same way for every client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from autoissue._percentiles import percentiles

__all__ = ["LABELS_SET", "Stats"]

#: The writes that label an issue: adding labels, or setting them all.
LABELS_SET = frozenset(
    {
        "POST /repos/{owner}/{repo}/issues/{n}/labels",
        "PUT /repos/{owner}/{repo}/issues/{n}/labels",
    }
)


class Stats:
    """Live counters; :meth:`snapshot` is the body of ``GET /_emulator/stats``.

    ``now`` is the real clock the issue latencies are read from.
    """

    def __init__(self, now: Callable[[], float] = time.perf_counter) -> None:
        self._now = now
        self.requests_total = 0
        self.requests: dict[str, dict[str, int]] = {}
        self.violations: dict[str, int] = {}
        self.duplicate_writes = 0
        self.redundant_writes = 0
        self.faults: dict[str, int] = {}
        self.in_flight = 0
        self.in_flight_max = 0
        self._first_seen: dict[str, float] = {}
        self._labelled_after: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Stats(requests={self.requests_total}, in_flight={self.in_flight})"

    def started(self, issue: str | None = None) -> int:
        """Count a request in flight, naming ``issue`` if any; return how many are in flight."""
        self.in_flight += 1
        self.in_flight_max = max(self.in_flight, self.in_flight_max)
        if issue is not None:
            self._first_seen.setdefault(issue, self._now())
        return self.in_flight

    def finished(self, route: str, status: str, issue: str | None = None) -> None:
        """Count a finished request under its route template and status (or ``reset``)."""
        self.in_flight -= 1
        self.requests_total += 1
        by_status = self.requests.get(route)
        if by_status is None:
            by_status = self.requests[route] = {}
        by_status[status] = by_status.get(status, 0) + 1
        if issue is not None and status == "200" and route in LABELS_SET:
            self._labels_landed(issue, self._now())

    def _labels_landed(self, issue: str, now: float) -> None:
        if issue not in self._labelled_after:
            self._labelled_after[issue] = now - self._first_seen.get(issue, now)

    def violation(self, kind: str) -> None:
        """Count a request refused for a rate limit of ``kind``."""
        self.violations[kind] = self.violations.get(kind, 0) + 1

    def fault(self, kind: str) -> None:
        """Count an injected fault of ``kind``."""
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        return {
            "requests_total": self.requests_total,
            "requests": {route: dict(codes) for route, codes in self.requests.items()},
            "rate_limit_violations": sum(self.violations.values()),
            "rate_limit_violations_by_kind": dict(self.violations),
            "duplicate_writes": self.duplicate_writes,
            "redundant_writes": self.redundant_writes,
            "faults_injected": sum(self.faults.values()),
            "faults_by_kind": dict(self.faults),
            "in_flight": self.in_flight,
            "in_flight_max": self.in_flight_max,
            "issues_labelled": len(self._labelled_after),
            "issue_latency_ms": percentiles(self._labelled_after.values(), scale=1000.0),
        }
