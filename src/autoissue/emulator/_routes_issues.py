"""GitHub's issue, comment and issue-label endpoints, over any of the emulator's repositories.

Every write reports to ``ctx.hooks``, which sends webhook events when a URL is set and
costs one call when none is (see ``_events.py``).
"""

from __future__ import annotations

from aiohttp import web

from autoissue.emulator._common import (
    apply_edit,
    find_issue,
    find_repo,
    identity,
    label_names,
    numbered,
    parse_edit,
    parse_new_issue,
    repo_with_id,
)
from autoissue.emulator._context import Context
from autoissue.emulator._http import (
    Reject,
    error,
    json_body,
    read_json,
    respond,
    validation_failed,
)
from autoissue.emulator._models import IssueRecord
from autoissue.emulator._payloads import token_login
from autoissue.emulator._query import QueryError, link_header, page_args, parse_issue_query, since
from autoissue.emulator._repos import Repository
from autoissue.emulator._store import Encoded

__all__ = ["IssueRoutes"]

_REPO = "/repos/{owner}/{repo}"
_ISSUE = _REPO + "/issues/{n}"


class IssueRoutes:
    """Handlers for issues, their comments and labels, bound to one emulator's context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __repr__(self) -> str:
        return f"IssueRoutes({self.ctx.config.repo})"

    def register(self, router: web.UrlDispatcher) -> None:
        """Add every route to ``router``."""
        router.add_get(_REPO + "/issues", self.list_issues)
        router.add_post(_REPO + "/issues", self.create_issue)
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

    async def list_issues(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/issues``: pull requests included, as on GitHub."""
        return self._issue_page(request, find_repo(self.ctx, request))

    async def list_issues_by_id(self, request: web.Request) -> web.Response:
        """``GET /repositories/{id}/issues``: where GitHub's ``link`` headers point."""
        return self._issue_page(request, repo_with_id(self.ctx, request))

    def _issue_page(self, request: web.Request, repo: Repository) -> web.Response:
        try:
            query = parse_issue_query(request.query)
        except QueryError as exc:
            raise validation_failed("Issue", exc.field) from None
        page, last = repo.listing.issues(query)
        url = f"{self.ctx.base_url}/repositories/{repo.id}/issues"
        link = link_header(url, request.query, query.page, last)
        return respond(request, page, identity(request), headers={"Link": link} if link else None)

    async def create_issue(self, request: web.Request) -> web.Response:
        """``POST /repos/{owner}/{repo}/issues``: 201 and the issue; a repeat is counted."""
        repo = find_repo(self.ctx, request)
        fields = parse_new_issue(await read_json(request))
        user = token_login(identity(request))
        rec, duplicate = repo.store.create_issue(user=user, **fields)
        self.ctx.stats.duplicate_writes += duplicate
        self.ctx.hooks.opened(repo, rec, request)
        location = f"{repo.payloads.repo_api}/issues/{rec.number}"
        headers = _JSON | {"Location": location}
        return web.Response(body=repo.store.issue(rec).body, status=201, headers=headers)

    async def get_issue(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/issues/{n}``."""
        repo, rec = find_issue(self.ctx, request)
        return respond(request, repo.store.issue(rec), identity(request))

    async def update_issue(self, request: web.Request) -> web.Response:
        """``PATCH /repos/{owner}/{repo}/issues/{n}``: title, body, state, reason, labels."""
        repo, rec = find_issue(self.ctx, request)
        edit = parse_edit(await read_json(request))
        watch = self.ctx.hooks.watch(repo, rec, request)
        self.ctx.stats.redundant_writes += not apply_edit(repo.store, rec, edit)
        watch.report()
        return respond(request, repo.store.issue(rec), identity(request))

    async def list_comments(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/issues/{n}/comments``, oldest first."""
        repo, rec = find_issue(self.ctx, request)
        return self._comment_page(request, repo, rec)

    async def list_comments_by_id(self, request: web.Request) -> web.Response:
        """``GET /repositories/{id}/issues/{n}/comments``: where ``link`` headers point."""
        repo = repo_with_id(self.ctx, request)
        return self._comment_page(request, repo, numbered(repo, request.match_info["n"]))

    def _comment_page(
        self, request: web.Request, repo: Repository, rec: IssueRecord
    ) -> web.Response:
        page, per_page = page_args(request.query)
        try:
            after = since(request.query)
        except QueryError as exc:
            raise validation_failed("IssueComment", exc.field) from None
        encoded, last = repo.listing.comments(rec, page, per_page, after)
        url = f"{self.ctx.base_url}/repositories/{repo.id}/issues/{rec.number}/comments"
        link = link_header(url, request.query, page, last)
        return respond(
            request, encoded, identity(request), headers={"Link": link} if link else None
        )

    async def create_comment(self, request: web.Request) -> web.Response:
        """``POST /repos/{owner}/{repo}/issues/{n}/comments`` (a repeated body is counted)."""
        repo, rec = find_issue(self.ctx, request)
        text = _comment_body(await read_json(request))
        comment, duplicate = repo.store.add_comment(rec, token_login(identity(request)), text)
        self.ctx.stats.duplicate_writes += duplicate
        self.ctx.hooks.commented(repo, rec, comment, request, None)
        obj = repo.store.comment(rec, comment)
        return json_body(obj, 201, {"Location": obj["url"]})

    async def edit_comment(self, request: web.Request) -> web.Response:
        """``PATCH /repos/{owner}/{repo}/issues/comments/{id}``: a new body for a comment."""
        repo = find_repo(self.ctx, request)
        raw_id = request.match_info["id"]
        found = repo.store.find_comment(int(raw_id)) if raw_id.isdigit() else None
        if found is None:
            raise Reject(error(404, "Not Found"))
        text = _comment_body(await read_json(request))
        rec, comment = found
        was = comment.body
        changed = repo.store.edit_comment(rec, comment, text)
        self.ctx.stats.redundant_writes += not changed
        if changed:
            self.ctx.hooks.commented(repo, rec, comment, request, was)
        return json_body(repo.store.comment(rec, comment))

    async def list_labels(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/issues/{n}/labels``."""
        repo, rec = find_issue(self.ctx, request)
        encoded = Encoded(repo.store.labels_body(rec), rec.updated_at)
        return respond(request, encoded, identity(request))

    async def add_labels(self, request: web.Request) -> web.Response:
        """``POST .../issues/{n}/labels``: add; answers with all the issue's labels."""
        return await self._label_write(request, replace=False)

    async def set_labels(self, request: web.Request) -> web.Response:
        """``PUT .../issues/{n}/labels``: replace; answers with all the issue's labels."""
        return await self._label_write(request, replace=True)

    async def _label_write(self, request: web.Request, *, replace: bool) -> web.Response:
        repo, rec = find_issue(self.ctx, request)
        names = label_names(await read_json(request), allow_empty=replace)
        watch = self.ctx.hooks.watch(repo, rec, request)
        changed = repo.store.set_labels(rec, names, replace=replace)
        self.ctx.stats.redundant_writes += not changed
        watch.report()
        return web.Response(body=repo.store.labels_body(rec), headers=_JSON)

    async def clear_labels(self, request: web.Request) -> web.Response:
        """``DELETE .../issues/{n}/labels``: remove them all; 204."""
        repo, rec = find_issue(self.ctx, request)
        watch = self.ctx.hooks.watch(repo, rec, request)
        changed = repo.store.set_labels(rec, [], replace=True)
        self.ctx.stats.redundant_writes += not changed
        watch.report()
        return web.Response(status=204)

    async def remove_label(self, request: web.Request) -> web.Response:
        """``DELETE .../issues/{n}/labels/{name}``: 404 "Label does not exist" when absent."""
        repo, rec = find_issue(self.ctx, request)
        watch = self.ctx.hooks.watch(repo, rec, request)
        if not repo.store.remove_label(rec, request.match_info["name"]):
            raise Reject(error(404, "Label does not exist"))
        watch.report()
        return web.Response(body=repo.store.labels_body(rec), headers=_JSON)


def _comment_body(body: object) -> str:
    """The ``body`` of a comment write; 422 when missing or empty."""
    text = body.get("body") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text:
        raise validation_failed("IssueComment", "body", "missing_field")
    return text


_JSON = {"Content-Type": "application/json; charset=utf-8"}
