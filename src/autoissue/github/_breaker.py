"""A circuit breaker per host: stop sending to a server that keeps failing, probe it later."""

from __future__ import annotations

import enum
import logging

from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import CircuitOpenError

logger = logging.getLogger(__name__)


class CircuitState(enum.Enum):
    """Closed: requests flow. Open: they fail at once. Half-open: one probe decides."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Stops requests to a host that keeps failing, and probes it later.

    Opens after ``failure_threshold`` failures in a row; after ``cooldown_s`` lets one
    request through as a probe: its success closes the circuit, its failure re-opens it.
    """

    def __init__(
        self,
        host: str,
        *,
        failure_threshold: int = 20,
        cooldown_s: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.host = host
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock or SystemClock()
        self.state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self.opened = 0

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.host} {self.state.value} failures={self._failures}>"

    def before_request(self) -> None:
        """Let the request go, or raise :class:`CircuitOpenError`."""
        if self.state is CircuitState.CLOSED:
            return
        waited = self._clock.time() - self._opened_at
        if self.state is CircuitState.OPEN and waited >= self.cooldown_s:
            self.state = CircuitState.HALF_OPEN  # this request is the probe
            return
        raise CircuitOpenError(
            f"{self.host} is failing: requests held back ({self.state.value} circuit)"
        )

    def record_success(self) -> None:
        """An answer came: the host works."""
        self._failures = 0
        if self.state is not CircuitState.CLOSED:
            logger.info("circuit to %s closed again", self.host)
        self.state = CircuitState.CLOSED

    def record_abandoned(self) -> None:
        """The request ended without an outcome (cancelled): a probe's turn passes on."""
        if self.state is CircuitState.HALF_OPEN:
            self.state = CircuitState.OPEN  # its cooldown is long over: the next one probes

    def record_failure(self) -> None:
        """No answer, or a 5xx."""
        self._failures += 1
        probing = self.state is CircuitState.HALF_OPEN
        if probing or (
            self.state is CircuitState.CLOSED and self._failures >= self.failure_threshold
        ):
            self.state = CircuitState.OPEN
            self._opened_at = self._clock.time()
            self.opened += 1
            logger.warning("circuit to %s opened after %d failures", self.host, self._failures)
