"""GitHub's REST API: a pooled asyncio client that stays inside GitHub's rate limits."""

from __future__ import annotations

from autoissue.github._auth import AppAuth, InstallationToken
from autoissue.github._breaker import CircuitBreaker, CircuitState
from autoissue.github._budget_stores import (
    RedisBudgetStore,
    SqliteBudgetStore,
    open_budget_store,
)
from autoissue.github._cache import CachedAnswer, ETagCache, SingleFlight, dump_cache, load_cache
from autoissue.github._client import (
    DEFAULT_BASE_URL,
    IDEMPOTENT_METHODS,
    GitHubClient,
    IssueComment,
    PullRequest,
    Repository,
)
from autoissue.github._fake import FakeTransport, Request, answer
from autoissue.github._governor import (
    Governor,
    GovernorSettings,
    GovernorStatistics,
    Mode,
    Permit,
    RequestKind,
)
from autoissue.github._health import ClientStatistics, EndpointStatistics
from autoissue.github._protocol import (
    CONTENT_ENDPOINTS,
    endpoint_template,
    error_for,
    is_rate_limited,
    normalise_base_url,
    parse_link_header,
    parse_repo_name,
)
from autoissue.github._ratelimit import (
    RateLimitInfo,
    Refusal,
    classify_refusal,
    parse_rate_limit,
    refusal_wait,
)
from autoissue.github._retry import TRANSIENT_STATUSES, RetryBudget, RetryPolicy
from autoissue.github._shared import (
    BudgetStore,
    MemoryBudgetStore,
    SharedGovernor,
    budget_key,
)
from autoissue.github._transport import (
    AiohttpTransport,
    HttpTransport,
    OversizedAnswerError,
    PoolSettings,
    Response,
    SendFailure,
)
from autoissue.github._window import SlidingWindow

__all__ = [
    "CONTENT_ENDPOINTS",
    "DEFAULT_BASE_URL",
    "IDEMPOTENT_METHODS",
    "TRANSIENT_STATUSES",
    "AiohttpTransport",
    "AppAuth",
    "BudgetStore",
    "CachedAnswer",
    "CircuitBreaker",
    "CircuitState",
    "ClientStatistics",
    "ETagCache",
    "EndpointStatistics",
    "FakeTransport",
    "GitHubClient",
    "Governor",
    "GovernorSettings",
    "GovernorStatistics",
    "HttpTransport",
    "InstallationToken",
    "IssueComment",
    "MemoryBudgetStore",
    "Mode",
    "OversizedAnswerError",
    "Permit",
    "PoolSettings",
    "PullRequest",
    "RateLimitInfo",
    "RedisBudgetStore",
    "Refusal",
    "Repository",
    "Request",
    "RequestKind",
    "Response",
    "RetryBudget",
    "RetryPolicy",
    "SendFailure",
    "SharedGovernor",
    "SingleFlight",
    "SlidingWindow",
    "SqliteBudgetStore",
    "answer",
    "budget_key",
    "classify_refusal",
    "dump_cache",
    "endpoint_template",
    "error_for",
    "is_rate_limited",
    "load_cache",
    "normalise_base_url",
    "open_budget_store",
    "parse_link_header",
    "parse_rate_limit",
    "parse_repo_name",
    "refusal_wait",
]
