"""Every error autoissue raises, under one root.

::

    AutoIssueError
    ├── ConfigurationError (ValueError)       a bad option, flag or environment value
    ├── GitHubError                           GitHub (or the emulator) answered with an error
    │   ├── AuthenticationError               401: missing or invalid token
    │   ├── NotFoundError (LookupError)       404: unknown repository or issue (or no access)
    │   ├── RateLimitedError                  403/429 for a primary or secondary rate limit
    │   ├── ValidationFailedError (ValueError)  422: the request was understood but refused
    │   └── ServerError                       5xx after retries
    ├── GitHubUnreachableError (ConnectionError)  no answer at all: DNS, refused, reset, timeout
    │   └── CircuitOpenError                  the host kept failing: requests held back
    ├── UnknownOutcomeError                   a write may or may not have happened
    ├── MalformedResponseError (ValueError)   an answer that is not what GitHub sends
    ├── EmulatorError                         the GitHub emulator could not start or serve
    ├── QueueError                            the work queue or state store failed
    │   ├── QueueFullError (TimeoutError)     put waited its timeout at the queue's maximum depth
    │   ├── BackendUnavailableError (ConnectionError)  database unreadable or locked, Redis gone
    │   └── CorruptItemError (ValueError)     a stored item could not be decoded
    ├── PoolError                             the warm process pool could not run a task
    │   ├── WorkerCrashedError                its worker died mid-task (exit code or signal, pid)
    │   ├── TaskTimeoutError (TimeoutError)   it outran its timeout: the worker was killed
    │   └── PoolClosedError                   submitted after shutdown, or cut off by a forced one
    ├── AgentError                            a command processor's agent or its git work failed
    │   ├── AgentTimeoutError (TimeoutError)  the agent outran its timeout: its group was killed
    │   ├── TrustViolationError               the agent's output broke a trust rule
    │   └── GitCommandError                   git failed: fetch, worktree, commit or push
    └── LearningError (ValueError)            labelled issues that cannot be read or learned from
"""

from __future__ import annotations


class AutoIssueError(Exception):
    """The root of every error autoissue raises on purpose."""


class ConfigurationError(AutoIssueError, ValueError):
    """A bad option, flag or environment value; the message says which and why."""


class GitHubError(AutoIssueError):
    """GitHub answered a request with an error status.

    ``status`` is the HTTP status, ``message`` GitHub's own ``message`` field, and
    ``method``/``url`` say which request failed (never with credentials in them).
    """

    def __init__(self, message: str, *, status: int, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.method = method
        self.url = url

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments do not survive the default pickling: rebuild explicitly.
        return (_rebuild, (type(self), self.message, self.status, self.method, self.url))

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        return f"{self.status} {self.message}{where}"


def _rebuild(
    cls: type[GitHubError], message: str, status: int, method: str, url: str
) -> GitHubError:
    return cls(message, status=status, method=method, url=url)


class AuthenticationError(GitHubError):
    """401: the token is missing, invalid or expired."""


class NotFoundError(GitHubError, LookupError):
    """404: the repository or issue does not exist, or the token cannot see it."""


class RateLimitedError(GitHubError):
    """A primary or secondary rate limit refused the request.

    ``retry_after`` is the number of seconds GitHub asked us to wait, when it said.
    """

    retry_after: float | None = None


class ValidationFailedError(GitHubError, ValueError):
    """422: GitHub understood the request and refused it."""


class ServerError(GitHubError):
    """A 5xx answer that persisted through retries."""


class GitHubUnreachableError(AutoIssueError, ConnectionError):
    """No HTTP answer at all: the host is unknown, refused the connection, or timed out."""


class CircuitOpenError(GitHubUnreachableError):
    """The host failed repeatedly; requests are held back until a probe succeeds."""


class UnknownOutcomeError(AutoIssueError):
    """A non-idempotent write got no clear answer: it may or may not have been applied.

    It is never sent again blindly; the caller looks for its marker before writing again.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = url

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_unknown, (str(self), self.method, self.url))


def _rebuild_unknown(message: str, method: str, url: str) -> UnknownOutcomeError:
    return UnknownOutcomeError(message, method=method, url=url)


class MalformedResponseError(AutoIssueError, ValueError):
    """An answer that cannot be what GitHub sends: bad JSON, a looping ``Link`` header."""


class EmulatorError(AutoIssueError):
    """The GitHub emulator could not start or serve."""


class QueueError(AutoIssueError):
    """The work queue or the state store failed; the subclass says how."""


class QueueFullError(QueueError, TimeoutError):
    """``put`` waited its whole timeout while the queue stayed at its maximum depth."""


class BackendUnavailableError(QueueError, ConnectionError):
    """The backend cannot be reached: a database file unreadable or locked, Redis gone.

    Every queue operation is atomic, so nothing was half-done: retry once the backend is back.
    """


class CorruptItemError(QueueError, ValueError):
    """A stored item could not be decoded (a damaged row or a foreign key in Redis)."""


class PoolError(AutoIssueError):
    """The warm process pool could not run a task; the subclass says how."""


class WorkerCrashedError(PoolError):
    """The worker running the task died: ``exitcode`` (negative: the signal) and ``pid`` say how.

    Only that task fails; the pool replaces the worker. ``exitcode`` is ``None`` when the worker
    stopped answering (no heartbeat) and was killed by the pool.
    """

    def __init__(self, message: str, *, pid: int | None, exitcode: int | None) -> None:
        super().__init__(message)
        self.pid = pid
        self.exitcode = exitcode

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_crashed, (str(self), self.pid, self.exitcode))


def _rebuild_crashed(message: str, pid: int | None, exitcode: int | None) -> WorkerCrashedError:
    return WorkerCrashedError(message, pid=pid, exitcode=exitcode)


class TaskTimeoutError(PoolError, TimeoutError):
    """The task ran past its ``timeout`` (seconds): worker ``pid`` was terminated, then killed."""

    def __init__(self, message: str, *, pid: int | None, timeout: float) -> None:
        super().__init__(message)
        self.pid = pid
        self.timeout = timeout

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_timeout, (str(self), self.pid, self.timeout))


def _rebuild_timeout(message: str, pid: int | None, timeout: float) -> TaskTimeoutError:
    return TaskTimeoutError(message, pid=pid, timeout=timeout)


class PoolClosedError(PoolError):
    """The pool is shut down: it accepts nothing new, and a forced shutdown fails running tasks."""


class AgentError(AutoIssueError):
    """A command processor's agent failed (a non-zero exit, an unreadable result file)."""


class AgentTimeoutError(AgentError, TimeoutError):
    """The agent ran past its timeout: its whole process group was terminated, then killed."""


class TrustViolationError(AgentError):
    """The agent's output broke a trust rule; nothing of it was pushed or planned.

    The rules: proposed labels from an allowlist, changed paths inside the allowed globs (and
    outside the denied ones), a diff under the size cap.
    """


class GitCommandError(AgentError):
    """A git command failed while preparing, committing or pushing a worktree."""


class LearningError(AutoIssueError, ValueError):
    """Labelled issues that cannot be read (a file, a column) or learned from (one type only)."""
