"""github.com's rate limits on a fake clock: primary, secondary, 304s, time scale."""

from __future__ import annotations

import asyncio

from autoissue.emulator import GITHUB_LIMITS, Emulator, FakeClock, least_seconds
from autoissue.emulator._ratelimit import RateLimiter

from .conftest import Api, Start

REPO = "/repos/acme/widgets"
ISSUE = "GET /repos/{owner}/{repo}/issues/{n}"
COMMENT = "POST /repos/{owner}/{repo}/issues/{n}/comments"


def _spend(limiter: RateLimiter, who: str, times: int) -> None:
    for _ in range(times):
        assert limiter.admit(who, f"GET /{_ % 800}", "GET", creates_content=False) is None
        limiter.charge(who)


def test_primary_budget_is_5000_per_hour_and_resets() -> None:
    clock = FakeClock(start=1_000_000.0)
    limiter = RateLimiter(clock=clock)
    _spend(limiter, "tok", 5000)
    refusal = limiter.admit("tok", "GET /x", "GET", creates_content=False)
    assert refusal is not None
    assert refusal.kind == "primary"
    assert refusal.message.startswith("API rate limit exceeded for user ID ")
    assert limiter.status("tok") == (5000, 0, 5000, 1_003_600)
    clock.advance(3600)
    assert limiter.admit("tok", "GET /x", "GET", creates_content=False) is None
    assert limiter.status("tok")[1] == 5000


def test_time_scale_shrinks_windows_and_retry_after() -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(clock=clock, time_scale=60)
    _spend(limiter, "ip:10.0.0.1", 60)
    refusal = limiter.admit("ip:10.0.0.1", "GET /x", "GET", creates_content=False)
    assert refusal is not None
    assert "10.0.0.1" in refusal.message
    assert limiter.status("ip:10.0.0.1")[3] == 60  # an hour is a minute
    for _ in range(80):
        assert limiter.admit("tok", COMMENT, "POST", creates_content=True) is None
    refusal = limiter.admit("tok", COMMENT, "POST", creates_content=True)
    assert refusal is not None
    assert (refusal.kind, refusal.retry_after) == ("content_minute", 1)
    clock.advance(61)
    assert limiter.admit("ip:10.0.0.1", "GET /x", "GET", creates_content=False) is None


def test_content_creation_hourly_limit_and_concurrency() -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(clock=clock)
    for minute in range(7):
        for _ in range(80 if minute < 6 else 20):
            assert limiter.admit("tok", f"POST /c{minute}", "POST", creates_content=True) is None
        clock.advance(60)
    refusal = limiter.admit("tok", "POST /c9", "POST", creates_content=True)
    assert refusal is not None
    assert refusal.kind == "content_hour"
    assert refusal.retry_after == 3600 - 7 * 60
    for _ in range(101):
        limiter.enter("busy")
    refusal = limiter.admit("busy", "GET /x", "GET", creates_content=False)
    assert refusal is not None
    assert (refusal.kind, refusal.retry_after) == ("concurrency", 60)
    limiter.leave("busy")
    assert limiter.admit("busy", "GET /x", "GET", creates_content=False) is None


async def test_headers_on_every_response_and_304_is_free(start: Start, api: Api) -> None:
    emulator = await start(limits="github")
    url = f"{emulator.base_url}{REPO}/issues/3"
    _, headers, _ = await api("GET", url)
    assert headers["x-ratelimit-limit"] == "5000"
    assert headers["x-ratelimit-remaining"] == "4999"
    assert headers["x-ratelimit-used"] == "1"
    assert headers["x-ratelimit-resource"] == "core"
    assert int(headers["x-ratelimit-reset"]) == 1_800_003_600
    status, headers, _ = await api("GET", url, headers={"If-None-Match": headers["ETag"]})
    assert (status, headers["x-ratelimit-remaining"]) == (304, "4999")
    status, _, limits = await api("GET", f"{emulator.base_url}/rate_limit")
    assert status == 200
    assert limits["resources"]["core"]["remaining"] == 4999
    assert limits["rate"] == limits["resources"]["core"]


