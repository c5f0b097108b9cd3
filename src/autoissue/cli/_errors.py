"""Turning autoissue's errors into one clear line for the person at the terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from autoissue._exceptions import (
    AuthenticationError,
    AutoIssueError,
    BackendUnavailableError,
    ConfigurationError,
    GitHubUnreachableError,
    LearningError,
    NotFoundError,
)


def describe(error: AutoIssueError, *, repo: str = "", base_url: str = "") -> str:
    """One line that says what went wrong and what to do about it."""
    if isinstance(error, AuthenticationError):
        return f"GitHub rejected the token ({error.message}): check GITHUB_TOKEN"
    if isinstance(error, NotFoundError) and repo:
        return f"repository {repo} not found at {base_url} (or the token cannot see it)"
    if isinstance(error, BackendUnavailableError):
        return f"the backend is unavailable: {error}"
    if isinstance(error, GitHubUnreachableError | ConfigurationError | LearningError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@contextmanager
def friendly_errors(*, repo: str = "", base_url: str = "") -> Iterator[None]:
    """Let autoissue's own errors end the command with one line and exit status 1."""
    try:
        yield
    except AutoIssueError as error:
        raise click.ClickException(describe(error, repo=repo, base_url=base_url)) from error
    except OSError as error:
        # A file the run must read or write (plans, reports, state) that the system refuses.
        where = f"{error.filename}: " if error.filename else ""
        raise click.ClickException(f"cannot use {where}{error.strerror or error}") from error
