"""The client against servers that speak GitHub's API without being api.github.com.

Proxies, GitHub Enterprise Server versions and compatible forges leave endpoints out, send
``null`` where GitHub sends a value, link their pages in circles or state absurd limits. A
run that can go on must go on: each deviation becomes a safe default or a logged warning,
and where nothing is safe, one clear error that comes at once rather than after hours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from autoissue import FakeClock, NotFoundError, RateLimitedError
from autoissue.github import GitHubClient, Mode
from autoissue.model import Issue, User
from autoissue.model._issue import Label, Reactions
from tests.github._hostile import WAIT_S, HostileServer
from tests.github._scripted import Scripted
from tests.github.test_hostile_server import LABELS, NOW, REPO, client_for, issue, limits

ISSUES = "/repos/o/r/issues"


def warnings_from(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    messages = [record.getMessage() for record in caplog.records]
    return [message for message in messages if text in message]


async def listed(client: GitHubClient) -> list[list[int]]:
    """Every page of the issue list, as issue numbers (failing fast on a runaway listing)."""
    pages: list[list[int]] = []
    async with asyncio.timeout(WAIT_S):
        async for page in client.iter_issue_pages(REPO):
            pages.append([item.number for item in page])
            assert len(pages) < 10, "the client followed a looping Link header"
    return pages


# --- no GET /rate_limit ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 405, 410, 501])
async def test_a_server_without_rate_limit_is_warmed_up_with_its_limits_unknown(
    hostile: HostileServer, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    hostile.add("GET", "/rate_limit", Scripted(status, {"message": "Not Found"}))
    hostile.add("GET", "/repos/o/r", Scripted(200, {"id": 1, "full_name": "o/r"}))
    async with client_for(hostile) as client:
        with caplog.at_level(logging.WARNING):
            await client.warm_up()
            await client.warm_up()
        repository = await client.get_repository(REPO)
        stats = client.governor.statistics()
    assert repository.full_name == "o/r"
    # Unknown is not unlimited: the governor keeps github.com's budgets and its usual cap.
    assert (stats.mode, stats.max_concurrent) == (Mode.UNKNOWN, 40)
    [warning] = warnings_from(caplog, "GET /rate_limit")
    assert f"answers {status}" in warning
    assert "limits unknown" in warning


async def test_after_a_missing_rate_limit_a_missing_repository_is_still_not_found(
    hostile: HostileServer,
) -> None:
    # Nothing is scripted: the server answers 404 Not Found to every path.
    async with client_for(hostile) as client:
        await client.warm_up()
        with pytest.raises(NotFoundError) as caught:
            await client.get_repository(REPO)
    assert caught.value.url == f"{hostile.base_url}/repos/o/r"
    assert hostile.count("GET", "/repos/o/r") == 1


async def test_rate_limiting_not_enabled_still_lifts_the_budgets(hostile: HostileServer) -> None:
    answer = Scripted(404, {"message": "Rate limiting is not enabled."})
    hostile.add("GET", "/rate_limit", answer)
    async with client_for(hostile) as client:
        await client.warm_up()
        assert client.governor.mode is Mode.UNLIMITED


# --- null and absent fields in issue objects -----------------------------------------------------

OPTIONAL = (
    "title",
    "state",
    "updated_at",
    "created_at",
    "body",
    "labels",
    "locked",
    "user",
    "comments",
    "reactions",
    "pull_request",
    "assignees",
    "milestone",
    "state_reason",
)


@pytest.mark.parametrize("missing", ["null", "absent"])
async def test_an_issue_with_null_or_absent_fields_is_listed_with_defaults(
    hostile: HostileServer, missing: str
) -> None:
    odd: dict[str, object] = {"number": 7}
    if missing == "null":
        odd.update(dict.fromkeys(OPTIONAL))
    hostile.add("GET", ISSUES, Scripted(200, [issue(1), odd, issue(2)]))
    async with client_for(hostile) as client:
        [page] = [page async for page in client.iter_issue_pages(REPO)]
    assert [item.number for item in page] == [1, 7, 2]
    defaulted = page[1]
    assert defaulted == Issue(number=7)
    assert (defaulted.title, defaulted.state, defaulted.updated_at) == ("", "", "")
    assert (defaulted.body, defaulted.labels, defaulted.author) == (None, (), "")
    assert (defaulted.comments, defaulted.is_pull_request) == (0, False)


async def test_nested_nulls_keep_what_is_usable_of_an_issue(hostile: HostileServer) -> None:
    odd = {
        **issue(3),
        "user": {"login": "ann", "id": None, "type": None},
        "labels": [None, {"name": None}, {"color": "f00"}, {"name": "bug", "color": None}],
        "assignees": [None, {"login": "bo"}, {"login": None}],
        "milestone": {"title": None, "number": 2},
        "reactions": {"total_count": None, "+1": 2},
        "pull_request": {"url": None},  # still a pull request: it must not be taken for an issue
        "comments": "4",
        "locked": None,
    }
    hostile.add("GET", ISSUES, Scripted(200, [odd]))
    async with client_for(hostile) as client:
        [[item]] = [page async for page in client.iter_issue_pages(REPO)]
    assert (item.number, item.title, item.state) == (3, "issue 3", "open")
    assert item.user == User("ann")
    assert item.labels == (Label("bug"),)
    assert item.assignees == (User("bo"),)
    assert item.milestone is None
    assert item.reactions == Reactions(plus_one=2)
    assert item.is_pull_request
    assert (item.comments, item.locked) == (4, False)


async def test_an_item_without_a_usable_number_is_skipped_with_a_logged_reason(
    hostile: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    second = f"{hostile.base_url}/repositories/1/issues?page=2"
    odd: list[object] = [
        {"title": "no number at all", "html_url": "https://forge/o/r/issues/x"},
        {**issue(0), "number": None},
        {**issue(0), "number": "twelve"},
        "not an issue",
        None,
    ]
    hostile.add("GET", ISSUES, Scripted(200, [issue(1), *odd, issue(2)], next_only(second)))
    hostile.add("GET", "/repositories/1/issues?page=2", Scripted(200, [issue(3)]))
    async with client_for(hostile) as client:
        with caplog.at_level(logging.WARNING):
            pages = await listed(client)
    assert pages == [[1, 2], [3]]  # the listing went on past the odd items
    skipped = warnings_from(caplog, "skipping item")
    assert len(skipped) == len(odd)
    assert "its number is missing (https://forge/o/r/issues/x)" in skipped[0]
    assert "its number is null (issue 0)" in skipped[1]
    assert 'its number is "twelve"' in skipped[2]
    assert 'it is "not an issue", not an object' in skipped[3]
    assert "it is null, not an object" in skipped[4]


async def test_a_page_of_nothing_but_odd_items_does_not_end_the_listing(
    hostile: HostileServer,
) -> None:
    template = f"{hostile.base_url}/repositories/1/issues?page="
    first_links = {"link": f'<{template}2>; rel="next", <{template}3>; rel="last"'}
    hostile.add("GET", ISSUES, Scripted(200, [issue(1)], first_links))
    second = Scripted(200, [{"title": "no number"}], next_only(f"{template}3"))
    hostile.add("GET", "/repositories/1/issues?page=2", second)
    hostile.add("GET", "/repositories/1/issues?page=3", Scripted(200, [issue(3)]))
    async with client_for(hostile) as client:
        pages = await listed(client)
    assert [number for page in pages for number in page] == [1, 3]


# --- pagination that loops -----------------------------------------------------------------------


def next_only(url: str) -> dict[str, str]:
    return {"link": f'<{url}>; rel="next"'}


async def test_a_window_whose_last_page_links_back_stops_with_what_was_listed(
    hostile: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Pages 2 and 3 are read at once (the last link names them); page 3 then links to page 2.
    template = f"{hostile.base_url}/repositories/1/issues?page="
    first_links = {"link": f'<{template}2>; rel="next", <{template}3>; rel="last"'}
    hostile.add("GET", ISSUES, Scripted(200, [issue(1)], first_links))
    hostile.add(
        "GET", "/repositories/1/issues?page=2", Scripted(200, [issue(2)], next_only(f"{template}3"))
    )
    hostile.add(
        "GET", "/repositories/1/issues?page=3", Scripted(200, [issue(3)], next_only(f"{template}2"))
    )
    async with client_for(hostile) as client:
        with caplog.at_level(logging.WARNING):
            pages = await listed(client)
    assert pages == [[1], [2], [3]]
    assert len(hostile.arrivals) == 3  # page 2 was not asked for again
    [warning] = warnings_from(caplog, "pagination loops back")
    assert f"{template}2" in warning


# --- a reset absurdly far away -------------------------------------------------------------------

A_YEAR = 365 * 86_400
RATE_LIMITED = {"message": "API rate limit exceeded for user ID 1."}
NOT_WAITING = (
    "the server says the rate limit resets at 2028-01-15T08:00:00Z, "
    "more than an hour away; not waiting"
)


REFUSED: dict[str, tuple[str, Callable[[GitHubClient], Awaitable[object]]]] = {
    "GET": ("/user", lambda client: client.get_json("/user")),
    "POST": (LABELS, lambda client: client.add_labels(REPO, 1, ("x",))),
}


@pytest.mark.parametrize("status", [403, 429])
@pytest.mark.parametrize("method", sorted(REFUSED))
async def test_a_refusal_until_next_year_is_a_clear_error_at_once(
    hostile: HostileServer, status: int, method: str
) -> None:
    path, send = REFUSED[method]
    refusal = Scripted(status, RATE_LIMITED, limits(5000, 0, NOW + A_YEAR))
    hostile.add(method, path, refusal, Scripted(200, [{"name": "x"}]))
    clock = FakeClock(NOW)
    async with client_for(hostile, clock) as client, asyncio.timeout(WAIT_S):
        with pytest.raises(RateLimitedError) as caught:
            await send(client)
        paused_until = client.governor.statistics().paused_until
    assert caught.value.message == NOT_WAITING
    assert (caught.value.status, caught.value.method) == (status, method)
    assert caught.value.retry_after == A_YEAR
    assert hostile.count(method, path) == 1  # not sent again
    assert max(clock.slept, default=0.0) <= 1.0
    assert paused_until <= NOW


async def test_a_budget_spent_until_next_year_does_not_hold_the_next_request_an_hour(
    hostile: HostileServer,
) -> None:
    spent_for_a_year = limits(5000, 0, NOW + A_YEAR)
    hostile.add(
        "GET",
        "/user",
        Scripted(200, {"login": "me"}, spent_for_a_year),
        Scripted(403, RATE_LIMITED, spent_for_a_year),
    )
    clock = FakeClock(NOW)
    async with client_for(hostile, clock) as client, asyncio.timeout(WAIT_S):
        assert (await client.get_authenticated_user()).login == "me"
        with pytest.raises(RateLimitedError, match="more than an hour away; not waiting"):
            await client.get_authenticated_user()
    assert max(clock.slept, default=0.0) <= 1.0
    assert hostile.count("GET", "/user") == 2


async def test_a_refusal_for_just_under_an_hour_is_waited_out(hostile: HostileServer) -> None:
    refusal = Scripted(403, RATE_LIMITED, limits(5000, 0, NOW + 3599))
    hostile.add("GET", "/user", refusal, Scripted(200, {"login": "me"}))
    clock = FakeClock(NOW)
    async with client_for(hostile, clock) as client, asyncio.timeout(WAIT_S):
        assert (await client.get_authenticated_user()).login == "me"
    assert max(clock.slept) == 3600.0
