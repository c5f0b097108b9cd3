"""Contenders built on the GitHub libraries people use today: PyGithub and githubkit.

PyGithub runs with its own client-side throttling off, its fastest honest configuration,
against a server without limits (BENCH.md); against github.com limits it keeps its defaults.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from autoissue.bench._contenders import TOKEN, Outcome, Target, guarded, run_in_threads
from autoissue.bench._work import bench_labels


def _pygithub_repo(target: Target, throttled: bool) -> Any:
    from github import Auth, Github  # noqa: PLC0415 - the bench extra provides it

    client = Github(
        base_url=target.base_url,
        auth=Auth.Token(TOKEN),
        per_page=100,
        pool_size=16,
        # PyGithub's defaults are 0.25 s between requests and 1 s between writes.
        seconds_between_requests=0.25 if throttled else 0,
        seconds_between_writes=1.0 if throttled else 0,
    )
    return client.get_repo(target.repo)


def _pygithub_issue(issue: Any, rounds: int) -> None:
    bodies = [comment.body or "" for comment in issue.get_comments()]
    issue.add_to_labels(*bench_labels(issue.title, issue.body, bodies, rounds))


def _is_pull_request(issue: Any) -> bool:
    # ``issue.pull_request`` is lazy: absent from an issue's list payload, reading it makes
    # PyGithub fetch the whole issue again. The payload it already holds says it for free.
    return "pull_request" in issue._rawData


def pygithub(threads: int, *, throttled: bool = False) -> Any:
    """A PyGithub loop over the open issues, on ``threads`` threads (0: the bench's choice)."""

    async def run(target: Target) -> Outcome:
        outcome = Outcome()
        workers = threads or target.concurrency or 10

        def work() -> None:
            repo = _pygithub_repo(target, throttled)
            issues = (i for i in repo.get_issues(state="open") if not _is_pull_request(i))
            run_in_threads(issues, lambda i: _pygithub_issue(i, target.rounds), workers, outcome)

        await asyncio.to_thread(work)
        return outcome

    return run


async def _githubkit_issue(gh: Any, target: Target, issue: Any) -> None:
    owner, name = target.repo.split("/")
    comments = await gh.rest.issues.async_list_comments(owner, name, issue.number, per_page=100)
    bodies = [comment.body or "" for comment in comments.parsed_data]
    labels = bench_labels(issue.title, issue.body, bodies, target.rounds)
    await gh.rest.issues.async_add_labels(owner, name, issue.number, data=labels)


def _githubkit_retry() -> Any:
    """The retry policy of githubkit, extended to a dropped connection.

    Its default retries rate limits and 5xx answers but not a connection reset, which ends a
    listing outright; a user at their best adds that case through the library's own hook, on
    the library's own schedule (1, 4, 9 s).
    """
    from githubkit.exception import RequestError, RequestFailed  # noqa: PLC0415
    from githubkit.retry import RETRY_DEFAULT, RetryChainDecision, RetryOption  # noqa: PLC0415

    def dropped(exc: Exception, retry_count: int) -> RetryOption:
        retry = retry_count < 3 and isinstance(exc, RequestError)
        retry = retry and not isinstance(exc, RequestFailed)
        return RetryOption(retry, timedelta(seconds=(retry_count + 1) ** 2) if retry else None)

    return RetryChainDecision(RETRY_DEFAULT, dropped)


async def run_githubkit(target: Target) -> Outcome:
    """Githubkit's async client under an asyncio semaphore (10 unless the bench sweeps it)."""
    from githubkit import GitHub  # noqa: PLC0415 - the bench extra provides it

    outcome = Outcome()
    owner, name = target.repo.split("/")
    limit = asyncio.Semaphore(target.concurrency or 10)
    async with GitHub(TOKEN, base_url=target.base_url, auto_retry=_githubkit_retry()) as gh:

        async def one(issue: Any) -> None:
            async with limit:
                await guarded(_githubkit_issue(gh, target, issue), outcome, issue.number)

        pages = gh.rest.paginate(
            gh.rest.issues.async_list_for_repo, owner=owner, repo=name, state="open", per_page=100
        )
        # githubkit marks an absent field UNSET, which is falsy; it is not None.
        tasks = [asyncio.create_task(one(i)) async for i in pages if not i.pull_request]
        await asyncio.gather(*tasks)
    return outcome
