"""GitHub's pull-request endpoints, and the two account endpoints: ``/user``, ``/rate_limit``."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from autoissue.emulator._common import find_issue, find_repo, identity, repo_with_id
from autoissue.emulator._context import Context
from autoissue.emulator._git import branch_shas
from autoissue.emulator._http import (
    Reject,
    error,
    json_body,
    read_json,
    respond,
    validation_failed,
)
from autoissue.emulator._models import PullInfo
from autoissue.emulator._payloads import token_login
from autoissue.emulator._query import link_header, page_args
from autoissue.emulator._repos import Repository
from autoissue.emulator._store import Encoded

__all__ = ["PullRoutes"]

_REPO = "/repos/{owner}/{repo}"


class PullRoutes:
    """Handlers for pull requests and the account endpoints, bound to one emulator's context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __repr__(self) -> str:
        return f"PullRoutes({self.ctx.config.repo})"

    def register(self, router: web.UrlDispatcher) -> None:
        """Add every route to ``router``."""
        router.add_get(_REPO + "/pulls", self.list_pulls)
        router.add_get("/repositories/{id}/pulls", self.list_pulls_by_id)
        router.add_post(_REPO + "/pulls", self.create_pull)
        router.add_get(_REPO + "/pulls/{n}", self.get_pull)
        router.add_get("/user", self.user)
        router.add_get("/rate_limit", self.rate_limit)

    async def list_pulls(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/pulls``: ``state``, ``head`` (owner:branch), ``base``."""
        return self._pull_page(request, find_repo(self.ctx, request))

    async def list_pulls_by_id(self, request: web.Request) -> web.Response:
        """``GET /repositories/{id}/pulls``: where the ``link`` headers point."""
        return self._pull_page(request, repo_with_id(self.ctx, request))

    def _pull_page(self, request: web.Request, repo: Repository) -> web.Response:
        query = request.query
        filters = {
            key: query[key] for key in ("state", "base", "sort", "direction") if key in query
        }
        if "head" in query:
            filters["head"] = _branch(repo, query["head"]) or "\0"  # another owner: no match
        page, per_page = page_args(query)
        encoded, last = repo.listing.pulls(filters, page, per_page)
        url = f"{self.ctx.base_url}/repositories/{repo.id}/pulls"
        link = link_header(url, query, page, last)
        return respond(
            request, encoded, identity(request), headers={"Link": link} if link else None
        )

    async def get_pull(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}/pulls/{n}``."""
        repo, rec = find_issue(self.ctx, request)
        if rec.pull is None:
            raise Reject(error(404, "Not Found"))
        body = msgspec.json.encode(repo.store.pull(rec))
        return respond(request, Encoded(body, rec.updated_at), identity(request))

    async def create_pull(self, request: web.Request) -> web.Response:
        """``POST /repos/{owner}/{repo}/pulls``: the head branch must exist in the bare repo."""
        repo = find_repo(self.ctx, request)
        fields = _pull_fields(await read_json(request))
        head, head_sha = await _head_commit(repo, fields["head"], fields["base"])
        store = repo.store  # read after the awaits: a reset or another request may have come
        if head in store.open_heads:
            self.ctx.stats.duplicate_writes += 1
            message = f"A pull request already exists for {repo.owner}:{head}."
            raise validation_failed("PullRequest", "", "custom", message=message)
        info = PullInfo(
            head=head, base=fields["base"], draft=fields["draft"], head_sha=head_sha, merged_at=None
        )
        user = token_login(identity(request))
        rec = store.create_pull(user=user, title=fields["title"], body=fields["body"], info=info)
        self.ctx.hooks.opened(repo, rec, request)
        obj = store.pull(rec)
        return json_body(obj, 201, {"Location": obj["url"]})

    async def user(self, request: web.Request) -> web.Response:
        """``GET /user``: the token's owner; 401 without a token."""
        who = identity(request)
        if who.startswith("ip:"):
            raise Reject(error(401, "Requires authentication"))
        body = msgspec.json.encode(self.ctx.payloads.private_user(token_login(who)))
        return respond(request, Encoded(body, 0), who)

    async def rate_limit(self, request: web.Request) -> web.Response:
        """``GET /rate_limit``: 404 when limits are off, as on GitHub Enterprise Server."""
        if not self.ctx.limits:
            raise Reject(error(404, "Rate limiting is not enabled."))
        return json_body(self.ctx.limiter.overview(identity(request)))


def _branch(repo: Repository, ref: str) -> str | None:
    """The branch of ``ref`` (``owner:branch`` or ``branch``); ``None`` for another owner."""
    owner, colon, branch = ref.rpartition(":")
    if colon and owner.lower() != repo.owner.lower():
        return None
    return branch


async def _head_commit(repo: Repository, ref: str, base: str) -> tuple[str, str]:
    """The head branch of ``ref`` and its sha; 422 unless both it and ``base`` exist."""
    head = _branch(repo, ref)
    shas = await branch_shas(repo.bare, head or "", base)
    head_sha = shas[head] if head else None
    if head is None or head_sha is None:
        raise validation_failed("PullRequest", "head")
    if shas[base] is None:
        raise validation_failed("PullRequest", "base")
    return head, head_sha


def _pull_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Reject(error(400, "Problems parsing JSON"))
    for field in ("title", "head", "base"):
        if not isinstance(body.get(field), str) or not body[field]:
            code = "missing_field" if field not in body else "invalid"
            raise validation_failed("PullRequest", field, code)
    if not isinstance(body.get("body", ""), str | None):
        raise validation_failed("PullRequest", "body")
    return {
        "title": body["title"],
        "head": body["head"],
        "base": body["base"],
        "body": body.get("body"),
        "draft": bool(body.get("draft", False)),
    }
