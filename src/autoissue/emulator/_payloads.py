"""GitHub's JSON shapes (issue, user, label, comment, pull, repository), built from records.

Shapes follow the recorded api.github.com responses in ``shared/fixtures/octokit``; every API URL
is built from the emulator's own base URL. Users and labels are encoded once and embedded as
``msgspec.Raw`` so an issue costs a few small dicts and one encode. The fields that never vary are
in ``_payload_tables.py``; key order matters, so each shape is assembled from its parts in order.
"""

from __future__ import annotations

import base64
import time
import zlib
from collections.abc import Iterable

import msgspec

from autoissue.emulator._models import Comment, IssueRecord
from autoissue.emulator._payload_tables import (
    JSON,
    NULL_REACTIONS,
    PRIVATE_PROFILE,
    PULL_COUNTS,
    PULL_EMPTY,
    REPO_COUNTS,
    REPO_FLAGS,
    REPO_URL_PATHS,
    USER_URL_PATHS,
)

__all__ = ["Payloads", "iso", "token_login", "user_id"]

_encode = msgspec.json.encode
#: What the API's repository object has beyond the one webhook payloads carry.
_API_ONLY_REPO_KEYS = frozenset(
    {"permissions", "temp_clone_token", "organization", "network_count", "subscribers_count"}
)


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


def _templated_urls(base: str, paths: Iterable[tuple[str, str]]) -> JSON:
    """The ``{key}_url`` fields of an object whose API URL is ``base``."""
    return {f"{key}_url": f"{base}/{path}" for key, path in paths}


def _reactions(url: str) -> JSON:
    """The (empty) reactions summary of the issue or comment at ``url``."""
    return NULL_REACTIONS | {"url": f"{url}/reactions"}


def _web_links(html: str) -> JSON:
    """A pull request's page and its diff and patch views."""
    return {"html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch"}


