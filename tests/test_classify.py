"""One reading of a failure, for the queue's retries and the limiter's drops alike."""

from __future__ import annotations

import pytest

from autoissue import (
    AgentError,
    AuthenticationError,
    CorruptItemError,
    GitHubError,
    GitHubUnreachableError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TaskTimeoutError,
    TrustViolationError,
)
from autoissue._classify import ErrorKind, Verdict, classify
from autoissue.concurrency._limit import Outcome
from autoissue.concurrency._limiter import classify_error
from autoissue.queue import ErrorKind as QueueErrorKind


def limited(wait: float) -> RateLimitedError:
    error = RateLimitedError("slow down", status=403)
    error.retry_after = wait
    return error


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (limited(30.0), Verdict(ErrorKind.RATE_LIMITED, 30.0, overload=True)),
        (NotFoundError("gone", status=404), Verdict(ErrorKind.PERMANENT)),
        (AuthenticationError("bad token", status=401), Verdict(ErrorKind.PERMANENT)),
        (GitHubError("unprocessable", status=422), Verdict(ErrorKind.PERMANENT)),
        (GitHubError("conflict", status=409), Verdict(ErrorKind.TRANSIENT)),
        (TrustViolationError("label not allowed"), Verdict(ErrorKind.PERMANENT)),
        (CorruptItemError("unreadable"), Verdict(ErrorKind.PERMANENT)),
        (AgentError("agent exited 1"), Verdict(ErrorKind.TRANSIENT)),
        (ServerError("bad gateway", status=502), Verdict(ErrorKind.TRANSIENT, overload=True)),
        (GitHubUnreachableError("reset"), Verdict(ErrorKind.TRANSIENT, overload=True)),
        (TaskTimeoutError("slow", pid=1, timeout=1.0), Verdict(ErrorKind.TRANSIENT, overload=True)),
        (ValueError("a bug"), Verdict(ErrorKind.TRANSIENT)),
    ],
)
def test_a_failure_says_what_a_retry_can_do_and_whether_it_is_load(
    error: BaseException, verdict: Verdict
) -> None:
    assert classify(error) == verdict
    drop = Outcome.DROPPED if verdict.overload else Outcome.IGNORED
    assert classify_error(error) is drop


def test_the_queue_speaks_the_same_kinds() -> None:
    assert QueueErrorKind is ErrorKind
