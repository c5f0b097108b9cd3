"""What the emulator counts: requests by route and status, limit violations, duplicates, faults.

Two counters referee the writes clients make. ``duplicate_writes``: a comment body posted twice
on one issue, or a second pull request for a head that already has an open one.
``redundant_writes``: a write that changed nothing because its effect was already there, such as
labels added that the issue already carries, or labels, title, body or state set to what they
already are. Retrying a write after an unknown outcome (a 502 or a reset after the write
landed) without looking first is the usual way to make either.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Stats"]


class Stats:
    """Live counters; :meth:`snapshot` is the body of ``GET /_emulator/stats``."""

    def __init__(self) -> None:
        self.requests_total = 0
        self.requests: dict[str, dict[str, int]] = {}
        self.violations: dict[str, int] = {}
        self.duplicate_writes = 0
        self.redundant_writes = 0
        self.faults: dict[str, int] = {}
        self.in_flight = 0
        self.in_flight_max = 0

    def __repr__(self) -> str:
        return f"Stats(requests={self.requests_total}, in_flight={self.in_flight})"

    def started(self) -> int:
        """Count a request in flight; return how many are in flight now."""
        self.in_flight += 1
        self.in_flight_max = max(self.in_flight, self.in_flight_max)
        return self.in_flight

    def finished(self, route: str, status: str) -> None:
        """Count a finished request under its route template and status (or ``reset``)."""
        self.in_flight -= 1
        self.requests_total += 1
        by_status = self.requests.get(route)
        if by_status is None:
            by_status = self.requests[route] = {}
        by_status[status] = by_status.get(status, 0) + 1

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
        }
