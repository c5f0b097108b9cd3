"""How long a response takes, and which ones fail: a seeded, live-tunable model.

Response time is log-normal around the configured median. Sigma 0.9 approximates published
measurements of api.github.com (median 200 ms, about 4% over 1 s, a long right tail), plus a
queueing delay that grows linearly with the requests in flight beyond ``capacity``.
A median of 0 means no delay: the caller does not sleep at all.
"""

from __future__ import annotations

import enum
import math
import random

__all__ = ["Fault", "LatencyModel"]

SIGMA = 0.9
SLOW_FACTOR = 5.0
#: The median a slow fault stretches when latency is off, so it is slow in absolute terms too.
SLOW_BASE_MS = 100.0


class Fault(enum.Enum):
    """An injected failure: a 502 or 503 answer, a reset connection, or a slow response."""

    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    RESET = "reset"
    SLOW = "slow"


_FAULTS = tuple(Fault)
_WEIGHTS = (35, 25, 20, 20)


class LatencyModel:
    """Samples delays and faults from one seeded generator; settings change while running."""

    def __init__(self, *, median_ms: float, capacity: int, faults: float, seed: int) -> None:
        self.median_ms = median_ms
        self.capacity = capacity
        self.fault_rate = faults
        self._rng = random.Random(seed + 0x5EED)  # noqa: S311 - simulation, not security

    def __repr__(self) -> str:
        return (
            f"LatencyModel(median_ms={self.median_ms}, capacity={self.capacity}, "
            f"faults={self.fault_rate})"
        )

    def configure(
        self,
        *,
        latency_ms: float | None = None,
        capacity: int | None = None,
        faults: float | None = None,
    ) -> None:
        """Change any of the settings (values are validated by the caller)."""
        if latency_ms is not None:
            self.median_ms = latency_ms
        if capacity is not None:
            self.capacity = capacity
        if faults is not None:
            self.fault_rate = faults

    def settings(self) -> dict[str, float]:
        """The current settings, as ``POST /_emulator/config`` takes them."""
        return {"latency_ms": self.median_ms, "capacity": self.capacity, "faults": self.fault_rate}

    def delay(self, in_flight: int) -> float:
        """Seconds to wait before answering, with ``in_flight`` requests (this one included)."""
        if self.median_ms <= 0:
            return 0.0
        millis = self._sample(self.median_ms)
        if self.capacity and in_flight > self.capacity:
            millis += self.median_ms * (in_flight - self.capacity) / self.capacity
        return millis / 1000.0

    def slow_delay(self) -> float:
        """Seconds a slow fault takes: several times a normal response."""
        return SLOW_FACTOR * self._sample(self.median_ms or SLOW_BASE_MS) / 1000.0

    def _sample(self, median_ms: float) -> float:
        return self._rng.lognormvariate(math.log(median_ms), SIGMA)

    def fault(self) -> Fault | None:
        """The fault to inject into this request, if any."""
        if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate:
            return None
        return self._rng.choices(_FAULTS, _WEIGHTS)[0]
