"""The fixed parts of GitHub's JSON shapes: fields the emulator always answers the same.

Split from ``_payloads.py``, which builds the parts that vary. Key order follows the recorded
api.github.com responses in ``shared/fixtures/octokit``, so the tables are merged in place.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "JSON",
    "NULL_REACTIONS",
    "PRIVATE_PROFILE",
    "PULL_COUNTS",
    "PULL_EMPTY",
    "REPO_COUNTS",
    "REPO_FLAGS",
    "REPO_URL_PATHS",
    "USER_URL_PATHS",
]

JSON = dict[str, Any]

NULL_REACTIONS: JSON = {
    "total_count": 0,
    "+1": 0,
    "-1": 0,
    "laugh": 0,
    "hooray": 0,
    "confused": 0,
    "heart": 0,
    "rocket": 0,
    "eyes": 0,
}

#: What ``GET /user`` adds to the simple-user object (after ``name``): an empty account.
PRIVATE_PROFILE: JSON = {
    "company": None,
    "blog": "",
    "location": None,
    "email": None,
    "hireable": None,
    "bio": None,
    "twitter_username": None,
    "public_repos": 1,
    "public_gists": 0,
    "followers": 0,
    "following": 0,
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "private_gists": 0,
    "total_private_repos": 0,
    "owned_private_repos": 0,
    "disk_usage": 0,
    "collaborators": 0,
    "two_factor_authentication": False,
}

REPO_COUNTS: JSON = {
    "homepage": None,
    "size": 1,
    "stargazers_count": 42,
    "watchers_count": 42,
    "language": "Python",
    "has_issues": True,
    "has_projects": True,
    "has_downloads": True,
    "has_wiki": True,
    "has_pages": False,
    "has_discussions": False,
    "forks_count": 3,
    "mirror_url": None,
    "archived": False,
    "disabled": False,
    "license": None,
    "allow_forking": True,
    "is_template": False,
    "web_commit_signoff_required": False,
    "topics": [],
    "visibility": "public",
    "forks": 3,
    "watchers": 42,
    "default_branch": "main",
    "network_count": 3,
    "subscribers_count": 5,
}
PULL_EMPTY: JSON = {
    "assignee": None,
    "assignees": [],
    "requested_reviewers": [],
    "requested_teams": [],
    "milestone": None,
}
PULL_COUNTS: JSON = {
    "author_association": "CONTRIBUTOR",
    "auto_merge": None,
    "mergeable": True,
    "rebaseable": True,
    "mergeable_state": "clean",
    "merged_by": None,
    "review_comments": 0,
    "maintainer_can_modify": False,
    "commits": 1,
    "additions": 1,
    "deletions": 0,
    "changed_files": 1,
}
REPO_FLAGS: JSON = {
    "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
    "temp_clone_token": "",
    "allow_squash_merge": True,
    "allow_merge_commit": True,
    "allow_rebase_merge": True,
    "allow_auto_merge": False,
    "delete_branch_on_merge": False,
    "allow_update_branch": False,
    "use_squash_pr_title_as_default": False,
}

#: The ``{key}_url`` fields of a user, as (key, URL template under the user's API URL).
USER_URL_PATHS = (
    ("followers", "followers"),
    ("following", "following{/other_user}"),
    ("gists", "gists{/gist_id}"),
    ("starred", "starred{/owner}{/repo}"),
    ("subscriptions", "subscriptions"),
    ("organizations", "orgs"),
    ("repos", "repos"),
    ("events", "events{/privacy}"),
    ("received_events", "received_events"),
)

#: The ``{key}_url`` fields of a repository, as (key, URL template under its API URL).
REPO_URL_PATHS = (
    ("forks", "forks"),
    ("keys", "keys{/key_id}"),
    ("collaborators", "collaborators{/collaborator}"),
    ("teams", "teams"),
    ("hooks", "hooks"),
    ("issue_events", "issues/events{/number}"),
    ("events", "events"),
    ("assignees", "assignees{/user}"),
    ("branches", "branches{/branch}"),
    ("tags", "tags"),
    ("blobs", "git/blobs{/sha}"),
    ("git_tags", "git/tags{/sha}"),
    ("git_refs", "git/refs{/sha}"),
    ("trees", "git/trees{/sha}"),
    ("statuses", "statuses/{sha}"),
    ("languages", "languages"),
    ("stargazers", "stargazers"),
    ("contributors", "contributors"),
    ("subscribers", "subscribers"),
    ("subscription", "subscription"),
    ("commits", "commits{/sha}"),
    ("git_commits", "git/commits{/sha}"),
    ("comments", "comments{/number}"),
    ("issue_comment", "issues/comments{/number}"),
    ("contents", "contents/{+path}"),
    ("compare", "compare/{base}...{head}"),
    ("merges", "merges"),
    ("archive", "{archive_format}{/ref}"),
    ("downloads", "downloads"),
    ("issues", "issues{/number}"),
    ("pulls", "pulls{/number}"),
    ("milestones", "milestones{/number}"),
    ("notifications", "notifications{?since,all,participating}"),
    ("labels", "labels{/name}"),
    ("releases", "releases{/id}"),
    ("deployments", "deployments"),
)