def _times(rec: IssueRecord) -> JSON:
    """When ``rec`` was created, last updated and closed."""
    return {
        "created_at": iso(rec.created_at),
        "updated_at": iso(rec.updated_at),
        "closed_at": iso(rec.closed_at),
    }


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
        return {
            "login": login,
            "id": uid,
            "node_id": _node_id(kind, uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.base}/{login}",
            **_templated_urls(url, USER_URL_PATHS),
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def private_user(self, login: str) -> JSON:
        """The authenticated user's object (``GET /user``)."""
        return self.user_dict(login) | {"name": login, **PRIVATE_PROFILE}

    def label(self, label_id: int, name: str, info: tuple[str, str | None, bool]) -> msgspec.Raw:
        """The encoded label object (callers cache it: labels rarely change)."""
        color, description, default = info
        label = {
            "id": label_id,
            "node_id": _node_id("Label", label_id),
            "url": f"{self.repo_api}/labels/{name.replace(' ', '%20')}",
            "name": name,
            "color": color,
            "default": default,
            "description": description,
            "archived_at": None,
            "archived_by": None,
        }
        return msgspec.Raw(_encode(label))

    def issue(self, rec: IssueRecord, labels: list[msgspec.Raw]) -> bytes:
        """Encode the issue object of ``rec`` (a pull request's issue view when it has one)."""
        url = f"{self.repo_api}/issues/{rec.number}"
        item = self._issue_urls(url, rec) | self._issue_fields(rec, labels)
        if rec.pull:
            item["draft"] = rec.pull.draft
            item["pull_request"] = self._pull_links(rec.number, rec.pull.merged_at)
        item |= {
            "body": rec.body,
            "closed_by": None,
            "reactions": _reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": rec.state_reason,
        }
        return _encode(item)

    def _issue_urls(self, url: str, rec: IssueRecord) -> JSON:
        """Where the issue at API URL ``url`` and its parts are, in the API and on the web."""
        page = "pull" if rec.pull else "issues"
        return {
            "url": url,
            "repository_url": self.repo_api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.html}/{page}/{rec.number}",
        }

    def _issue_fields(self, rec: IssueRecord, labels: list[msgspec.Raw]) -> JSON:
        """The issue's identity, author, labels, state and times."""
        return {
            "id": rec.id,
            "node_id": _node_id("Issue", rec.id),
            "number": rec.number,
            "title": rec.title,
            "user": self.user(rec.user),
            "labels": labels,
            "state": rec.state,
            "locked": rec.locked,
            "assignee": self.user(rec.assignees[0]) if rec.assignees else None,
            "assignees": [self.user(login) for login in rec.assignees],
            "milestone": None,
            "comments": len(rec.comments),
            **_times(rec),
            "author_association": "CONTRIBUTOR",
            "active_lock_reason": rec.lock_reason,
        }

    def _pull_links(self, number: int, merged_at: int | None) -> JSON:
        return {
            "url": f"{self.repo_api}/pulls/{number}",
            **_web_links(f"{self.html}/pull/{number}"),
            "merged_at": iso(merged_at),
        }

    def comment(self, number: int, comment: Comment) -> JSON:
        """The issue-comment object of ``comment`` on item ``number``."""
        url = f"{self.repo_api}/issues/comments/{comment.id}"
        return {
            "url": url,
            "html_url": f"{self.html}/issues/{number}#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_api}/issues/{number}",
            "id": comment.id,
            "node_id": _node_id("IssueComment", comment.id),
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": "CONTRIBUTOR",
            "body": comment.body,
            "reactions": _reactions(url),
            "performed_via_github_app": None,
        }

    def repository(self, *, clone_url: str, open_issues: int, pushed_at: int) -> JSON:
        """The full repository object (``GET /repos/{owner}/{repo}``)."""
        owner, name = self.full_name.split("/", 1)
        stamp = iso(pushed_at)
        org = self.user_dict(owner, "Organization")
        return {
            **self._repo_identity(name, org),
            **_templated_urls(self.repo_api, REPO_URL_PATHS),
            "created_at": "2021-12-01T00:00:00Z",
            "updated_at": stamp,
            "pushed_at": stamp,
            **self._clone_urls(clone_url),
            **REPO_COUNTS,
            "open_issues_count": open_issues,
            "open_issues": open_issues,
            **REPO_FLAGS,
            "organization": org,
        }

    @staticmethod
    def hook_repository(repo: JSON) -> JSON:
        """The repository object of a webhook payload, from the API's ``repo``."""
        return {key: value for key, value in repo.items() if key not in _API_ONLY_REPO_KEYS}

    def _repo_identity(self, name: str, owner: JSON) -> JSON:
        """Which repository this is, whose, and where its API and web pages are."""
        return {
            "id": self.repo_id,
            "node_id": _node_id("Repository", self.repo_id),
            "name": name,
            "full_name": self.full_name,
            "private": False,
            "owner": owner,
            "html_url": self.html,
            "description": "A synthetic repository served by the autoissue emulator",
            "fork": False,
            "url": self.repo_api,
        }

    def _clone_urls(self, clone_url: str) -> JSON:
        """The repository's git remotes; only ``clone_url`` (HTTP) is served."""
        return {
            "git_url": f"git://localhost/{self.full_name}.git",
            "ssh_url": f"git@localhost:{self.full_name}.git",
            "clone_url": clone_url,
            "svn_url": self.html,
        }

    def pull(self, rec: IssueRecord, labels: list[msgspec.Raw], repo: msgspec.Raw) -> JSON:
        """The full pull-request object of ``rec`` (which must have ``pull`` set)."""
        assert rec.pull is not None  # noqa: S101 - callers pass pull requests only
        url = f"{self.repo_api}/pulls/{rec.number}"
        html = f"{self.html}/pull/{rec.number}"
        merged = rec.pull.merged_at is not None
        return {
            **self._pull_identity(url, html, rec),
            **_times(rec),
            "merged_at": iso(rec.pull.merged_at),
            "merge_commit_sha": rec.pull.head_sha if merged else None,
            **PULL_EMPTY,
            "labels": labels,
            "draft": rec.pull.draft,
            **self._pull_urls(url, html, rec),
            **self._pull_refs(rec, repo),
            "active_lock_reason": rec.lock_reason,
            "merged": merged,
            "comments": len(rec.comments),
            **PULL_COUNTS,
        }

    def _pull_identity(self, url: str, html: str, rec: IssueRecord) -> JSON:
        """Which pull request this is, where it is, its state, author and text."""
        return {
            "url": url,
            "id": rec.id,
            "node_id": _node_id("PullRequest", rec.id),
            **_web_links(html),
            "issue_url": f"{self.repo_api}/issues/{rec.number}",
            "number": rec.number,
            "state": rec.state,
            "locked": rec.locked,
            "title": rec.title,
            "user": self.user(rec.user),
            "body": rec.body,
        }

    def _pull_urls(self, url: str, html: str, rec: IssueRecord) -> JSON:
        assert rec.pull is not None  # noqa: S101 - callers pass pull requests only
        issue = f"{self.repo_api}/issues/{rec.number}"
        links = {
            "self": url,
            "html": html,
            "issue": issue,
            "comments": f"{issue}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{self.repo_api}/pulls/comments{{/number}}",
            "commits": f"{url}/commits",
            "statuses": f"{self.repo_api}/statuses/{rec.pull.head_sha}",
        }
        urls = {f"{key}_url": href for key, href in links.items() if key not in ("self", "html")}
        del urls["issue_url"]
        return urls | {"_links": {key: {"href": href} for key, href in links.items()}}

    def _pull_refs(self, rec: IssueRecord, repo: msgspec.Raw) -> JSON:
        assert rec.pull is not None  # noqa: S101 - callers pass pull requests only
        owner = self.full_name.split("/", 1)[0]
        ref = {"head": (rec.pull.head, rec.pull.head_sha), "base": (rec.pull.base, "0" * 40)}
        return {
            side: {
                "label": f"{owner}:{name}",
                "ref": name,
                "sha": sha,
                "user": self.user(owner),
                "repo": repo,
            }
            for side, (name, sha) in ref.items()
        }
