"""GitHub's JSON shapes (issue, user, label, comment, pull, repository), built from records.

Shapes follow the recorded api.github.com responses in ``shared/fixtures/octokit``; every API URL
is built from the emulator's own base URL. Users and labels are encoded once and embedded as
``msgspec.Raw`` so an issue costs one small dict and one encode.
"""

from __future__ import annotations

import base64
import time
import zlib
from typing import Any

import msgspec

from autoissue.emulator._models import Comment, IssueRecord

__all__ = ["Payloads", "iso", "token_login", "user_id"]

_NULL_REACTIONS = {"total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                   "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}  # fmt: skip
_encode = msgspec.json.encode
JSON = dict[str, Any]


def iso(ts: int | None) -> str | None:
    """Format epoch seconds as GitHub does (``2024-01-02T03:04:05Z``); ``None`` stays ``None``."""
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def user_id(login: str) -> int:
    """A stable numeric id for a login."""
    return 1000 + zlib.crc32(login.encode()) % 90_000_000


def token_login(token: str) -> str:
    """The login the emulator gives the owner of ``token``: stable, and not revealing it."""
    return f"user-{zlib.crc32(token.encode()):08x}"


def _node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


class Payloads:
    """Builds the JSON of one repository's objects, with URLs under ``base_url``."""

    def __init__(self, *, base_url: str, full_name: str, repo_id: int) -> None:
        self.base = base_url
        self.full_name = full_name
        self.repo_id = repo_id
        self.repo_api = f"{base_url}/repos/{full_name}"
        self.html = f"{base_url}/{full_name}"
        self._users: dict[str, msgspec.Raw] = {}

    def user(self, login: str) -> msgspec.Raw:
        """The encoded simple-user object of ``login`` (cached)."""
        raw = self._users.get(login)
        if raw is None:
            raw = self._users[login] = msgspec.Raw(_encode(self.user_dict(login)))
        return raw

    def user_dict(self, login: str, kind: str = "User") -> JSON:
        """The simple-user object of ``login`` as a dict."""
        url = f"{self.base}/users/{login}"
        uid = user_id(login)
        return {"login": login, "id": uid, "node_id": _node_id(kind, uid),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
                "gravatar_id": "", "url": url, "html_url": f"{self.base}/{login}",
                "followers_url": f"{url}/followers",
                "following_url": f"{url}/following{{/other_user}}",
                "gists_url": f"{url}/gists{{/gist_id}}",
                "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
                "subscriptions_url": f"{url}/subscriptions", "organizations_url": f"{url}/orgs",
                "repos_url": f"{url}/repos", "events_url": f"{url}/events{{/privacy}}",
                "received_events_url": f"{url}/received_events", "type": kind,
                "user_view_type": "public", "site_admin": False}  # fmt: skip

    def private_user(self, login: str) -> JSON:
        """The authenticated user's object (``GET /user``)."""
        stamp = "2020-01-01T00:00:00Z"
        return self.user_dict(login) | {
            "name": login, "company": None, "blog": "", "location": None, "email": None,
            "hireable": None, "bio": None, "twitter_username": None, "public_repos": 1,
            "public_gists": 0, "followers": 0, "following": 0, "created_at": stamp,
            "updated_at": stamp, "private_gists": 0, "total_private_repos": 0,
            "owned_private_repos": 0, "disk_usage": 0, "collaborators": 0,
            "two_factor_authentication": False,
        }  # fmt: skip

    def label(self, label_id: int, name: str, info: tuple[str, str | None, bool]) -> msgspec.Raw:
        """The encoded label object (callers cache it: labels rarely change)."""
        color, description, default = info
        return msgspec.Raw(_encode({
            "id": label_id, "node_id": _node_id("Label", label_id),
            "url": f"{self.repo_api}/labels/{name.replace(' ', '%20')}", "name": name,
            "color": color, "default": default, "description": description,
            "archived_at": None, "archived_by": None,
        }))  # fmt: skip

    def issue(self, rec: IssueRecord, labels: list[msgspec.Raw]) -> bytes:
        """Encode the issue object of ``rec`` (a pull request's issue view when it has one)."""
        url = f"{self.repo_api}/issues/{rec.number}"
        item: JSON = {
            "url": url, "repository_url": self.repo_api, "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": f"{self.html}/{'pull' if rec.pull else 'issues'}/{rec.number}",
            "id": rec.id, "node_id": _node_id("Issue", rec.id), "number": rec.number,
            "title": rec.title, "user": self.user(rec.user), "labels": labels,
            "state": rec.state, "locked": rec.locked, "assignee": None, "assignees": [],
            "milestone": None, "comments": len(rec.comments), "created_at": iso(rec.created_at),
            "updated_at": iso(rec.updated_at), "closed_at": iso(rec.closed_at),
            "author_association": "CONTRIBUTOR", "active_lock_reason": rec.lock_reason,
        }  # fmt: skip
        if rec.pull:
            item["draft"] = rec.pull.draft
            item["pull_request"] = self._pull_links(rec.number, rec.pull.merged_at)
        item |= {"body": rec.body, "closed_by": None,
                 "reactions": _NULL_REACTIONS | {"url": f"{url}/reactions"},
                 "timeline_url": f"{url}/timeline", "performed_via_github_app": None,
                 "state_reason": rec.state_reason}  # fmt: skip
        return _encode(item)

    def _pull_links(self, number: int, merged_at: int | None) -> JSON:
        html = f"{self.html}/pull/{number}"
        return {"url": f"{self.repo_api}/pulls/{number}", "html_url": html,
                "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
                "merged_at": iso(merged_at)}  # fmt: skip

    def comment(self, number: int, comment: Comment) -> JSON:
        """The issue-comment object of ``comment`` on item ``number``."""
        url = f"{self.repo_api}/issues/comments/{comment.id}"
        return {"url": url, "html_url": f"{self.html}/issues/{number}#issuecomment-{comment.id}",
                "issue_url": f"{self.repo_api}/issues/{number}", "id": comment.id,
                "node_id": _node_id("IssueComment", comment.id), "user": self.user(comment.user),
                "created_at": iso(comment.created_at), "updated_at": iso(comment.updated_at),
                "author_association": "CONTRIBUTOR", "body": comment.body,
                "reactions": _NULL_REACTIONS | {"url": f"{url}/reactions"},
                "performed_via_github_app": None}  # fmt: skip

    def repository(self, *, clone_url: str, open_issues: int, pushed_at: int) -> JSON:
        """The full repository object (``GET /repos/{owner}/{repo}``)."""
        owner, name = self.full_name.split("/", 1)
        stamp = iso(pushed_at)
        org = self.user_dict(owner, "Organization")
        return {
            "id": self.repo_id, "node_id": _node_id("Repository", self.repo_id), "name": name,
            "full_name": self.full_name, "private": False, "owner": org, "html_url": self.html,
            "description": "A synthetic repository served by the autoissue emulator",
            "fork": False, "url": self.repo_api, **self._repo_urls(),
            "created_at": "2021-12-01T00:00:00Z", "updated_at": stamp, "pushed_at": stamp,
            "git_url": f"git://localhost/{self.full_name}.git",
            "ssh_url": f"git@localhost:{self.full_name}.git", "clone_url": clone_url,
            "svn_url": self.html, **_REPO_COUNTS, "open_issues_count": open_issues,
            "open_issues": open_issues, **_REPO_FLAGS, "organization": org,
        }  # fmt: skip

    def _repo_urls(self) -> JSON:
        return {f"{key}_url": f"{self.repo_api}/{path}" for key, path in _REPO_URL_PATHS}

    def pull(self, rec: IssueRecord, labels: list[msgspec.Raw], repo: msgspec.Raw) -> JSON:
        """The full pull-request object of ``rec`` (which must have ``pull`` set)."""
        assert rec.pull is not None  # noqa: S101 - callers pass pull requests only
        url = f"{self.repo_api}/pulls/{rec.number}"
        html = f"{self.html}/pull/{rec.number}"
        merged = rec.pull.merged_at is not None
        return {
            "url": url, "id": rec.id, "node_id": _node_id("PullRequest", rec.id),
            "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "issue_url": f"{self.repo_api}/issues/{rec.number}", "number": rec.number,
            "state": rec.state, "locked": rec.locked, "title": rec.title,
            "user": self.user(rec.user), "body": rec.body, "created_at": iso(rec.created_at),
            "updated_at": iso(rec.updated_at), "closed_at": iso(rec.closed_at),
            "merged_at": iso(rec.pull.merged_at),
            "merge_commit_sha": rec.pull.head_sha if merged else None, **_PULL_EMPTY,
            "labels": labels, "draft": rec.pull.draft, **self._pull_urls(url, html, rec),
            **self._pull_refs(rec, repo), "active_lock_reason": rec.lock_reason,
            "merged": merged, "comments": len(rec.comments), **_PULL_COUNTS,
        }  # fmt: skip

    def _pull_urls(self, url: str, html: str, rec: IssueRecord) -> JSON:
        assert rec.pull is not None  # noqa: S101 - callers pass pull requests only
        issue = f"{self.repo_api}/issues/{rec.number}"
        links = {
            "self": url, "html": html, "issue": issue, "comments": f"{issue}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{self.repo_api}/pulls/comments{{/number}}",
            "commits": f"{url}/commits",
            "statuses": f"{self.repo_api}/statuses/{rec.pull.head_sha}",
        }  # fmt: skip
        urls = {f"{key}_url": href for key, href in links.items() if key not in ("self", "html")}
        del urls["issue_url"]
        return urls | {"_links": {key: {"href": href} for key, href in links.items()}}

    def _pull_refs(self, rec: IssueRecord, repo: msgspec.Raw) -> JSON:
        assert rec.pull is not None  # noqa: S101 - callers pass pull requests only
        owner = self.full_name.split("/", 1)[0]
        ref = {"head": (rec.pull.head, rec.pull.head_sha), "base": (rec.pull.base, "0" * 40)}
        return {side: {"label": f"{owner}:{name}", "ref": name, "sha": sha,
                       "user": self.user(owner), "repo": repo}
                for side, (name, sha) in ref.items()}  # fmt: skip


