"""A read-only GitHub for processor tests: scripted answers, every call recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from autoissue.model import Issue, User
from autoissue.model._issue import Label, Milestone, PullRequestRef
from autoissue.processors import ProcessContext, ReadOnlyGitHub


class FakeClient:
    """Stands where a GitHubClient stands behind ReadOnlyGitHub: answers GETs from a script."""

    def __init__(
        self, *, pages: list[list[Issue]] | None = None, answers: dict[str, Any] | None = None
    ) -> None:
        self.base_url = "https://fake.invalid"
        self.pages = pages or []
        self.answers = answers or {}
        self.gets: list[tuple[str, dict[str, str] | None]] = []
        self.listings = 0

    async def get_json(self, path: str, *, params: dict[str, str] | None = None) -> Any:
        self.gets.append((path, params))
        return self.answers.get(path, [])

    async def iter_issue_pages(
        self, repo: str, *, state: str = "open"
    ) -> AsyncIterator[list[Issue]]:
        assert state == "open"
        self.listings += 1
        for page in self.pages:
            yield page


def context_for(client: FakeClient) -> ProcessContext:
    return ProcessContext(repo="o/r", github=ReadOnlyGitHub(client))  # type: ignore[arg-type]


def make_issue(
    number: int,
    title: str = "Something",
    body: str | None = None,
    *,
    labels: tuple[str, ...] = (),
    updated_at: str = "2026-01-01T00:00:00Z",
    state: str = "open",
    comments: int = 0,
    assignees: tuple[str, ...] = (),
    milestone: str | None = None,
    pull: bool = False,
) -> Issue:
    return Issue(
        number=number,
        title=title,
        state=state,
        updated_at=updated_at,
        body=body,
        labels=tuple(Label(name) for name in labels),
        comments=comments,
        assignees=tuple(User(login) for login in assignees),
        milestone=Milestone(milestone) if milestone else None,
        pull_request=PullRequestRef() if pull else None,
    )
