"""GitHub's REST API: a pooled asyncio client and the protocol rules it follows."""

from __future__ import annotations

from autoissue.github._client import DEFAULT_BASE_URL, GitHubClient, Repository, Response
from autoissue.github._protocol import (
    error_for,
    is_rate_limited,
    normalise_base_url,
    parse_link_header,
    parse_repo_name,
)
from autoissue.github._retry import TRANSIENT_STATUSES, RetryPolicy
from autoissue.github._stats import ClientStatistics

__all__ = [
    "DEFAULT_BASE_URL",
    "TRANSIENT_STATUSES",
    "ClientStatistics",
    "GitHubClient",
    "Repository",
    "Response",
    "RetryPolicy",
    "error_for",
    "is_rate_limited",
    "normalise_base_url",
    "parse_link_header",
    "parse_repo_name",
]
