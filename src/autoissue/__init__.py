"""Process a GitHub repository's issues in bulk: fast, within rate limits, exactly once."""

from __future__ import annotations

from autoissue._exceptions import (
    AuthenticationError,
    AutoIssueError,
    ConfigurationError,
    EmulatorError,
    GitHubError,
    GitHubUnreachableError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationFailedError,
)

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "AutoIssueError",
    "ConfigurationError",
    "EmulatorError",
    "GitHubError",
    "GitHubUnreachableError",
    "NotFoundError",
    "RateLimitedError",
    "ServerError",
    "ValidationFailedError",
    "__version__",
]