_REPO_COUNTS: JSON = {"homepage": None, "size": 1, "stargazers_count": 42, "watchers_count": 42,
                "language": "Python", "has_issues": True, "has_projects": True,
                "has_downloads": True, "has_wiki": True, "has_pages": False,
                "has_discussions": False, "forks_count": 3, "mirror_url": None,
                "archived": False, "disabled": False, "license": None, "allow_forking": True,
                "is_template": False, "web_commit_signoff_required": False, "topics": [],
                "visibility": "public", "forks": 3, "watchers": 42, "default_branch": "main",
                "network_count": 3, "subscribers_count": 5}  # fmt: skip
_PULL_EMPTY: JSON = {"assignee": None, "assignees": [], "requested_reviewers": [],
               "requested_teams": [], "milestone": None}  # fmt: skip
_PULL_COUNTS: JSON = {"author_association": "CONTRIBUTOR", "auto_merge": None, "mergeable": True,
                "rebaseable": True, "mergeable_state": "clean", "merged_by": None,
                "review_comments": 0, "maintainer_can_modify": False, "commits": 1,
                "additions": 1, "deletions": 0, "changed_files": 1}  # fmt: skip
_REPO_FLAGS: JSON = {"permissions": {"admin": True, "maintain": True, "push": True, "triage": True,
                               "pull": True},
               "temp_clone_token": "", "allow_squash_merge": True, "allow_merge_commit": True,
               "allow_rebase_merge": True, "allow_auto_merge": False,
               "delete_branch_on_merge": False, "allow_update_branch": False,
               "use_squash_pr_title_as_default": False}  # fmt: skip
