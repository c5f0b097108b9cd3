"""GitHub's REST API: a pooled asyncio client that stays inside GitHub's rate limits.

:class:`GitHubClient` makes typed REST calls through an :class:`HttpTransport` (aiohttp by
default; :class:`FakeTransport` answers in process, from a function of :class:`Request` to
:class:`Response`). Every request asks a :class:`Governor` for a permit first; a
:class:`SharedGovernor` keeps that budget in SQLite or Redis, so every process on one token
shares it. :class:`ETagCache` makes repeated GETs conditional.
"""

from __future__ import annotations

from autoissue.github._auth import AppAuth
from autoissue.github._budget_stores import budget_store
from autoissue.github._cache import ETagCache, dump_cache, load_cache
from autoissue.github._client import DEFAULT_BASE_URL, GitHubClient, IssueComment, PullRequest
from autoissue.github._fake import FakeTransport, Request, answer
from autoissue.github._governor import Governor, GovernorSettings, GovernorStatistics, Mode
from autoissue.github._health import ClientStatistics
from autoissue.github._protocol import (
    CONTENT_ENDPOINTS,
    endpoint_template,
    normalise_base_url,
    parse_repo_name,
)
from autoissue.github._ratelimit import RateLimitInfo
from autoissue.github._shared import BudgetStore, SharedGovernor, budget_key
from autoissue.github._transport import HttpTransport, Response

__all__ = [
    "CONTENT_ENDPOINTS",
    "DEFAULT_BASE_URL",
    "AppAuth",
    "BudgetStore",
    "ClientStatistics",
    "ETagCache",
    "FakeTransport",
    "GitHubClient",
    "Governor",
    "GovernorSettings",
    "GovernorStatistics",
    "HttpTransport",
    "IssueComment",
    "Mode",
    "PullRequest",
    "RateLimitInfo",
    "Request",
    "Response",
    "SharedGovernor",
    "answer",
    "budget_key",
    "budget_store",
    "dump_cache",
    "endpoint_template",
    "load_cache",
    "normalise_base_url",
    "parse_repo_name",
]
