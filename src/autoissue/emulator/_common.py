"""Helpers every route shares: finding the repository and issue, reading edits and label lists."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from autoissue.emulator._context import Context
from autoissue.emulator._http import IDENTITY, Reject, error, validation_failed
from autoissue.emulator._models import IssueRecord
from autoissue.emulator._store import RepoStore

__all__ = ["Edit", "apply_edit", "find_issue", "identity", "label_names", "parse_edit"]

_STATES = ("open", "closed")
_REASONS = ("completed", "not_planned", "reopened", None)
Edit = dict[str, Any]


def identity(request: web.Request) -> str:
    """The token (or ``ip:ADDRESS``) the pipeline authenticated the request as."""
    return request[IDENTITY]


def check_repo(ctx: Context, owner: str, repo: str) -> None:
    """404 unless ``owner/repo`` names the emulated repository (in any case, as GitHub allows)."""
    if f"{owner}/{repo}".lower() != ctx.config.repo.lower():
        raise Reject(error(404, "Not Found"))


def find_issue(ctx: Context, request: web.Request) -> IssueRecord:
    """The issue or pull request the path names, or a 404 GitHub's way."""
    info = request.match_info
    check_repo(ctx, info["owner"], info["repo"])
    number = info["n"]
    rec = ctx.store.get(int(number)) if number.isdigit() else None
    if rec is None:
        raise Reject(error(404, "Not Found"))
    return rec


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
