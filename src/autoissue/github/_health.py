"""Health statistics per endpoint class: what was sent, what came back, how fast."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from autoissue._percentiles import percentiles

_LATENCY_SAMPLES = 2048  # per endpoint: enough for a stable p99, bounded memory


@dataclass(frozen=True)
class EndpointStatistics:
    """One endpoint class's figures."""

    requests: int
    statuses: Mapping[int, int]
    retries: int
    failures: int
    cache_hits: int
    latency_ms: Mapping[str, float]


@dataclass(frozen=True)
class ClientStatistics:
    """A snapshot of a client: totals and one entry per endpoint class."""

    requests: int
    retries: int
    connection_errors: int
    cache_hits: int
    by_status: Mapping[int, int]
    endpoints: Mapping[str, EndpointStatistics]

    @property
    def cache_hit_ratio(self) -> float:
        """Share of GETs answered from the ETag cache (304s)."""
        gets = sum(e.requests for name, e in self.endpoints.items() if name.startswith("GET "))
        return self.cache_hits / gets if gets else 0.0


def _latency_ms(samples: deque[float]) -> dict[str, float]:
    # No samples, no figures: a latency of 0 ms would be a claim, not an absence.
    return percentiles(samples, scale=1000.0) if samples else {}


@dataclass
class _Endpoint:
    requests: int = 0
    retries: int = 0
    failures: int = 0
    cache_hits: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=_LATENCY_SAMPLES))

    def snapshot(self) -> EndpointStatistics:
        return EndpointStatistics(
            requests=self.requests,
            statuses=MappingProxyType(dict(self.statuses)),
            retries=self.retries,
            failures=self.failures,
            cache_hits=self.cache_hits,
            latency_ms=MappingProxyType(_latency_ms(self.latencies)),
        )


class Health:
    """Counts every attempt by endpoint class (one event loop: no locking)."""

    def __init__(self) -> None:
        self._endpoints: dict[str, _Endpoint] = {}

    def __repr__(self) -> str:
        return f"<Health {len(self._endpoints)} endpoints>"

    def _get(self, endpoint: str) -> _Endpoint:
        found = self._endpoints.get(endpoint)
        if found is None:
            found = self._endpoints[endpoint] = _Endpoint()
        return found

    def answered(self, endpoint: str, status: int, seconds: float, *, cached: bool) -> None:
        """One attempt got an answer."""
        entry = self._get(endpoint)
        entry.requests += 1
        entry.statuses[status] += 1
        entry.latencies.append(seconds)
        entry.cache_hits += cached

    def failed(self, endpoint: str) -> None:
        """One attempt got no answer at all."""
        entry = self._get(endpoint)
        entry.requests += 1
        entry.failures += 1

    def retried(self, endpoint: str) -> None:
        """One attempt is about to be sent again."""
        self._get(endpoint).retries += 1

    def snapshot(self) -> ClientStatistics:
        """Freeze the figures."""
        endpoints = {name: entry.snapshot() for name, entry in self._endpoints.items()}
        statuses: Counter[int] = Counter()
        for entry in self._endpoints.values():
            statuses.update(entry.statuses)
        return ClientStatistics(
            requests=sum(e.requests for e in endpoints.values()),
            retries=sum(e.retries for e in endpoints.values()),
            connection_errors=sum(e.failures for e in endpoints.values()),
            cache_hits=sum(e.cache_hits for e in endpoints.values()),
            by_status=MappingProxyType(dict(statuses)),
            endpoints=MappingProxyType(endpoints),
        )
