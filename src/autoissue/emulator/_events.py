"""GitHub's webhook events for the changes routes make: which events, with which payloads.

Routes report every change to ``ctx.hooks``: :data:`SILENT` when no webhook URL is set, which
looks at nothing and builds nothing, so the hot path pays one call; or a :class:`Notifier`,
which builds GitHub's payloads and hands them to the :class:`WebhookSender`. An item that is a
pull request gets ``pull_request`` events where an issue gets ``issues`` ones, as on GitHub;
comments are ``issue_comment`` events on both. A write that changes nothing sends nothing.
The notifier also times every opening and first label by each login on its
:class:`~autoissue.emulator._timeline.Timeline` (``GET /_emulator/timeline``).

::

    watch = ctx.hooks.watch(repo, rec, request)   # remembers title, body, state, labels
    ...                                          # the write
    watch.report()                               # edited, labeled, unlabeled, closed, reopened
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec
from aiohttp import web

from autoissue.emulator._http import IDENTITY
from autoissue.emulator._models import Comment, IssueRecord
from autoissue.emulator._payloads import token_login
from autoissue.emulator._repos import Repository
from autoissue.emulator._timeline import Timeline
from autoissue.emulator._webhooks import WebhookSender

__all__ = ["SILENT", "Hooks", "IssueWatch", "Notifier", "SilentHooks", "Who"]

#: Who made a change: the API request (its token's user) or a login (an admin edit).
Who = web.Request | str
_Event = tuple[str, dict[str, Any]]  # action, the payload's fields beside the common ones
_Before = tuple[str, str | None, str, tuple[str, ...]]  # title, body, state, labels


class IssueWatch(Protocol):
    """An item as it was before a write; :meth:`report` sends the events the write made."""

    def report(self) -> None:
        """Send an event for every change since the watch began."""


class Hooks(Protocol):
    """Where routes report changes: the events of each, if anyone listens."""

    def watch(self, repo: Repository, rec: IssueRecord, who: Who) -> IssueWatch:
        """Remember ``rec`` before ``who`` changes it."""

    def opened(self, repo: Repository, rec: IssueRecord, who: Who) -> None:
        """``who`` opened ``rec`` (an issue or a pull request)."""

    def commented(
        self, repo: Repository, rec: IssueRecord, comment: Comment, who: Who, was: str | None
    ) -> None:
        """``who`` created ``comment`` on ``rec`` (``was`` ``None``), or edited it from ``was``."""


class _Idle:
    """The watch of no listener: nothing remembered, nothing sent."""

    __slots__ = ()

    def report(self) -> None:
        """Send nothing."""


class SilentHooks:
    """Hooks without a webhook URL: every report costs a call and nothing else."""

    _IDLE = _Idle()

    def __repr__(self) -> str:
        return "SilentHooks()"

    def watch(self, repo: Repository, rec: IssueRecord, who: Who) -> IssueWatch:
        """Remember nothing."""
        return self._IDLE

    def opened(self, repo: Repository, rec: IssueRecord, who: Who) -> None:
        """Send nothing."""

    def commented(
        self, repo: Repository, rec: IssueRecord, comment: Comment, who: Who, was: str | None
    ) -> None:
        """Send nothing."""


SILENT: Hooks = SilentHooks()


class Notifier:
    """Builds GitHub's payload of every event a change makes and queues its delivery.

    ``timeline`` records when each item was opened and first labelled, by whom.
    """

    def __init__(self, sender: WebhookSender, timeline: Timeline | None = None) -> None:
        self.sender = sender
        self.timeline = timeline or Timeline()

    def __repr__(self) -> str:
        return f"Notifier({self.sender!r})"

    def watch(self, repo: Repository, rec: IssueRecord, who: Who) -> IssueWatch:
        """Remember ``rec``'s title, body, state and labels before ``who`` changes it."""
        return _Watch(self, repo, rec, who)

    def opened(self, repo: Repository, rec: IssueRecord, who: Who) -> None:
        """``opened``, then ``labeled`` and ``assigned`` for what it was opened with."""
        self.timeline.opened(repo.full_name, rec.number, _login(who))
        events: list[_Event] = [("opened", {})]
        events += [("labeled", {"label": repo.store.label_raw(name)}) for name in rec.labels]
        events += [("assigned", {"assignee": repo.payloads.user(a)}) for a in rec.assignees]
        self.item_events(repo, rec, who, events)

    def commented(
        self, repo: Repository, rec: IssueRecord, comment: Comment, who: Who, was: str | None
    ) -> None:
        """``issue_comment``: ``created``, or ``edited`` with the body it had."""
        action, changes = ("created", {}) if was is None else ("edited", {"body": {"from": was}})
        payload = {
            "action": action,
            **({"changes": changes} if changes else {}),
            "issue": msgspec.Raw(repo.store.issue(rec).body),
            "comment": repo.store.comment(rec, comment),
            **self._common(repo, _login(who)),
        }
        self._send(repo, rec, "issue_comment", payload)

    def item_events(
        self, repo: Repository, rec: IssueRecord, who: Who, events: list[_Event]
    ) -> None:
        """Send ``events`` about ``rec``, each with the item as it is now."""
        if not events:
            return
        event, subject = _subject(repo, rec)
        login = _login(who)
        common = self._common(repo, login)
        for action, fields in events:
            if action == "labeled":
                self.timeline.labelled(repo.full_name, rec.number, login)
            self._send(repo, rec, event, {"action": action, **subject, **fields, **common})

    def _common(self, repo: Repository, login: str) -> dict[str, Any]:
        return {"repository": repo.store.hook_repository(), "sender": repo.payloads.user(login)}

    def _send(
        self, repo: Repository, rec: IssueRecord, event: str, payload: dict[str, Any]
    ) -> None:
        self.sender.send(
            event=event,
            action=payload["action"],
            repo=(repo.full_name, repo.id),
            issue=rec.number,
            body=msgspec.json.encode(payload),
        )


