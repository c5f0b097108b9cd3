"""Process a GitHub repository's issues in bulk: fast, within rate limits, exactly once."""

from __future__ import annotations

from autoissue._clock import Clock, FakeClock, SystemClock
from autoissue._exceptions import (
    AuthenticationError,
    AutoIssueError,
    BackendUnavailableError,
    CircuitOpenError,
    ConfigurationError,
    CorruptItemError,
    EmulatorError,
    GitHubError,
    GitHubUnreachableError,
    MalformedResponseError,
    NotFoundError,
    PoolClosedError,
    PoolError,
    QueueError,
    QueueFullError,
    RateLimitedError,
    ServerError,
    TaskTimeoutError,
    UnknownOutcomeError,
    ValidationFailedError,
    WorkerCrashedError,
)

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "AutoIssueError",
    "BackendUnavailableError",
    "CircuitOpenError",
    "Clock",
    "ConfigurationError",
    "CorruptItemError",
    "EmulatorError",
    "FakeClock",
    "GitHubError",
    "GitHubUnreachableError",
    "MalformedResponseError",
    "NotFoundError",
    "PoolClosedError",
    "PoolError",
    "QueueError",
    "QueueFullError",
    "RateLimitedError",
    "ServerError",
    "SystemClock",
    "TaskTimeoutError",
    "UnknownOutcomeError",
    "ValidationFailedError",
    "WorkerCrashedError",
    "__version__",
]
