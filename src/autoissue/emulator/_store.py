"""The live state of the emulated repository: records, labels, mutations and encoded JSON.

Reads are served from encoded bytes cached per issue; a mutation drops that issue's bytes and
bumps version counters that tell the listing caches (``_listing.py``) what may have moved.
``updated_at`` never goes backwards, so the update order is kept by moving a touched issue to
the end of an insertion-ordered dict, in constant time.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from autoissue._clock import Clock
from autoissue.emulator._data import DEFAULT_LABELS, EPOCH_END
from autoissue.emulator._models import Comment, IssueRecord, PullInfo
from autoissue.emulator._payload_tables import JSON
from autoissue.emulator._payloads import Payloads, iso

__all__ = ["Encoded", "RepoStore", "digest"]

_NEW_LABEL = ("ededed", None, False)
_CACHE_LIMIT = 50_000


def digest(body: bytes) -> bytes:
    """A short content hash, the seed of ETags."""
    return hashlib.blake2b(body, digest_size=16).digest()


class Encoded:
    """A JSON body ready to send, its content digest and its last-modified time."""

    __slots__ = ("body", "digest", "modified")

    def __init__(self, body: bytes, modified: int, content_digest: bytes | None = None) -> None:
        self.body = body
        self.digest = content_digest if content_digest is not None else digest(body)
        self.modified = modified


class _Label:
    __slots__ = ("name", "raw")

    def __init__(self, name: str, raw: msgspec.Raw) -> None:
        self.name = name
        self.raw = raw


class RepoStore:
    """One repository's issues, pull requests, labels and comments, and their encoded JSON.

    ``id_offset`` is added to the ids of the items and comments it creates, so that ids stay
    unique across the repositories of one emulator, as GitHub's are.
    """

    def __init__(
        self,
        *,
        payloads: Payloads,
        records: list[IssueRecord],
        clock: Clock,
        clone_url: str,
        id_offset: int = 0,
    ) -> None:
        self.payloads = payloads
        self.clone_url = clone_url
        self.records = records
        self.clock = clock
        self.id_offset = id_offset
        self.content_version = self.state_version = self.label_version = 0
        ordered = sorted(self.records, key=lambda r: (r.updated_at, r.number))
        self.updated_order = {r.number: r for r in ordered}
        opened = [r for r in self.records if r.state == "open"]
        self.open_heads = {r.pull.head: r.number for r in opened if r.pull}
        self.open_items = len(opened)
        self._latest = max([EPOCH_END, *(r.updated_at for r in self.records)])
        self._labels: dict[str, _Label] = {}
        self._encoded: dict[int, Encoded] = {}
        self._repo: tuple[int, Encoded, JSON] | None = None
        self._hook_repo: tuple[int, msgspec.Raw] | None = None
        self._created: set[tuple[str, str | None]] = set()
        self._comment_ids = id_offset + 10 * (len(records) + 1)
        for name, info in DEFAULT_LABELS.items():
            self._label(name, info)

    def __repr__(self) -> str:
        return f"RepoStore({self.payloads.full_name}, items={len(self.records)})"

    def get(self, number: int) -> IssueRecord | None:
        """The item numbered ``number``, or ``None``."""
        return self.records[number - 1] if 0 < number <= len(self.records) else None

    def _label(self, name: str, info: tuple[str, str | None, bool] = _NEW_LABEL) -> _Label:
        """The repository label called ``name`` (any case), created on first use as GitHub does."""
        found = self._labels.get(name.lower())
        if found is None:
            raw = self.payloads.label(2000 + len(self._labels), name, info)
            found = self._labels[name.lower()] = _Label(name, raw)
        return found

    # --- reads -----------------------------------------------------------------------------

    def issue(self, rec: IssueRecord) -> Encoded:
        """The encoded issue object of ``rec``, cached until it changes."""
        found = self._encoded.get(rec.number)
        if found is None:
            if len(self._encoded) >= _CACHE_LIMIT:
                # Evict the oldest entry: insertion order approximates least recently built.
                del self._encoded[next(iter(self._encoded))]
            body = self.payloads.issue(rec, self.label_raws(rec))
            found = self._encoded[rec.number] = Encoded(body, rec.updated_at)
        return found

    def label_raws(self, rec: IssueRecord) -> list[msgspec.Raw]:
        """The encoded label objects of ``rec``."""
        return [self._label(name).raw for name in rec.labels]

    def label_raw(self, name: str) -> msgspec.Raw:
        """The encoded object of the repository label ``name`` (any case)."""
        return self._label(name).raw

    @property
    def latest(self) -> int:
        """When anything in the repository last changed (its ``pushed_at``), epoch seconds."""
        return self._latest

    def labels_body(self, rec: IssueRecord) -> bytes:
        """The JSON list of ``rec``'s labels, as the label endpoints answer."""
        return msgspec.json.encode(self.label_raws(rec))

    def repository(self) -> Encoded:
        """The encoded repository object (its open-issue count follows state changes)."""
        return self._repository()[1]

    def _repository(self) -> tuple[int, Encoded, JSON]:
        if self._repo is None or self._repo[0] != self.state_version:
            obj = self.payloads.repository(
                clone_url=self.clone_url, open_issues=self.open_items, pushed_at=self._latest
            )
            encoded = Encoded(msgspec.json.encode(obj), self._latest)
            self._repo = (self.state_version, encoded, obj)
        return self._repo

    def hook_repository(self) -> msgspec.Raw:
        """The encoded repository object webhook payloads carry, cached as the API's is."""
        version, _, obj = self._repository()
        if self._hook_repo is None or self._hook_repo[0] != version:
            hook = msgspec.Raw(msgspec.json.encode(self.payloads.hook_repository(obj)))
            self._hook_repo = (version, hook)
        return self._hook_repo[1]

    def pull(self, rec: IssueRecord) -> dict[str, Any]:
        """The pull-request object of ``rec``."""
        repo = msgspec.Raw(self.repository().body)
        return self.payloads.pull(rec, self.label_raws(rec), repo)

    def comment(self, rec: IssueRecord, comment: Comment) -> dict[str, Any]:
        """The comment object of ``comment`` on ``rec``."""
        return self.payloads.comment(rec.number, comment)

    # --- writes ----------------------------------------------------------------------------

    def touch(self, rec: IssueRecord, *, state: bool = False, labels: bool = False) -> None:
        """Record a change to ``rec``: bump ``updated_at`` and invalidate what depends on it."""
        self._latest = max(int(self.clock.time()), self._latest)
        rec.updated_at = self._latest
        self.updated_order.pop(rec.number, None)
        self.updated_order[rec.number] = rec
        self._encoded.pop(rec.number, None)
        self.content_version += 1
        self.state_version += state
        self.label_version += labels

    def set_labels(self, rec: IssueRecord, names: list[str], *, replace: bool) -> bool:
        """Add ``names`` to ``rec``'s labels, or replace them; names match in any case.

        Return whether the set of labels changed (order aside, as on GitHub).
        """
        before = set(rec.labels)
        current = [] if replace else list(rec.labels)
        seen = {name.lower() for name in current}
        for name in names:
            if name.lower() not in seen:
                seen.add(name.lower())
                current.append(self._label(name).name)
        rec.labels = tuple(current)
        self.touch(rec, labels=True)
        return set(current) != before

    def remove_label(self, rec: IssueRecord, name: str) -> bool:
        """Remove ``name`` from ``rec``; ``False`` when it did not carry it."""
        kept = tuple(label for label in rec.labels if label.lower() != name.lower())
        if len(kept) == len(rec.labels):
            return False
        rec.labels = kept
        self.touch(rec, labels=True)
        return True

    def set_state(self, rec: IssueRecord, state: str, reason: str | None) -> None:
        """Open or close ``rec`` (without touching it: callers touch once per request)."""
        if state == "closed" and rec.state != "closed":
            rec.close(int(self.clock.time()), reason or "completed")
            self.open_items -= 1
        elif state == "open" and rec.state != "open":
            rec.state, rec.closed_at, rec.state_reason = "open", None, "reopened"
            self.open_items += 1
        elif reason is not None:
            rec.state_reason = reason
        if rec.pull and rec.state == "open":
            self.open_heads.setdefault(rec.pull.head, rec.number)
        elif rec.pull and self.open_heads.get(rec.pull.head) == rec.number:
            del self.open_heads[rec.pull.head]

    def add_comment(self, rec: IssueRecord, user: str, body: str) -> tuple[Comment, bool]:
        """Append a comment; the flag says the same body was already on the issue."""
        duplicate = any(comment.body == body for comment in rec.comments)
        self._comment_ids += 1
        comment = Comment(id=self._comment_ids, user=user, body=body, created_at=0)
        rec.comments.append(comment)
        self.touch(rec)
        comment.created_at = comment.updated_at = rec.updated_at
        return comment, duplicate

    def find_comment(self, comment_id: int) -> tuple[IssueRecord, Comment] | None:
        """The issue and comment with id ``comment_id``, or ``None``."""
        for rec in self.records:
            for comment in rec.comments:
                if comment.id == comment_id:
                    return rec, comment
        return None

    def edit_comment(self, rec: IssueRecord, comment: Comment, body: str) -> bool:
        """Replace ``comment``'s body, as its author editing it does; ``False`` if it was that."""
        changed = comment.body != body
        comment.body = body
        self.touch(rec)
        comment.updated_at = rec.updated_at
        return changed

    def create_pull(
        self, *, user: str, title: str, body: str | None, info: PullInfo
    ) -> IssueRecord:
        """Open a pull request as the next item of the issue list."""
        rec = self._new_item(user=user, title=title, body=body)
        rec.pull = info
        self.open_heads[info.head] = rec.number
        self.touch(rec, state=True, labels=True)
        return rec

    def create_issue(
        self,
        *,
        user: str,
        title: str,
        body: str | None,
        labels: list[str],
        assignees: list[str],
    ) -> tuple[IssueRecord, bool]:
        """Open an issue as the next item; the flag says one with its title and body was opened.

        Only issues opened here count for the flag: seeded titles repeat by design.
        """
        rec = self._new_item(user=user, title=title, body=body)
        rec.labels = tuple(self._label(name).name for name in _unique(labels))
        rec.assignees = tuple(dict.fromkeys(assignees))
        self.touch(rec, state=True, labels=True)
        duplicate = (title, body) in self._created
        self._created.add((title, body))
        return rec, duplicate

    def _new_item(self, *, user: str, title: str, body: str | None) -> IssueRecord:
        """Append an open item numbered after the last one, created now."""
        number = len(self.records) + 1
        rec = IssueRecord(
            number=number,
            id=self.id_offset + 1_000_000 + number,
            title=title,
            body=body,
            user=user,
            labels=(),
            created_at=max(int(self.clock.time()), self._latest),
        )
        self.records.append(rec)
        self.open_items += 1
        return rec

    # --- the admin view ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The repository as ``GET /_emulator/state`` shows it."""
        items = [_item(r) for r in self.records]
        pulls = [_pull_item(r) for r in self.records if r.pull]
        return {
            "full_name": self.payloads.full_name,
            "clone_url": self.clone_url,
            "issues": items,
            "pulls": pulls,
        }


def _unique(names: list[str]) -> list[str]:
    """``names`` without repeats in any case, in order, each first spelling kept."""
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(name.lower(), name)
    return list(first.values())


def _item(rec: IssueRecord) -> dict[str, Any]:
    return {
        "number": rec.number,
        "title": rec.title,
        "body": rec.body,
        "state": rec.state,
        "locked": rec.locked,
        "is_pull_request": rec.pull is not None,
        "labels": list(rec.labels),
        "updated_at": iso(rec.updated_at),
        "comments": [{"id": c.id, "user": c.user, "body": c.body} for c in rec.comments],
    }


def _pull_item(rec: IssueRecord) -> dict[str, Any]:
    assert rec.pull is not None  # noqa: S101 - filtered by the caller
    return {
        "number": rec.number,
        "head": rec.pull.head,
        "base": rec.pull.base,
        "state": rec.state,
        "title": rec.title,
        "body": rec.body,
        "draft": rec.pull.draft,
        "labels": list(rec.labels),
    }
