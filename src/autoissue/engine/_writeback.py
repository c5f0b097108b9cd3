"""Write-back: apply a plan to GitHub exactly once, or save it instead on a dry run.

Exactly once, across retries, crashes and reruns, rests on three things:

* the **ledger** records each action as it is applied (``"<index>:<kind>"``), so a plan
  resumed after a crash skips what already happened, and a finished plan is not applied again;
* every comment carries a hidden **marker** naming processor, issue and slot: a comment already
  in the slot is edited in place, never posted twice (this is also how a comment whose answer
  was lost, an :class:`~autoissue.UnknownOutcomeError`, is found on the next attempt);
* pull requests are found by their **head branch** before one is opened.

The labels a processor added are listed in its ledger entry (carried from one version of the
issue to the next); ``RemoveLabels`` removes only those, so a user's label is never removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from typing import IO, Any, Protocol

from autoissue._exceptions import ConfigurationError, GitHubError, ValidationFailedError
from autoissue.github import IssueComment, PullRequest
from autoissue.model import (
    Action,
    AddLabels,
    Comment,
    OpenPullRequest,
    Plan,
    RemoveLabels,
    User,
    encode_plan,
)
from autoissue.state import LABEL_ACTION, PENDING, LedgerEntry, StateStore, issue_name

DONE = "done"


class GitHubWrites(Protocol):
    """What write-back asks of GitHub.

    The writes a plan's actions make, and the reads that find what an earlier attempt
    already wrote. :class:`~autoissue.github.GitHubClient` is one.
    """

    base_url: str
    #: The server's time of the latest write answered (ISO 8601).
    last_write_at: str

    async def add_labels(self, repo: str, number: int, labels: tuple[str, ...]) -> list[str]:
        """Add labels to an issue or pull request."""

    async def remove_label(self, repo: str, number: int, label: str) -> bool:
        """Remove one label; ``False`` when it was not there."""

    async def list_comments(self, repo: str, number: int) -> list[IssueComment]:
        """Every comment on an issue, oldest first."""

    async def create_comment(self, repo: str, number: int, body: str) -> IssueComment:
        """Comment on an issue."""

    async def edit_comment(self, repo: str, comment_id: int, body: str) -> IssueComment:
        """Replace a comment's body."""

    async def close_issue(self, repo: str, number: int, reason: str = "completed") -> None:
        """Close an issue."""

    async def get_authenticated_user(self) -> User:
        """The account writing (whose comments are ours)."""

    async def get_repository(self, repo: str) -> Any:
        """The repository (its ``default_branch``)."""

    async def find_open_pull(self, repo: str, branch: str) -> PullRequest | None:
        """The open pull request from ``branch``, if any."""

    async def create_pull(self, repo: str, fields: dict[str, Any]) -> PullRequest:
        """Open a pull request."""


_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def plan_id(plan: Plan) -> str:
    """A short digest naming one plan (its processor, issue, ``updated_at`` and actions)."""
    return hashlib.blake2b(encode_plan(plan), digest_size=8).hexdigest()


def comment_marker(processor: str, issue: int, slot: str) -> str:
    """The hidden text that identifies a comment's slot (without the plan id)."""
    for name in (processor, slot):
        if not _NAME.match(name):
            raise ValueError(f"processor and slot names are [A-Za-z0-9_.-]{{1,64}}, not {name!r}")
    return f"<!-- autoissue processor={processor} issue={issue} slot={slot} "