async def test_rate_limit_endpoint_is_404_without_limits(emulator: Emulator, api: Api) -> None:
    status, headers, body = await api("GET", f"{emulator.base_url}/rate_limit")
    assert (status, body["message"]) == (404, "Rate limiting is not enabled.")
    assert "x-ratelimit-limit" not in headers


async def test_anonymous_primary_exhaustion_is_403(start: Start, anon: Api) -> None:
    clock = FakeClock()
    emulator = await start(limits="github", clock=clock)
    url = f"{emulator.base_url}{REPO}/issues/1"
    for _ in range(60):
        status, _, _ = await anon("GET", url)
        assert status == 200
    status, headers, body = await anon("GET", url)
    assert status == 403
    assert headers["x-ratelimit-remaining"] == "0"
    assert body["message"].startswith("API rate limit exceeded for 127.0.0.1.")
    stats = emulator.stats()
    assert stats["rate_limit_violations"] == 1
    assert stats["rate_limit_violations_by_kind"] == {"primary": 1}
    clock.advance(3600)
    status, _, _ = await anon("GET", url)
    assert status == 200


async def test_secondary_content_creation_limit_has_retry_after(start: Start, api: Api) -> None:
    emulator = await start(limits="github", time_scale=60)
    url = f"{emulator.base_url}{REPO}/issues/5/comments"
    results = await asyncio.gather(
        *(api("POST", url, json={"body": f"c{index}"}) for index in range(81))
    )
    refused = [result for result in results if result[0] == 403]
    assert len(refused) == 1
    _, headers, body = refused[0]
    assert "secondary rate limit" in body["message"]
    assert headers["Retry-After"] == "1"
    assert emulator.stats()["rate_limit_violations_by_kind"] == {"content_minute": 1}


async def test_points_per_minute_per_endpoint(start: Start, api: Api) -> None:
    emulator = await start(limits="github")
    url = f"{emulator.base_url}{REPO}/issues/6/labels"
    for _ in range(180):  # 180 writes of 5 points: the whole 900
        status, _, _ = await api("PUT", url, json=["bug"])
        assert status == 200
    status, headers, body = await api("PUT", url, json=["bug"])
    assert status == 403
    assert "secondary rate limit" in body["message"]
    assert 1 <= int(headers["Retry-After"]) <= 60
    status, _, _ = await api("GET", f"{emulator.base_url}{REPO}/issues/6")  # another endpoint
    assert status == 200


def test_least_seconds_follow_the_limiters_accounting() -> None:
    labels, comments = "POST /repos/{owner}/{repo}/issues/{n}/labels", COMMENT
    # 5,001 charged requests need a second primary window; refused, faulted and free ones and
    # 304s spend nothing of it (a 304 still spends points).
    requests = {
        ISSUE: {"200": 4_000, "304": 7_000, "403": 50, "503": 9, "401": 1, "reset": 3},
        labels: {"201": 1_000, "502": 1},
        "GET /rate_limit": {"200": 500},
    }
    bounds = least_seconds(requests, time_scale=60)
    assert bounds["primary"] == 60.0  # one whole compressed hour, the second window's wait
    assert bounds["points"] == 12 * 1.0  # 11,000 reads of 1 point: 13 windows of 900
    assert bounds["mutation_spacing"] == 1000 / 60  # 1,001 writes: 1,000 gaps of 1/60 s
    assert bounds["content_minute"] == bounds["content_hour"] == 0.0  # labels create nothing
    bounds = least_seconds({comments: {"201": 501}}, time_scale=1)
    assert (bounds["content_minute"], bounds["content_hour"]) == (6 * 60.0, 3600.0)
    assert least_seconds({labels: {"201": 181}})["points"] == 60.0  # 180 writes fill 900 points
    # Requests to unknown paths, whatever their method, count as cheaply as can be.
    unknown = least_seconds({"unmatched": {"404": 901}})
    assert (unknown["points"], unknown["mutation_spacing"]) == (60.0, 0.0)
    assert least_seconds({}) == dict.fromkeys(
        ("primary", "points", "content_minute", "content_hour", "mutation_spacing"), 0.0
    )
    assert GITHUB_LIMITS.points("DELETE /x") == 5
    assert GITHUB_LIMITS.points("HEAD") == 1