_REPO_URL_PATHS = (
    ("forks", "forks"), ("keys", "keys{/key_id}"),
    ("collaborators", "collaborators{/collaborator}"), ("teams", "teams"), ("hooks", "hooks"),
    ("issue_events", "issues/events{/number}"), ("events", "events"),
    ("assignees", "assignees{/user}"), ("branches", "branches{/branch}"), ("tags", "tags"),
    ("blobs", "git/blobs{/sha}"), ("git_tags", "git/tags{/sha}"), ("git_refs", "git/refs{/sha}"),
    ("trees", "git/trees{/sha}"), ("statuses", "statuses/{sha}"), ("languages", "languages"),
    ("stargazers", "stargazers"), ("contributors", "contributors"),
    ("subscribers", "subscribers"), ("subscription", "subscription"),
    ("commits", "commits{/sha}"), ("git_commits", "git/commits{/sha}"),
    ("comments", "comments{/number}"), ("issue_comment", "issues/comments{/number}"),
    ("contents", "contents/{+path}"), ("compare", "compare/{base}...{head}"),
    ("merges", "merges"), ("archive", "{archive_format}{/ref}"), ("downloads", "downloads"),
    ("issues", "issues{/number}"), ("pulls", "pulls{/number}"),
    ("milestones", "milestones{/number}"),
    ("notifications", "notifications{?since,all,participating}"), ("labels", "labels{/name}"),
    ("releases", "releases{/id}"), ("deployments", "deployments"),
)  # fmt: skip