class WriteBack:
    """Applies plans through GitHub's writes (:class:`GitHubWrites`); returns how many each took.

    With a ``state`` store, each applied action is recorded so that nothing is applied twice
    (see the module). Without one, actions are still safe to repeat — labels are idempotent,
    comments are found by marker, pull requests by branch — but removing labels is refused,
    since nothing says which labels are the tool's own.
    """

    def __init__(self, client: GitHubWrites, state: StateStore | None = None) -> None:
        self._client = client
        self.state = state
        self._login: str | None = None
        self._login_known = False
        self._login_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<WriteBack {self._client.base_url} state={self.state is not None}>"

    async def apply(self, plan: Plan) -> int:
        """Apply every action of ``plan`` not yet applied, in order; returns the writes sent."""
        prior = None
        if self.state is not None:
            prior = await self.state.lookup(_name(plan), plan.processor)
        writes, entry = await self.apply_after(plan, prior)
        if entry is not None and self.state is not None:
            await self.state.record_many([entry])
        return writes

    async def apply_after(
        self, plan: Plan, prior: LedgerEntry | None, *, again: bool = False
    ) -> tuple[int, LedgerEntry | None]:
        """Apply ``plan`` after the ledger's ``prior`` entry; return writes and entry to record.

        The entry is ``None`` when there is nothing to record. The caller records it,
        possibly batched with others: until it does, a crash means the plan is applied again,
        which its idempotent actions make harmless. ``again`` applies a plan the ledger says
        is done (each action still finds what it already did).
        """
        if not again and finished_at(prior, plan.updated_at):
            return 0, None
        progress = _Progress.resume(prior, plan)
        for step, action in _steps(plan):
            if step in progress.done:
                continue
            written = await self._apply(plan, action, progress)
            if written:
                progress.wrote(written, self._client.last_write_at)
            if self.state is not None and len(plan.actions) > 1:
                await self._step_done(plan, progress, step)
        if self.state is None:
            return progress.writes, None
        return progress.writes, self._final(plan, progress)

    async def _step_done(self, plan: Plan, progress: _Progress, step: str) -> None:
        """Record one step of a plan of several, so a crash resumes after it."""
        assert self.state is not None  # noqa: S101 - checked by the caller
        progress.done.add(step)
        await self.state.record(
            _name(plan), plan.processor, plan.updated_at, PENDING, progress.actions()
        )

    def _final(self, plan: Plan, progress: _Progress) -> LedgerEntry:
        assert self.state is not None  # noqa: S101 - checked by the caller
        # Our own writes move the issue's updated_at; the ledger keeps the later time, so a
        # rerun recognises the issue as it was left and does not process it again. Only this
        # plan's writes count: a later write to another issue says nothing of this one, and
        # stamping with it would hide an edit made to this issue in between.
        stamp = max(plan.updated_at, progress.written_at)
        progress.done = {step for step, _ in _steps(plan)}
        return self.state.entry(_name(plan), plan.processor, stamp, DONE, progress.actions())

    async def _apply(self, plan: Plan, action: Action, progress: _Progress) -> int:
        if isinstance(action, AddLabels):
            return await self._add_labels(plan, action.labels, progress)
        if isinstance(action, RemoveLabels):
            return await self._remove_labels(plan, action.labels, progress)
        if isinstance(action, Comment):
            return await self._comment(plan, action)
        if isinstance(action, OpenPullRequest):
            return await self._open_pull(plan, action)
        await self._client.close_issue(plan.repo, plan.issue, action.reason)
        return 1

    async def _add_labels(self, plan: Plan, labels: tuple[str, ...], progress: _Progress) -> int:
        if not labels:
            return 0
        await self._client.add_labels(plan.repo, plan.issue, labels)
        progress.owned |= set(labels)
        return 1

    async def _remove_labels(self, plan: Plan, labels: tuple[str, ...], progress: _Progress) -> int:
        if self.state is None:
            raise ConfigurationError(
                "removing labels needs the state store, which knows which labels are the tool's"
            )
        mine = [label for label in labels if label in progress.owned]
        for label in mine:
            await self._client.remove_label(plan.repo, plan.issue, label)
        progress.owned -= set(mine)
        return len(mine)

    async def _comment(self, plan: Plan, action: Comment) -> int:
        marker = comment_marker(plan.processor, plan.issue, action.slot)
        body = f"{action.body}\n\n{marker}plan={plan_id(plan)} -->"
        comments = await self._client.list_comments(plan.repo, plan.issue)
        existing = _find_marked(comments, marker, await self._author())
        if existing is None:
            await self._client.create_comment(plan.repo, plan.issue, body)
        elif existing.body != body:
            await self._client.edit_comment(plan.repo, existing.id, body)
        else:
            return 0
        return 1

    async def _author(self) -> str | None:
        """Our login, to recognise our comments; ``None`` when the token cannot tell (an app)."""
        async with self._login_lock:  # one GET /user, however many comments start at once
            if not self._login_known:
                try:
                    self._login = (await self._client.get_authenticated_user()).login
                except GitHubError:
                    self._login = None
                self._login_known = True
        return self._login

    async def _open_pull(self, plan: Plan, action: OpenPullRequest) -> int:
        pull = await self._client.find_open_pull(plan.repo, action.head)
        writes = 0
        if pull is None:
            pull, writes = await self._create_pull(plan, action), 1
        if action.labels:
            await self._client.add_labels(plan.repo, pull.number, action.labels)
            writes += 1
        return writes

    async def _create_pull(self, plan: Plan, action: OpenPullRequest) -> PullRequest:
        base = action.base or (await self._client.get_repository(plan.repo)).default_branch
        fields: dict[str, Any] = {"head": action.head, "base": base, "title": action.title}
        fields |= {"body": action.body, "draft": action.draft}
        try:
            return await self._client.create_pull(plan.repo, fields)
        except ValidationFailedError:
            # "A pull request already exists": opened by an attempt whose answer was lost.
            pull = await self._client.find_open_pull(plan.repo, action.head)
            if pull is None:
                raise
            return pull


