"""The client against a server that misbehaves: bad bodies, lying headers, stalls, drops.

Every answer here is one GitHub (or a proxy in front of it) could plausibly send. The
client must turn each into a clear autoissue error or a safe default, and never hang:
waits run on a fake clock, and a real-time guard turns a hang into a failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from autoissue import (
    CircuitOpenError,
    FakeClock,
    GitHubUnreachableError,
    MalformedResponseError,
    ServerError,
    UnknownOutcomeError,
)
from autoissue.github import GitHubClient
from autoissue.github._breaker import CircuitState
from autoissue.github._retry import RetryPolicy
from autoissue.github._transport import PoolSettings
from tests.github._hostile import WAIT_S, HostileServer, ManualClock, Stall, Stream
from tests.github._scripted import Scripted

REPO = "o/r"
COMMENTS = "/repos/o/r/issues/1/comments"
LABELS = "/repos/o/r/issues/1/labels"
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Unicorn! Something went wrong on the GitHub side.</h1></body></html>"
)


def client_for(
    server: HostileServer, clock: FakeClock | None = None, **kwargs: Any
) -> GitHubClient:
    return GitHubClient(
        base_url=server.base_url,
        token="t0ken",
        clock=clock or FakeClock(),
        rng=random.Random(0),
        **kwargs,
    )


def issue(number: int, body: str = "") -> dict[str, object]:
    return {
        "number": number,
        "title": f"issue {number}",
        "state": "open",
        "updated_at": "2026-01-01T00:00:00Z",
        "body": body,
    }


async def comment(client: GitHubClient, text: str = "hello") -> object:
    response = await client.request("POST", COMMENTS, json={"body": text})
    return json.loads(response.body)


async def first_page(client: GitHubClient) -> object:
    async for page in client.iter_issue_pages(REPO):
        return page
    return None


# --- bodies that are not what GitHub sends -----------------------------------------------


READERS: dict[str, tuple[str, str, Callable[[GitHubClient], Awaitable[object]]]] = {
    "get_json": ("GET", "/user", lambda c: c.get_json("/user")),
    "user": ("GET", "/user", lambda c: c.get_authenticated_user()),
    "repository": ("GET", "/repos/o/r", lambda c: c.get_repository(REPO)),
    "issue_pages": ("GET", "/repos/o/r/issues", first_page),
    "add_labels": ("POST", LABELS, lambda c: c.add_labels(REPO, 1, ("bug",))),
}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize(
    "body",
    ['{"login": "me", "id": ', "<html>Sign in to the Wi-Fi</html>", ""],
    ids=["truncated", "html", "empty"],
)
async def test_an_undecodable_200_is_a_malformed_response_error(
    hostile: HostileServer, reader: str, body: str
) -> None:
    method, path, call = READERS[reader]
    hostile.add(method, path, Scripted(200, body))
    async with client_for(hostile) as client:
        with pytest.raises(MalformedResponseError, match="unexpected answer from http") as caught:
            await call(client)
    assert path in str(caught.value)
    assert hostile.count(method, path) == 1  # a bad body is not worth asking again


@pytest.mark.parametrize(
    ("reader", "body"),
    [("repository", []), ("issue_pages", {"message": "not a list"}), ("add_labels", [{}])],
)
async def test_json_of_the_wrong_shape_is_a_malformed_response_error(
    hostile: HostileServer, reader: str, body: object
) -> None:
    method, path, call = READERS[reader]
    hostile.add(method, path, Scripted(200, body))
    async with client_for(hostile) as client:
        with pytest.raises(MalformedResponseError, match="unexpected answer"):
            await call(client)


@pytest.mark.parametrize("status", [500, 502])
async def test_an_html_error_page_becomes_a_server_error_that_keeps_its_text(
    hostile: HostileServer, status: int
) -> None:
    hostile.add("GET", "/user", Scripted(status, HTML_502, {"content-type": "text/html"}))
    async with client_for(hostile, retry=RetryPolicy(attempts=3)) as client:
        with pytest.raises(ServerError) as caught:
            await client.get_authenticated_user()
    assert caught.value.status == status
    assert "Unicorn! Something went wrong" in str(caught.value)
    assert hostile.count("GET", "/user") == 3


async def test_an_html_error_page_on_a_comment_is_an_unknown_outcome_sent_once(
    hostile: HostileServer,
) -> None:
    hostile.add("POST", COMMENTS, Scripted(502, HTML_502), Scripted(201, {"id": 1}))
    async with client_for(hostile) as client:
        with pytest.raises(UnknownOutcomeError, match="answered 502") as caught:
            await comment(client)
    assert caught.value.method == "POST"
    assert hostile.count("POST", COMMENTS) == 1


# --- rate-limit headers that lie ----------------------------------------------------------

NOW = 1_800_000_000  # FakeClock's default start
HOUR = 3600.0


def limits(limit: object, remaining: object, reset: object) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-used": "0",
        "x-ratelimit-resource": "core",
    }


@pytest.mark.parametrize(
    ("headers", "longest_wait"),
    [
        pytest.param({}, 0.0, id="missing"),
        pytest.param(limits("lots", "many", "soon"), 0.0, id="non-numeric"),
        pytest.param(limits(5000, 4000, "1.8e9"), 0.0, id="float-reset"),
        pytest.param(limits(5000, 4000, 32_503_680_000), 0.0, id="reset-in-year-3000"),
        pytest.param(limits(10**15, 10**15, NOW + 60), 0.0, id="absurd-limit"),
        pytest.param(limits(5000, 0, NOW - 86_400), 1.0, id="spent-reset-in-the-past"),
        pytest.param(limits(5000, -5, NOW + 60), 61.0, id="negative-remaining"),
        # GitHub's window is an hour: a reset past it is no reading, so nothing to wait for.
        pytest.param(limits(5000, 0, 32_503_680_000), 0.0, id="spent-until-year-3000"),
        # Within a few minutes past the hour it is clock drift: the wait is capped at the hour.
        pytest.param(limits(5000, 0, NOW + HOUR + 240), HOUR + 1, id="spent-a-drift-past-an-hour"),
        # A limit below 1 is no reading: the governor keeps its assumed budget.
        pytest.param(limits(0, 0, NOW + 60), 0.0, id="zero-limit"),
        pytest.param(limits(-1, -1, NOW + 60), 0.0, id="negative-limit"),
    ],
)
async def test_lying_rate_limit_headers_never_make_the_governor_wait_long(
    hostile: HostileServer, headers: dict[str, str], longest_wait: float
) -> None:
    hostile.add("GET", "/user", Scripted(200, {"login": "me"}, headers))
    clock = FakeClock(NOW)
    async with client_for(hostile, clock) as client:
        # A hang on the fake clock is a busy loop: a real-time guard ends it (a pass takes ms).
        async with asyncio.timeout(1.0):
            users = [await client.get_authenticated_user() for _ in range(4)]
    assert [user.login for user in users] == ["me"] * 4
    assert hostile.count("GET", "/user") == 4
    assert max(clock.slept, default=0.0) <= longest_wait
    assert sum(clock.slept) <= 4 * longest_wait


# --- pagination that never ends -----------------------------------------------------------


@pytest.mark.parametrize("loop", ["A-B-A", "A-A"])
async def test_a_link_header_that_loops_ends_the_listing_with_a_warning(
    hostile: HostileServer, loop: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = (
        f"{hostile.base_url}/repos/o/r/issues?state=open&per_page=100&sort=created&direction=asc"
    )
    second = f"{hostile.base_url}/repositories/1/issues?page=2"
    if loop == "A-B-A":
        hostile.add("GET", "/repos/o/r/issues", Scripted(200, [issue(1)], link(second)))
        hostile.add("GET", "/repositories/1/issues", Scripted(200, [issue(2)], link(first)))
    else:
        hostile.add("GET", "/repos/o/r/issues", Scripted(200, [issue(1)], link(first)))
    pages: list[list[int]] = []
    async with client_for(hostile) as client, asyncio.timeout(WAIT_S):
        with caplog.at_level(logging.WARNING):
            await collect_pages(client, pages)
    # Each URL is fetched once, and what was listed before the loop is kept.
    assert pages == ([[1], [2]] if loop == "A-B-A" else [[1]])
    assert len(hostile.arrivals) == len(pages)
    assert f"pagination loops back to {first}, a page already read" in caplog.text


async def collect_pages(client: GitHubClient, pages: list[list[int]]) -> None:
    async for page in client.iter_issue_pages(REPO):
        pages.append([item.number for item in page])
        assert len(pages) < 10, "the client followed a looping Link header"


def link(url: str) -> dict[str, str]:
    return {"link": f'<{url}>; rel="next", <{url}>; rel="last"'}


# --- sizes ---------------------------------------------------------------------------------


async def test_a_one_megabyte_answer_is_read_whole(hostile: HostileServer) -> None:
    items = [issue(n, body=f"{n:05d}" * 2_100) for n in range(1, 101)]
    hostile.add("GET", "/repos/o/r/issues", Scripted(200, items, {"etag": '"big"'}))
    async with client_for(hostile) as client:
        pages = [page async for page in client.iter_issue_pages(REPO)]
        again = await client.get_json(
            "/repos/o/r/issues", params={"state": "open", "per_page": "100"}
        )
    assert sum(len(item.body or "") for item in pages[0]) >= 2**20
    assert [item.number for item in pages[0]] == list(range(1, 101))
    assert pages[0][41].body == "00042" * 2_100
    assert again == items


async def test_an_answer_announcing_a_huge_body_is_refused_unread(
    hostile: HostileServer,
) -> None:
    # The server claims 100 GB and then sends nothing: reading it would hang on the stall.
    hostile.add("GET", "/user", Stall(announce=100 * 2**30))
    pool = PoolSettings(read_timeout=WAIT_S * 2, timeout=WAIT_S * 2)
    async with client_for(hostile, pool=pool, retry=RetryPolicy(attempts=2)) as client:
        with pytest.raises(MalformedResponseError, match="107374182400 bytes"):
            await client.get_authenticated_user()
    assert len(hostile.requests) == 1  # not asked again: a size is no transient failure


async def test_a_chunked_answer_beyond_the_size_limit_is_refused(
    hostile: HostileServer,
) -> None:
    hostile.add("GET", "/user", Stream(size=65 * 2**20))
    async with client_for(hostile) as client:
        with pytest.raises(MalformedResponseError, match="more than 67108864 bytes"):
            await client.get_json("/user")


# --- stalls and drops ----------------------------------------------------------------------

FAST_TIMEOUTS = PoolSettings(read_timeout=0.1, timeout=5.0)


@pytest.mark.parametrize("before_headers", [False, True], ids=["mid-body", "before-headers"])
async def test_a_stalled_get_ends_as_unreachable_after_its_retries(
    hostile: HostileServer, before_headers: bool
) -> None:
    hostile.add("GET", "/user", Stall(before_headers=before_headers))
    started = time.perf_counter()
    async with client_for(hostile, pool=FAST_TIMEOUTS, retry=RetryPolicy(attempts=3)) as client:
        with pytest.raises(GitHubUnreachableError, match="cannot reach"):
            await client.get_authenticated_user()
    assert hostile.count("GET", "/user") == 3
    assert time.perf_counter() - started < 3.0  # three read timeouts of 0.1 s, not 30 s each


async def test_a_stalled_comment_is_an_unknown_outcome_sent_once(
    hostile: HostileServer,
) -> None:
    hostile.add("POST", COMMENTS, Stall(), Scripted(201, {"id": 1}))
    async with client_for(hostile, pool=FAST_TIMEOUTS) as client:
        with pytest.raises(UnknownOutcomeError, match="may have been applied"):
            await comment(client)
    assert hostile.count("POST", COMMENTS) == 1


async def test_a_server_that_drops_every_connection_is_unreachable_for_a_get(
    hostile: HostileServer,
) -> None:
    hostile.add("GET", "/user", Scripted(reset=True))
    async with client_for(hostile, retry=RetryPolicy(attempts=3)) as client:
        with pytest.raises(GitHubUnreachableError, match="cannot reach"):
            await client.get_authenticated_user()
        assert client.statistics().connection_errors == 3
    # aiohttp itself may resend an idempotent GET once per attempt on a reused connection.
    assert 3 <= hostile.count("GET", "/user") <= 6


async def test_a_dropped_comment_is_an_unknown_outcome_never_sent_again(
    hostile: HostileServer,
) -> None:
    # A second try would succeed: the client must not make it.
    hostile.add("POST", COMMENTS, Scripted(reset=True), Scripted(201, {"id": 1}))
    async with client_for(hostile) as client:
        hostile.add("GET", COMMENTS, Scripted(200, []))
        await client.get_json(COMMENTS)  # a keep-alive connection for the POST to reuse
        with pytest.raises(UnknownOutcomeError) as caught:
            await comment(client)
    assert (caught.value.method, caught.value.url) == ("POST", hostile.base_url + COMMENTS)
    assert hostile.count("POST", COMMENTS) == 1


async def test_a_comment_that_never_left_is_retried_not_an_unknown_outcome() -> None:
    # A refused connection proves the request was never sent: sending it again is safe.
    client = GitHubClient(
        base_url="http://127.0.0.1:9", token="t", clock=FakeClock(), retry=RetryPolicy(attempts=3)
    )
    async with client:
        with pytest.raises(GitHubUnreachableError, match="cannot reach"):
            await comment(client)
        assert client.statistics().retries == 2


# --- refusals pause everyone ---------------------------------------------------------------

SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}


@pytest.mark.parametrize(
    ("status", "body", "headers", "pause"),
    [
        pytest.param(403, SECONDARY, {"retry-after": "30"}, 30.0, id="secondary-403"),
        pytest.param(429, {}, {"retry-after": "30"}, 30.0, id="429-retry-after"),
        pytest.param(
            403,
            {"message": "API rate limit exceeded for user ID 1."},
            limits(5000, 0, NOW + 120),
            121.0,
            id="primary-spent",
        ),
    ],
)
async def test_after_a_refusal_every_request_waits_as_long_as_github_said(
    hostile: HostileServer,
    status: int,
    body: dict[str, str],
    headers: dict[str, str],
    pause: float,
) -> None:
    clock = ManualClock(NOW)
    hostile.clock = clock
    hostile.add("POST", LABELS, Scripted(status, body, headers), Scripted(200, [{"name": "x"}]))
    others = ["/user", "/repos/o/r", "/repos/o/r/issues/2"]
    for path in others:
        hostile.add("GET", path, Scripted(200, {"login": "me", "id": 1, "full_name": "o/r"}))
    async with client_for(hostile, clock) as client, asyncio.timeout(WAIT_S):
        refused = asyncio.create_task(client.add_labels(REPO, 1, ("x",)))
        await clock.wait_for_sleepers(1)  # refused: it now waits in the governor
        assert client.governor.statistics().paused_until == NOW + pause
        followers = [asyncio.create_task(client.get_json(path)) for path in others]
        await clock.wait_for_sleepers(1 + len(others))
        clock.advance(pause - 1)
        assert clock.sleepers() == 1 + len(others)  # a second early: all still held
        clock.advance(1)
        await asyncio.gather(refused, *followers)
    assert hostile.arrivals[0] == ("POST", LABELS, NOW)
    later = hostile.arrivals[1:]
    assert sorted(path for _, path, _ in later) == sorted([LABELS, *others])
    assert {when for _, _, when in later} == {NOW + pause}


# --- the circuit breaker -------------------------------------------------------------------

THRESHOLD = 20  # CircuitBreaker's default
COOLDOWN = 5.0


async def open_circuit(server: HostileServer, client: GitHubClient) -> None:
    server.add("GET", "/user", Scripted(502, {"message": "Server Error"}))
    for _ in range(THRESHOLD):
        with pytest.raises(ServerError):
            await client.get_authenticated_user()
    assert client.breaker.state is CircuitState.OPEN


def heal(server: HostileServer) -> None:
    server.answers["GET /user"].clear()
    server.add("GET", "/user", Scripted(200, {"login": "me"}))


async def test_the_circuit_opens_at_the_threshold_and_then_fails_fast(
    hostile: HostileServer,
) -> None:
    clock = FakeClock()
    async with client_for(hostile, clock, retry=RetryPolicy(attempts=1)) as client:
        await open_circuit(hostile, client)
        for _ in range(10):
            with pytest.raises(CircuitOpenError, match="is failing"):
                await client.get_authenticated_user()
        with pytest.raises(CircuitOpenError):
            await client.add_labels(REPO, 1, ("bug",))
        clock.advance(COOLDOWN - 0.1)
        with pytest.raises(CircuitOpenError):
            await client.get_authenticated_user()
    assert len(hostile.arrivals) == THRESHOLD  # nothing reached the server once open


async def test_after_the_cooldown_one_probe_goes_and_its_success_closes_the_circuit(
    hostile: HostileServer,
) -> None:
    clock = FakeClock()
    async with client_for(hostile, clock, retry=RetryPolicy(attempts=1)) as client:
        await open_circuit(hostile, client)
        heal(hostile)
        for path in ("/repos/o/r", "/repos/o/r/issues/1", "/repos/o/r/issues/2"):
            hostile.add("GET", path, Scripted(200, {"id": 1, "full_name": "o/r"}))
        clock.advance(COOLDOWN)
        results = await asyncio.gather(
            client.get_json("/user"),
            client.get_json("/repos/o/r"),
            client.get_json("/repos/o/r/issues/1"),
            client.get_json("/repos/o/r/issues/2"),
            return_exceptions=True,
        )
        assert results[0] == {"login": "me"}
        assert all(isinstance(result, CircuitOpenError) for result in results[1:])
        assert len(hostile.arrivals) == THRESHOLD + 1  # the probe, and only the probe
        assert client.breaker.state is CircuitState.CLOSED
        assert await client.get_json("/repos/o/r") == {"id": 1, "full_name": "o/r"}
    assert len(hostile.arrivals) == THRESHOLD + 2


async def test_a_failed_probe_opens_the_circuit_again(hostile: HostileServer) -> None:
    clock = FakeClock()
    async with client_for(hostile, clock, retry=RetryPolicy(attempts=1)) as client:
        await open_circuit(hostile, client)
        clock.advance(COOLDOWN)
        with pytest.raises(ServerError):
            await client.get_authenticated_user()  # the probe
        with pytest.raises(CircuitOpenError):
            await client.get_authenticated_user()
        assert len(hostile.arrivals) == THRESHOLD + 1
        heal(hostile)
        clock.advance(COOLDOWN)
        assert (await client.get_authenticated_user()).login == "me"
        assert client.breaker.state is CircuitState.CLOSED
        assert client.breaker.opened == 2


async def test_a_cancelled_probe_does_not_wedge_the_circuit(hostile: HostileServer) -> None:
    clock = FakeClock()
    async with client_for(hostile, clock, retry=RetryPolicy(attempts=1)) as client:
        await open_circuit(hostile, client)
        hostile.add("GET", "/repos/o/r", Stall())
        clock.advance(COOLDOWN)
        probe = asyncio.create_task(client.get_json("/repos/o/r"))
        await hostile.wait_for_requests(THRESHOLD + 1)
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
        heal(hostile)
        clock.advance(10 * COOLDOWN)
        assert (await client.get_authenticated_user()).login == "me"
