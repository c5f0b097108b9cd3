"""GitHub's repository, issue, comment and issue-label endpoints."""

from __future__ import annotations

from aiohttp import web

from autoissue.emulator._common import (
    apply_edit,
    check_repo,
    find_issue,
    identity,
    label_names,
    parse_edit,
)
from autoissue.emulator._context import REPO_ID, Context
from autoissue.emulator._http import (
    Reject,
    error,
    json_body,
    read_json,
    respond,
    validation_failed,
)
from autoissue.emulator._payloads import token_login
from autoissue.emulator._query import QueryError, link_header, page_args, parse_issue_query, since
from autoissue.emulator._store import Encoded

__all__ = ["IssueRoutes"]

_REPO = "/repos/{owner}/{repo}"
_ISSUE = _REPO + "/issues/{n}"


class IssueRoutes:
    """Handlers for the repository and its issues, bound to one emulator's context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __repr__(self) -> str:
        return f"IssueRoutes({self.ctx.config.repo})"

    def register(self, router: web.UrlDispatcher) -> None:
        """Add every route to ``router``."""
        router.add_get(_REPO, self.get_repo)
        router.add_get(_REPO + "/issues", self.list_issues)
        router.add_get("/repositories/{id}/issues", self.list_issues_by_id)
        router.add_get(_ISSUE, self.get_issue)
        router.add_patch(_ISSUE, self.update_issue)
        router.add_get(_ISSUE + "/comments", self.list_comments)
        router.add_get("/repositories/{id}/issues/{n}/comments", self.list_comments_by_id)
        router.add_post(_ISSUE + "/comments", self.create_comment)
        router.add_patch(_REPO + "/issues/comments/{id}", self.edit_comment)
        router.add_get(_ISSUE + "/labels", self.list_labels)
        router.add_post(_ISSUE + "/labels", self.add_labels)
        router.add_put(_ISSUE + "/labels", self.set_labels)
        router.add_delete(_ISSUE + "/labels", self.clear_labels)
        router.add_delete(_ISSUE + "/labels/{name}", self.remove_label)

    def _by_id(self, request: web.Request) -> None:
        if request.match_info["id"] != str(REPO_ID):
            raise Reject(error(404, "Not Found"))

    async def get_repo(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}``."""
        check_repo(self.ctx, request.match_info["owner"], request.match_info["repo"])
        return respond(request, self.ctx.store.repository(), identity(request))

    async def list_issues(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/issues``: pull requests included, as on GitHub."""
        check_repo(self.ctx, request.match_info["owner"], request.match_info["repo"])
        return self._issue_page(request)

    async def list_issues_by_id(self, request: web.Request) -> web.Response:
        """``GET /repositories/{id}/issues``: where GitHub's ``link`` headers point."""
        self._by_id(request)
        return self._issue_page(request)

    def _issue_page(self, request: web.Request) -> web.Response:
        try:
            query = parse_issue_query(request.query)
        except QueryError as exc:
            raise validation_failed("Issue", exc.field) from None
        page, last = self.ctx.listing.issues(query)
        url = f"{self.ctx.base_url}/repositories/{REPO_ID}/issues"
        link = link_header(url, request.query, query.page, last)
        return respond(request, page, identity(request), headers={"Link": link} if link else None)

    async def get_issue(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/issues/{n}``."""
        rec = find_issue(self.ctx, request)
        return respond(request, self.ctx.store.issue(rec), identity(request))

    async def update_issue(self, request: web.Request) -> web.Response:
        """``PATCH /repos/{owner}/{repo}/issues/{n}``: title, body, state, reason, labels."""
        rec = find_issue(self.ctx, request)
        changed = apply_edit(self.ctx.store, rec, parse_edit(await read_json(request)))
        self.ctx.stats.redundant_writes += not changed
        return respond(request, self.ctx.store.issue(rec), identity(request))

    async def list_comments(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/issues/{n}/comments``, oldest first."""
        rec = find_issue(self.ctx, request)
        return self._comment_page(request, rec.number)

    async def list_comments_by_id(self, request: web.Request) -> web.Response:
        """``GET /repositories/{id}/issues/{n}/comments``: where ``link`` headers point."""
        self._by_id(request)
        info = request.match_info
        rec = self.ctx.store.get(int(info["n"])) if info["n"].isdigit() else None
        if rec is None:
            raise Reject(error(404, "Not Found"))
        return self._comment_page(request, rec.number)

    def _comment_page(self, request: web.Request, number: int) -> web.Response:
        rec = self.ctx.store.records[number - 1]
        page, per_page = page_args(request.query)
        try:
            after = since(request.query)
        except QueryError as exc:
            raise validation_failed("IssueComment", exc.field) from None
        encoded, last = self.ctx.listing.comments(rec, page, per_page, after)
        url = f"{self.ctx.base_url}/repositories/{REPO_ID}/issues/{number}/comments"
        link = link_header(url, request.query, page, last)
        return respond(
            request, encoded, identity(request), headers={"Link": link} if link else None
        )

    async def create_comment(self, request: web.Request) -> web.Response:
        """``POST /repos/{owner}/{repo}/issues/{n}/comments`` (a repeated body is counted)."""
        rec = find_issue(self.ctx, request)
        body = await read_json(request)
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            raise validation_failed("IssueComment", "body", "missing_field")
        comment, duplicate = self.ctx.store.add_comment(rec, token_login(identity(request)), text)
        self.ctx.stats.duplicate_writes += duplicate
        obj = self.ctx.store.comment(rec, comment)
        return json_body(obj, 201, {"Location": obj["url"]})

    async def edit_comment(self, request: web.Request) -> web.Response:
        """``PATCH /repos/{owner}/{repo}/issues/comments/{id}``: a new body for a comment."""
        info = request.match_info
        check_repo(self.ctx, info["owner"], info["repo"])
        raw_id = info["id"]
        found = self.ctx.store.find_comment(int(raw_id)) if raw_id.isdigit() else None
        if found is None:
            raise Reject(error(404, "Not Found"))
        body = await read_json(request)
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            raise validation_failed("IssueComment", "body", "missing_field")
        rec, comment = found
        self.ctx.stats.redundant_writes += not self.ctx.store.edit_comment(rec, comment, text)
        return json_body(self.ctx.store.comment(rec, comment))

    async def list_labels(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/issues/{n}/labels``."""
        rec = find_issue(self.ctx, request)
        encoded = Encoded(self.ctx.store.labels_body(rec), rec.updated_at)
        return respond(request, encoded, identity(request))

    async def add_labels(self, request: web.Request) -> web.Response:
        """``POST .../issues/{n}/labels``: add; answers with all the issue's labels."""
        return await self._label_write(request, replace=False)

    async def set_labels(self, request: web.Request) -> web.Response:
        """``PUT .../issues/{n}/labels``: replace; answers with all the issue's labels."""
        return await self._label_write(request, replace=True)

    async def _label_write(self, request: web.Request, *, replace: bool) -> web.Response:
        rec = find_issue(self.ctx, request)
        names = label_names(await read_json(request), allow_empty=replace)
        changed = self.ctx.store.set_labels(rec, names, replace=replace)
        self.ctx.stats.redundant_writes += not changed
        return web.Response(body=self.ctx.store.labels_body(rec), headers=_JSON)

    async def clear_labels(self, request: web.Request) -> web.Response:
        """``DELETE .../issues/{n}/labels``: remove them all; 204."""
        rec = find_issue(self.ctx, request)
        changed = self.ctx.store.set_labels(rec, [], replace=True)
        self.ctx.stats.redundant_writes += not changed
        return web.Response(status=204)

    async def remove_label(self, request: web.Request) -> web.Response:
        """``DELETE .../issues/{n}/labels/{name}``: 404 "Label does not exist" when absent."""
        rec = find_issue(self.ctx, request)
        if not self.ctx.store.remove_label(rec, request.match_info["name"]):
            raise Reject(error(404, "Label does not exist"))
        return web.Response(body=self.ctx.store.labels_body(rec), headers=_JSON)


_JSON = {"Content-Type": "application/json; charset=utf-8"}
