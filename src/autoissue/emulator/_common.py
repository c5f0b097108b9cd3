"""Helpers every route shares: finding the repository and issue, reading edits and label lists."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from autoissue.emulator._context import Context
from autoissue.emulator._http import IDENTITY, Reject, error, validation_failed
from autoissue.emulator._models import IssueRecord
from autoissue.emulator._repos import Repository
from autoissue.emulator._store import RepoStore

__all__ = [
    "Edit",
    "apply_edit",
    "find_issue",
    "find_repo",
    "identity",
    "label_names",
    "numbered",
    "parse_edit",
    "parse_new_issue",
    "repo_with_id",
]

_STATES = ("open", "closed")
_REASONS = ("completed", "not_planned", "reopened", None)
Edit = dict[str, Any]


def identity(request: web.Request) -> str:
    """The token (or ``ip:ADDRESS``) the pipeline authenticated the request as."""
    return request[IDENTITY]


def _not_found() -> Reject:
    return Reject(error(404, "Not Found"))


def find_repo(ctx: Context, request: web.Request) -> Repository:
    """The repository ``{owner}/{repo}`` of the path names (in any case, as GitHub allows)."""
    info = request.match_info
    repo = ctx.repos.named(info["owner"], info["repo"])
    if repo is None:
        raise _not_found()
    return repo


def repo_with_id(ctx: Context, request: web.Request) -> Repository:
    """The repository ``/repositories/{id}/...`` names: where ``link`` headers point."""
    repo = ctx.repos.with_id(request.match_info["id"])
    if repo is None:
        raise _not_found()
    return repo


def numbered(repo: Repository, number: str) -> IssueRecord:
    """Item ``number`` (as the path gives it) of ``repo``, or a 404 GitHub's way."""
    rec = repo.store.get(int(number)) if number.isdigit() else None
    if rec is None:
        raise _not_found()
    return rec


def find_issue(ctx: Context, request: web.Request) -> tuple[Repository, IssueRecord]:
    """The repository and the issue or pull request the path names, or a 404."""
    repo = find_repo(ctx, request)
    return repo, numbered(repo, request.match_info["n"])


def _check(ok: bool, field: str) -> None:
    if not ok:
        raise validation_failed("Issue", field)


def parse_edit(body: Any) -> Edit:
    """The fields of an issue update GitHub would accept; a 422 names the first bad one."""
    if not isinstance(body, dict):
        raise Reject(error(400, "Problems parsing JSON"))
    edit = {key: body[key] for key in ("title", "body", "state", "state_reason") if key in body}
    _check(isinstance(edit.get("title", ""), str) and edit.get("title") != "", "title")
    _check(isinstance(edit.get("body", ""), str | None), "body")
    _check(edit.get("state", "open") in _STATES, "state")
    _check(edit.get("state_reason") in _REASONS, "state_reason")
    if "labels" in body:
        edit["labels"] = label_names(body["labels"], allow_empty=True)
    return edit


def parse_new_issue(body: Any) -> Edit:
    """``title``, ``body``, ``labels`` and ``assignees`` of a new issue, as GitHub reads them.

    A number is a title too (GitHub's schema says string or integer); ``assignee``, the older
    single form, joins ``assignees``.
    """
    if not isinstance(body, dict):
        raise Reject(error(400, "Problems parsing JSON"))
    title = body.get("title")
    if isinstance(title, int) and not isinstance(title, bool):
        title = str(title)
    if not isinstance(title, str) or not title.strip():
        raise validation_failed("Issue", "title", "invalid" if "title" in body else "missing_field")
    _check(isinstance(body.get("body"), str | None), "body")
    labels = label_names(body["labels"], allow_empty=True) if "labels" in body else []
    return {"title": title, "body": body.get("body"), "labels": labels, **_assignees(body)}


def _assignees(body: dict[str, Any]) -> Edit:
    logins = body.get("assignees")
    logins = [] if logins is None else logins
    single = body.get("assignee")
    _check(isinstance(logins, list) and all(isinstance(x, str) and x for x in logins), "assignees")
    _check(single is None or (isinstance(single, str) and bool(single)), "assignee")
    return {"assignees": [single, *logins] if single else list(logins)}


def label_names(body: Any, *, allow_empty: bool) -> list[str]:
    """Label names from ``{"labels": [...]}`` or a bare list, of names or ``{"name": ...}``."""
    items = body.get("labels") if isinstance(body, dict) else body
    if not isinstance(items, list) or not (items or allow_empty):
        raise validation_failed("Label", "labels", "missing_field" if items is None else "invalid")
    names = [item.get("name") if isinstance(item, dict) else item for item in items]
    cleaned = [name.strip() for name in names if isinstance(name, str)]
    if len(cleaned) != len(names) or not all(cleaned):
        raise validation_failed("Label", "name")
    return cleaned


def apply_edit(store: RepoStore, rec: IssueRecord, edit: Edit) -> bool:
    """Apply a parsed edit to ``rec`` and touch it once; return whether anything changed."""
    fields = _edited_fields(rec)
    if "title" in edit:
        rec.title = edit["title"]
    if "body" in edit:
        rec.body = edit["body"]
    before = rec.state
    if "state" in edit or "state_reason" in edit:
        store.set_state(rec, edit.get("state", rec.state), edit.get("state_reason"))
    if "labels" in edit:
        store.set_labels(rec, edit["labels"], replace=True)
    store.touch(rec, state=rec.state != before)
    return _edited_fields(rec) != fields


def _edited_fields(rec: IssueRecord) -> tuple[object, ...]:
    """What an issue update can change; labels as a set, since their order means nothing."""
    return rec.title, rec.body, rec.state, rec.state_reason, frozenset(rec.labels)