class _Progress:
    """One plan's application: steps done, labels the processor owns, writes sent."""

    def __init__(self, done: set[str], owned: set[str]) -> None:
        self.done, self.owned, self.writes = done, owned, 0
        self.written_at = ""  # the server's time of this plan's latest write

    def wrote(self, writes: int, latest_write_at: str) -> None:
        """Count an action's writes, answered by the client's latest write at that moment.

        Read as soon as the action returns, the client's latest write is this action's own
        (or one answered within the same moment, of the server's one-second clock).
        """
        self.writes += writes
        self.written_at = max(self.written_at, latest_write_at)

    @classmethod
    def resume(cls, prior: LedgerEntry | None, plan: Plan) -> _Progress:
        """Where ``plan`` starts: the steps a crashed attempt applied, the labels owned so far."""
        if prior is None:
            return cls(set(), set())
        owned = set(prior.labels_added)
        resuming = not prior.finished and prior.updated_at == plan.updated_at
        steps = {a for a in prior.actions if not a.startswith(LABEL_ACTION)} if resuming else set()
        return cls(steps, owned)

    def actions(self) -> list[str]:
        """What the ledger entry lists: steps applied, then owned labels."""
        return sorted(self.done) + [LABEL_ACTION + label for label in sorted(self.owned)]


def finished_at(entry: LedgerEntry | None, updated_at: str) -> bool:
    """Whether the ledger says the issue was finished at ``updated_at`` or later.

    Later: the ledger keeps the version our own writes made of the issue (see
    :class:`WriteBack`), so an issue changed only by us counts as finished.
    """
    return entry is not None and entry.finished and entry.updated_at >= updated_at


def _name(plan: Plan) -> str:
    return issue_name(plan.repo, plan.issue)


def _steps(plan: Plan) -> list[tuple[str, Action]]:
    return [(f"{i}:{type(action).__name__}", action) for i, action in enumerate(plan.actions)]


def _find_marked(
    comments: list[IssueComment], marker: str, author: str | None
) -> IssueComment | None:
    # Anyone can paste a marker into a comment: only our own comments count.
    for comment in comments:
        if marker in comment.body and author in {None, comment.author}:
            return comment
    return None


class PlanWriter:
    """Appends plans to a JSON-lines file, one plan a line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self.count = 0

    def __repr__(self) -> str:
        return f"<PlanWriter {self.path} plans={self.count}>"

    def write(self, plan: Plan) -> None:
        """Append one plan."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        self._file.write(encode_plan(plan) + b"\n")
        self.count += 1

    def close(self) -> None:
        """Flush and close the file; with no plan written, leave an empty file.

        The command says it saved its plans to ``path``: a run with nothing to plan must
        leave that file too (empty), or a script applying it next fails on a missing file.
        """
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
            return
        self._file.close()
        self._file = None
