"""Compact in-memory records: what the emulator stores, before any JSON is built."""

from __future__ import annotations

__all__ = ["Comment", "IssueRecord", "PullInfo"]


class Comment:
    """One issue comment; ``user`` is a login, times are epoch seconds."""

    __slots__ = ("body", "created_at", "id", "updated_at", "user")

    def __init__(self, *, id: int, user: str, body: str, created_at: int) -> None:
        self.id = id
        self.user = user
        self.body = body
        self.created_at = created_at
        self.updated_at = created_at

    def __repr__(self) -> str:
        return f"Comment(id={self.id}, user={self.user!r})"


class PullInfo:
    """What a pull request has beyond its issue: branches, draft flag, merge time."""

    __slots__ = ("base", "draft", "head", "head_sha", "merged_at")

    def __init__(
        self, *, head: str, base: str, draft: bool, head_sha: str, merged_at: int | None
    ) -> None:
        self.head = head
        self.base = base
        self.draft = draft
        self.head_sha = head_sha
        self.merged_at = merged_at

    def __repr__(self) -> str:
        return f"PullInfo(head={self.head!r}, base={self.base!r})"


class IssueRecord:
    """One item of the issue list (an issue, or a pull request when ``pull`` is set).

    Labels are a tuple of names, shared between records with the same set; assignees a tuple
    of logins; times are epoch seconds. Kept as slots because a repository may hold 100,000
    of them.
    """

    __slots__ = (
        "assignees",
        "body",
        "closed_at",
        "comments",
        "created_at",
        "id",
        "labels",
        "lock_reason",
        "locked",
        "number",
        "pull",
        "state",
        "state_reason",
        "title",
        "updated_at",
        "user",
    )

    def __init__(
        self,
        *,
        number: int,
        id: int,
        title: str,
        body: str | None,
        user: str,
        labels: tuple[str, ...],
        created_at: int,
    ) -> None:
        self.number = number
        self.id = id
        self.title = title
        self.body = body
        self.user = user
        self.labels = labels
        self.assignees: tuple[str, ...] = ()
        self.state = "open"
        self.state_reason: str | None = None
        self.locked = False
        self.lock_reason: str | None = None
        self.comments: list[Comment] = []
        self.created_at = created_at
        self.updated_at = created_at
        self.closed_at: int | None = None
        self.pull: PullInfo | None = None

    def close(self, when: int, reason: str) -> None:
        """Mark the item closed at ``when`` for ``reason`` (completed, not_planned)."""
        self.state = "closed"
        self.state_reason = reason
        self.closed_at = when

    def __repr__(self) -> str:
        kind = "pull" if self.pull else "issue"
        return f"IssueRecord({kind} #{self.number}, {self.state}, labels={list(self.labels)})"
