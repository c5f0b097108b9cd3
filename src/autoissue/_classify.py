"""How the project reads a failure: once, for the queue, the limiter and the retry loops alike.

A :class:`Verdict` says whether retrying can help (:class:`ErrorKind`), how long a rate limit
asked to wait, and whether the failure is a sign of overload — a timeout, a rate limit, a
5xx or an unreachable host — that should lower the adaptive concurrency limit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from autoissue._exceptions import (
    AuthenticationError,
    ConfigurationError,
    CorruptItemError,
    GitHubError,
    GitHubUnreachableError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TrustViolationError,
    ValidationFailedError,
)

__all__ = ["ErrorKind", "Verdict", "classify"]


class ErrorKind(enum.Enum):
    """Why processing an item failed, which decides what ``nack`` does with it."""

    #: Worth retrying after a full-jitter exponential backoff.
    TRANSIENT = "transient"
    #: Retrying cannot help: dead-lettered at once.
    PERMANENT = "permanent"
    #: Refused by a rate limit: retried after the wait the limit named (or a backoff).
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one failure means: its kind, the wait a rate limit named, and whether it is load."""

    kind: ErrorKind
    retry_after: float | None = None
    overload: bool = False


# Retrying cannot fix these: the item goes to the dead letters at once, with the reason.
_PERMANENT = (
    AuthenticationError,
    ConfigurationError,
    CorruptItemError,
    NotFoundError,
    TrustViolationError,
    ValidationFailedError,
)
# GitHub's 4xx answers that may pass later; its others say the request itself is wrong.
_LATER = frozenset({408, 409, 429})
# Failures that say "too much at once": the limiter backs off on them.
_OVERLOAD = (TimeoutError, RateLimitedError, ServerError, GitHubUnreachableError)


def classify(error: BaseException) -> Verdict:
    """The verdict on ``error``.

    A rate limit is retried after the wait it named; the errors retrying cannot fix, and
    GitHub's 4xx answers other than 408, 409 and 429 (a plain 403, a 410, a 422), are
    permanent; anything else is transient.
    """
    overload = isinstance(error, _OVERLOAD)
    if isinstance(error, RateLimitedError):
        return Verdict(ErrorKind.RATE_LIMITED, error.retry_after, overload)
    if isinstance(error, _PERMANENT) or _refused(error):
        return Verdict(ErrorKind.PERMANENT, None, overload)
    return Verdict(ErrorKind.TRANSIENT, None, overload)


def _refused(error: BaseException) -> bool:
    return (
        isinstance(error, GitHubError) and 400 <= error.status < 500 and error.status not in _LATER
    )
