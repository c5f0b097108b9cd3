"""GitHub's repository endpoints: one repository, and the lists of them.

The lists (an organization's, the user's, an installation's) carry the same repository object
``GET /repos/{owner}/{repo}`` answers, a superset of GitHub's minimal-repository shape, and are
paginated with ``link`` headers like the issue lists. Every emulated repository is public, not
a fork and not archived, and every token may see and write all of them.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from autoissue.emulator._common import find_repo, identity
from autoissue.emulator._context import Context
from autoissue.emulator._http import Reject, error, respond, validation_failed
from autoissue.emulator._listing import last_page, page_slice
from autoissue.emulator._query import QueryError, link_header, parse_repo_query
from autoissue.emulator._repos import Repository
from autoissue.emulator._store import Encoded, digest

__all__ = ["RepoRoutes"]

_SORT_KEYS: dict[str, Callable[[Repository], tuple[int | str, ...]]] = {
    "created": lambda repo: (repo.id,),  # all created at one instant, in order
    "updated": lambda repo: (repo.store.latest, repo.id),
    "pushed": lambda repo: (repo.store.latest, repo.id),
    "full_name": lambda repo: (repo.full_name.lower(),),
}
_HIDDEN = frozenset({"private", "forks"})  # no emulated repository is either
_APP_ONLY = "This endpoint requires an installation access token (ghs_...)."


class RepoRoutes:
    """Handlers for repositories, bound to one emulator's context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __repr__(self) -> str:
        return f"RepoRoutes({len(self.ctx.repos)} repos)"

    def register(self, router: web.UrlDispatcher) -> None:
        """Add every route to ``router``."""
        router.add_get("/repos/{owner}/{repo}", self.get_repo)
        router.add_get("/orgs/{org}/repos", self.org_repos)
        router.add_get("/user/repos", self.user_repos)
        router.add_get("/installation/repositories", self.installation_repos)

    async def get_repo(self, request: web.Request) -> web.Response:
        """``GET /repos/{owner}/{repo}``."""
        repo = find_repo(self.ctx, request)
        return respond(request, repo.store.repository(), identity(request))

    async def org_repos(self, request: web.Request) -> web.Response:
        """``GET /orgs/{org}/repos``: the owner's repositories, oldest first; 404 for no owner."""
        owned = self.ctx.repos.owned_by(request.match_info["org"])
        if not owned:
            raise Reject(error(404, "Not Found"))
        shown = [] if request.query.get("type") in _HIDDEN else owned
        return self._list(request, shown, "created")

    async def user_repos(self, request: web.Request) -> web.Response:
        """``GET /user/repos``: every repository, by name; a user's token only."""
        who = identity(request)
        if who.startswith("ip:"):
            raise Reject(error(401, "Requires authentication"))
        if who.startswith("ghs_"):
            raise Reject(error(403, "Resource not accessible by integration"))
        query = request.query
        private = "private" in (query.get("visibility"), query.get("type"))
        return self._list(request, [] if private else list(self.ctx.repos), "full_name")

    async def installation_repos(self, request: web.Request) -> web.Response:
        """``GET /installation/repositories``: every repository, with ``total_count``."""
        if not identity(request).startswith("ghs_"):
            raise Reject(error(403, _APP_ONLY))
        repos = list(self.ctx.repos)
        page, link = self._page(request, repos, "created")
        head = b'{"total_count":%d,"repository_selection":"all","repositories":' % len(repos)
        encoded = Encoded(head + page.body + b"}", page.modified, page.digest)
        return respond(request, encoded, identity(request), headers=_link(link))

    def _list(self, request: web.Request, repos: list[Repository], sort: str) -> web.Response:
        page, link = self._page(request, repos, sort)
        return respond(request, page, identity(request), headers=_link(link))

    def _page(
        self, request: web.Request, repos: list[Repository], default_sort: str
    ) -> tuple[Encoded, str | None]:
        """The page of ``repos`` the query asks for, and its ``link`` header."""
        try:
            query = parse_repo_query(request.query, default_sort)
        except QueryError as exc:
            raise validation_failed("Repository", exc.field) from None
        ordered = sorted(repos, key=_SORT_KEYS[query.sort])
        chunk = page_slice(ordered, 0, query.page, query.per_page, query.direction == "asc")
        url = f"{self.ctx.base_url}{request.path}"
        last = last_page(len(ordered), query.per_page)
        return _encode(chunk), link_header(url, request.query, query.page, last)


def _encode(chunk: list[Repository]) -> Encoded:
    parts = [repo.store.repository() for repo in chunk]
    body = b"[" + b",".join(part.body for part in parts) + b"]"
    modified = max((part.modified for part in parts), default=0)
    return Encoded(body, modified, digest(b"".join(part.digest for part in parts)))


def _link(link: str | None) -> dict[str, str] | None:
    return {"Link": link} if link else None
