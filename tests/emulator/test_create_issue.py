"""``POST /repos/{owner}/{repo}/issues``: creation as GitHub answers it, counted and limited."""

from __future__ import annotations

from typing import Any

import pytest

from autoissue.emulator import Emulator

from .conftest import Api, Start

REPO = "/repos/acme/widgets"
ROUTE = "POST /repos/{owner}/{repo}/issues"


async def test_a_created_issue_is_served_like_any_other(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues"
    body = {
        "title": "Crash on start",
        "body": "Steps: run it.",
        "labels": ["bug", "Needs-Triage", "BUG", {"name": "p1"}],
        "assignees": ["zoe-r", "kenji-t", "zoe-r"],
    }
    status, headers, issue = await api("POST", url, json=body)
    assert status == 201
    assert headers["Location"] == issue["url"] == f"{url}/121"
    assert (issue["number"], issue["id"], issue["state"]) == (121, 1_000_121, "open")
    assert (issue["title"], issue["body"]) == ("Crash on start", "Steps: run it.")
    assert [label["name"] for label in issue["labels"]] == ["bug", "Needs-Triage", "p1"]
    assert [user["login"] for user in issue["assignees"]] == ["zoe-r", "kenji-t"]
    assert issue["assignee"]["login"] == "zoe-r"
    _, _, me = await api("GET", f"{emulator.base_url}/user")
    assert issue["user"]["login"] == me["login"]
    assert (await api("GET", issue["url"]))[2] == issue
    _, _, newest = await api("GET", f"{url}?per_page=1")
    assert newest == [issue]
    _, _, repo = await api("GET", f"{emulator.base_url}{REPO}")
    opened = sum(1 for item in emulator.state()["repos"][0]["issues"] if item["state"] == "open")
    assert repo["open_issues_count"] == opened
    assert emulator.stats()["requests"][ROUTE] == {"201": 1}


async def test_titles_may_be_numbers_and_the_rest_is_optional(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues"
    status, _, issue = await api("POST", url, json={"title": 42, "assignee": "eve-sec"})
    assert status == 201
    assert (issue["title"], issue["body"], issue["labels"]) == ("42", None, [])
    assert [user["login"] for user in issue["assignees"]] == ["eve-sec"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "title", "missing_field"),
        ({"title": ""}, "title", "invalid"),
        ({"title": "   "}, "title", "invalid"),
        ({"title": True}, "title", "invalid"),
        ({"title": "t", "body": 5}, "body", "invalid"),
        ({"title": "t", "labels": "bug"}, "labels", "invalid"),
        ({"title": "t", "labels": [""]}, "name", "invalid"),
        ({"title": "t", "assignees": "zoe-r"}, "assignees", "invalid"),
        ({"title": "t", "assignees": [7]}, "assignees", "invalid"),
        ({"title": "t", "assignee": 7}, "assignee", "invalid"),
    ],
)
async def test_invalid_issues_are_refused_with_422(
    emulator: Emulator, api: Api, body: dict[str, Any], field: str, code: str
) -> None:
    status, _, answer = await api("POST", f"{emulator.base_url}{REPO}/issues", json=body)
    assert status == 422
    assert answer["message"] == "Validation Failed"
    assert (answer["errors"][0]["field"], answer["errors"][0]["code"]) == (field, code)
    assert len(emulator.state()["repos"][0]["issues"]) == 120  # nothing was created


async def test_refusals_before_validation(emulator: Emulator, api: Api, anon: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues"
    status, _, body = await api("POST", url, data=b"[1, 2]")
    assert (status, body["message"]) == (400, "Problems parsing JSON")
    status, _, body = await anon("POST", url, json={"title": "t"})
    assert (status, body["message"]) == (401, "Requires authentication")
    status, _, _ = await api("POST", f"{emulator.base_url}/repos/acme/other/issues", json={})
    assert status == 404


async def test_an_issue_opened_twice_is_a_duplicate_write(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues"
    seeded = emulator.state()["repos"][0]["issues"][0]
    await api("POST", url, json={"title": seeded["title"], "body": seeded["body"]})
    assert emulator.stats()["duplicate_writes"] == 0  # a seeded issue's text is no repeat
    await api("POST", url, json={"title": "Retry me", "body": "once"})
    await api("POST", url, json={"title": "Retry me", "body": "twice"})
    assert emulator.stats()["duplicate_writes"] == 0
    await api("POST", url, json={"title": "Retry me", "body": "once"})  # a blind retry
    assert emulator.stats()["duplicate_writes"] == 1
    await api("POST", f"{emulator.base_url}/_emulator/reset")
    await api("POST", url, json={"title": "Retry me", "body": "once"})
    assert emulator.stats()["duplicate_writes"] == 0


async def test_creating_issues_spends_the_content_creation_budget(start: Start, api: Api) -> None:
    emulator = await start(limits="github", issues=3)
    url = f"{emulator.base_url}{REPO}/issues"
    for number in range(80):
        status, _, _ = await api("POST", url, json={"title": f"Issue {number}"})
        assert status == 201, number
    status, headers, body = await api("POST", url, json={"title": "one too many"})
    assert status == 403
    assert "secondary rate limit" in body["message"]
    assert "Retry-After" in headers
    stats = emulator.stats()
    assert stats["rate_limit_violations_by_kind"] == {"content_minute": 1}
    assert stats["requests"][ROUTE] == {"201": 80, "403": 1}
