"""Live request figures of a GitHub client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class ClientStatistics:
    """A snapshot of what a client sent and what came back."""

    requests: int
    retries: int
    by_status: Mapping[int, int]
    connection_errors: int


@dataclass
class RequestCounter:
    """Mutable counters behind :class:`ClientStatistics` (one event loop, no locking)."""

    requests: int = 0
    retries: int = 0
    connection_errors: int = 0
    by_status: Counter[int] = field(default_factory=Counter)

    def snapshot(self) -> ClientStatistics:
        """Freeze the current figures."""
        return ClientStatistics(
            requests=self.requests,
            retries=self.retries,
            by_status=MappingProxyType(dict(self.by_status)),
            connection_errors=self.connection_errors,
        )
