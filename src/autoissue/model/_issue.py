"""The issue snapshot: one issue as the API returned it, immutable, decoded straight from JSON."""

from __future__ import annotations

import msgspec


class User(msgspec.Struct, frozen=True):
    """The account that opened an issue (only what the engine reads)."""

    login: str
    id: int = 0
    type: str = "User"


class Label(msgspec.Struct, frozen=True):
    """A label attached to an issue."""

    name: str
    color: str = ""
    description: str | None = None


class Milestone(msgspec.Struct, frozen=True):
    """The milestone an issue is planned for."""

    title: str
    number: int = 0


class PullRequestRef(msgspec.Struct, frozen=True):
    """Present on an item of the issue list when that item is a pull request."""

    url: str = ""


class Reactions(msgspec.Struct, frozen=True, rename={"plus_one": "+1", "minus_one": "-1"}):
    """Reaction counts; ``total_count`` weighs how much people care."""

    total_count: int = 0
    plus_one: int = 0
    minus_one: int = 0


class Issue(msgspec.Struct, frozen=True):
    """An issue (or pull request) snapshot, decoded from GitHub's issue object.

    Unknown fields in the payload are ignored, so the snapshot stays small whatever
    GitHub adds. Times are kept as GitHub's ISO 8601 strings: they order correctly as
    text and the ledger compares them for equality.
    """

    number: int
    title: str
    state: str
    updated_at: str
    created_at: str = ""
    body: str | None = None
    labels: tuple[Label, ...] = ()
    locked: bool = False
    user: User | None = None
    comments: int = 0
    reactions: Reactions | None = None
    pull_request: PullRequestRef | None = None
    assignees: tuple[User, ...] = ()
    milestone: Milestone | None = None
    state_reason: str | None = None

    @property
    def is_pull_request(self) -> bool:
        """Whether this item of the issue list is really a pull request."""
        return self.pull_request is not None

    @property
    def label_names(self) -> frozenset[str]:
        """The names of the labels on the issue."""
        return frozenset(label.name for label in self.labels)

    @property
    def author(self) -> str:
        """The login of the account that opened the issue, or ``""`` when unknown."""
        return self.user.login if self.user else ""


_issue_decoder = msgspec.json.Decoder(Issue)
_page_decoder = msgspec.json.Decoder(list[Issue])


def decode_issue(payload: bytes) -> Issue:
    """Decode one issue object from GitHub's JSON."""
    return _issue_decoder.decode(payload)


def decode_issue_page(payload: bytes) -> list[Issue]:
    """Decode a page of the issue list from GitHub's JSON."""
    return _page_decoder.decode(payload)
