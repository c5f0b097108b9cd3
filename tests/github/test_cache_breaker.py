from __future__ import annotations

import asyncio

import pytest

from autoissue import CircuitOpenError, FakeClock, MalformedResponseError
from autoissue.github import ETagCache, Response, dump_cache, load_cache
from autoissue.github._breaker import CircuitBreaker, CircuitState
from autoissue.github._cache import SingleFlight
from autoissue.github._retry import RetryBudget


def answer(body: bytes = b"[]", etag: str | None = '"v1"', status: int = 200) -> Response:
    hdrs = {"etag": etag} if etag else {}
    return Response(status, hdrs, body, "http://x/issues")


def test_cache_revalidates_with_the_etag_and_serves_the_cached_body() -> None:
    cache = ETagCache()
    assert cache.validators("k") == {}
    assert cache.hit("k") is None
    cache.store("k", answer(b"[1]"))
    assert cache.validators("k") == {"If-None-Match": '"v1"'}
    hit = cache.hit("k")
    assert hit is not None
    assert (hit.body, hit.from_cache, hit.status) == (b"[1]", True, 200)


def test_cache_falls_back_to_last_modified() -> None:
    cache = ETagCache()
    modified = Response(200, {"last-modified": "Tue, 01 Jan 2030 00:00:00 GMT"}, b"{}", "u")
    cache.store("k", modified)
    assert cache.validators("k") == {"If-Modified-Since": "Tue, 01 Jan 2030 00:00:00 GMT"}


def test_cache_keeps_only_answers_it_can_revalidate() -> None:
    cache = ETagCache()
    cache.store("no-validator", answer(etag=None))
    cache.store("error", answer(status=500))
    assert len(cache) == 0


def test_cache_is_bounded_by_entries_and_bytes_least_recent_first() -> None:
    cache = ETagCache(max_entries=2, max_bytes=10_000)
    cache.store("a", answer())
    cache.store("b", answer())
    cache.hit("a")  # a is now the most recent
    cache.store("c", answer())
    assert [key for key, _ in cache.records()] == ["a", "c"]
    cache.store("huge", answer(b"x" * 20_000))  # larger than the whole cache: not kept
    assert len(cache) == 2
    small = ETagCache(max_bytes=1_000)
    for key in "abcdef":
        small.store(key, answer(b"y" * 300))
    assert len(small) == 2
    assert "2 entries" in repr(small)


def test_cache_survives_between_runs_as_bytes() -> None:
    cache = ETagCache()
    cache.store("a", answer(b"[7]"))
    cache.store("b", answer(b"[8]", etag='"v2"'))
    copy = ETagCache()
    assert load_cache(copy, dump_cache(cache)) == 2
    assert copy.validators("b") == {"If-None-Match": '"v2"'}
    hit = copy.hit("a")
    assert hit is not None
    assert hit.body == b"[7]"


def test_a_damaged_saved_cache_is_a_clear_error() -> None:
    with pytest.raises(MalformedResponseError, match="not a saved ETag cache"):
        load_cache(ETagCache(), b"\x93garbage")


async def test_single_flight_shares_one_call() -> None:
    flight = SingleFlight()
    calls = 0
    gate = asyncio.Event()

    async def call() -> Response:
        nonlocal calls
        calls += 1
        await gate.wait()
        return answer()

    tasks = [asyncio.create_task(flight.run("k", call)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1
    assert flight.shared == 4
    assert all(result is results[0] for result in results)
    assert "running=0" in repr(flight)


async def test_single_flight_shares_failures_too() -> None:
    flight = SingleFlight()
    gate = asyncio.Event()

    async def call() -> Response:
        await gate.wait()
        raise ValueError("boom")

    tasks = [asyncio.create_task(flight.run("k", call)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, ValueError) for result in results)


async def test_a_follower_runs_the_call_itself_when_the_leader_is_cancelled() -> None:
    flight = SingleFlight()
    gate = asyncio.Event()
    calls = 0

    async def call() -> Response:
        nonlocal calls
        calls += 1
        await gate.wait()
        return answer()

    leader = asyncio.create_task(flight.run("k", call))
    await asyncio.sleep(0)
    follower = asyncio.create_task(flight.run("k", call))
    await asyncio.sleep(0)
    leader.cancel()
    await asyncio.sleep(0)
    gate.set()
    assert (await follower).status == 200
    assert calls == 2
    with pytest.raises(asyncio.CancelledError):
        await leader


def test_breaker_opens_after_the_threshold_and_fails_fast() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("http://h", failure_threshold=3, cooldown_s=5, clock=clock)
    for _ in range(2):
        breaker.record_failure()
        breaker.before_request()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError, match="http://h is failing"):
        breaker.before_request()
    assert breaker.opened == 1


def test_breaker_probes_after_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("h", failure_threshold=1, cooldown_s=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    breaker.before_request()  # the probe
    assert breaker.state is CircuitState.HALF_OPEN
    with pytest.raises(CircuitOpenError):
        breaker.before_request()  # only one probe at a time
    breaker.record_failure()  # the probe failed: open again
    assert breaker.state is CircuitState.OPEN
    clock.advance(5)
    breaker.before_request()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert "closed failures=0" in repr(breaker)


def test_success_resets_the_count_of_failures_in_a_row() -> None:
    breaker = CircuitBreaker("h", failure_threshold=2)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED


def test_retry_budget_limits_retries_to_a_share_of_requests() -> None:
    budget = RetryBudget(ratio=0.1, reserve=2)
    assert budget.withdraw()
    assert budget.withdraw()
    assert not budget.withdraw()
    for _ in range(10):
        budget.deposit()
    assert budget.withdraw()
    assert not budget.withdraw()
    assert budget.exhausted == 2
    for _ in range(10_000):
        budget.deposit()
    assert "12.0/12" in repr(budget)