def _login(who: Who) -> str:
    """The login of whoever made a change: the token's user, or the login an admin edit named."""
    return who if isinstance(who, str) else token_login(who[IDENTITY])


def _subject(repo: Repository, rec: IssueRecord) -> tuple[str, dict[str, Any]]:
    """The event of ``rec``'s kind and the payload fields that show it."""
    if rec.pull is None:
        return "issues", {"issue": msgspec.Raw(repo.store.issue(rec).body)}
    return "pull_request", {"number": rec.number, "pull_request": repo.store.pull(rec)}


class _Watch:
    __slots__ = ("_before", "_notifier", "_rec", "_repo", "_who")

    def __init__(self, notifier: Notifier, repo: Repository, rec: IssueRecord, who: Who) -> None:
        self._notifier = notifier
        self._repo = repo
        self._rec = rec
        self._who = who
        self._before: _Before = (rec.title, rec.body, rec.state, rec.labels)

    def report(self) -> None:
        """Send ``edited``, ``unlabeled``, ``labeled``, ``closed`` or ``reopened`` as they apply."""
        events = _changes(self._repo, self._rec, self._before)
        self._notifier.item_events(self._repo, self._rec, self._who, events)


def _changes(repo: Repository, rec: IssueRecord, before: _Before) -> list[_Event]:
    title, body, state, labels = before
    edits = {
        field: {"from": old}
        for field, old, new in (("title", title, rec.title), ("body", body, rec.body))
        if old != new
    }
    events: list[_Event] = [("edited", {"changes": edits})] if edits else []
    events += _label_events(repo, labels, rec.labels)
    if rec.state != state:
        events.append(("closed" if rec.state == "closed" else "reopened", {}))
    return events


def _label_events(
    repo: Repository, before: tuple[str, ...], after: tuple[str, ...]
) -> list[_Event]:
    """``unlabeled`` for each label gone, then ``labeled`` for each one new (names in any case)."""
    was = {name.lower() for name in before}
    now = {name.lower() for name in after}
    gone = [name for name in before if name.lower() not in now]
    new = [name for name in after if name.lower() not in was]
    return [("unlabeled", {"label": repo.store.label_raw(name)}) for name in gone] + [
        ("labeled", {"label": repo.store.label_raw(name)}) for name in new
    ]
