"""The client against the emulator: limits learnt at warm-up, 304s, single-flight, statistics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from autoissue import AuthenticationError
from autoissue.emulator import Emulator, EmulatorConfig
from autoissue.github import GitHubClient, Mode


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(issues=120, seed=5)) as running:
        yield running


@pytest.fixture
async def limited() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(issues=20, seed=5, limits="github", tokens=frozenset({"good"}))
    async with Emulator(config) as running:
        yield running


def route_counts(emulator: Emulator, route: str) -> dict[str, int]:
    counts: dict[str, int] = emulator.stats()["requests"].get(route, {})
    return counts


async def test_warm_up_learns_that_the_server_has_no_limits(emulator: Emulator) -> None:
    async with GitHubClient(base_url=emulator.base_url, token="t") as client:
        await client.warm_up()
        assert client.governor.mode is Mode.UNLIMITED
        assert client.governor.statistics().max_concurrent == 256


async def test_warm_up_learns_the_budget_of_a_limited_server(limited: Emulator) -> None:
    async with GitHubClient(base_url=limited.base_url, token="good") as client:
        await client.warm_up()
        await client.get_repository("acme/widgets")
        stats = client.governor.statistics()
    assert stats.mode is Mode.LIMITED
    assert stats.budget["core"].limit == 5000
    assert stats.budget["core"].remaining == 4999


async def test_warm_up_rejects_a_bad_token_early(limited: Emulator) -> None:
    async with GitHubClient(base_url=limited.base_url, token="bad") as client:
        with pytest.raises(AuthenticationError):
            await client.warm_up()


async def test_an_unchanged_page_costs_a_304_and_comes_from_the_cache(emulator: Emulator) -> None:
    async with GitHubClient(base_url=emulator.base_url, token="t") as client:
        first = [page async for page in client.iter_issue_pages("acme/widgets", state="all")]
        second = [page async for page in client.iter_issue_pages("acme/widgets", state="all")]
        stats = client.statistics()
    assert first == second
    assert sum(len(page) for page in first) == 120
    assert stats.cache_hits == 2
    assert stats.cache_hit_ratio == pytest.approx(0.5)
    assert route_counts(emulator, "GET /repos/{owner}/{repo}/issues")["304"] == 1
    assert route_counts(emulator, "GET /repositories/{id}/issues")["304"] == 1


async def test_a_changed_issue_is_fetched_again(emulator: Emulator) -> None:
    async with GitHubClient(base_url=emulator.base_url, token="t") as client:
        before = await client.get_json("/repos/acme/widgets/issues/3")
        await client.add_labels("acme/widgets", 3, ("triaged",))
        after = await client.get_json("/repos/acme/widgets/issues/3")
    assert "triaged" in {label["name"] for label in after["labels"]}
    assert before["updated_at"] <= after["updated_at"]


async def test_identical_concurrent_gets_share_one_request(emulator: Emulator) -> None:
    async with GitHubClient(base_url=emulator.base_url, token="t") as client:
        repositories = await asyncio.gather(
            *(client.get_repository("acme/widgets") for _ in range(10))
        )
    assert {repository.full_name for repository in repositories} == {"acme/widgets"}
    assert route_counts(emulator, "GET /repos/{owner}/{repo}") == {"200": 1}


async def test_statistics_group_by_endpoint_with_latency(emulator: Emulator) -> None:
    async with GitHubClient(base_url=emulator.base_url, token="t") as client:
        for number in (1, 2, 3):
            await client.get_json(f"/repos/acme/widgets/issues/{number}")
        stats = client.statistics()
    endpoint = stats.endpoints["GET /repos/{owner}/{repo}/issues/{n}"]
    assert endpoint.requests == 3
    assert endpoint.statuses == {200: 3}
    assert set(endpoint.latency_ms) == {"p50", "p95", "p99"}
    assert 0 < endpoint.latency_ms["p50"] <= endpoint.latency_ms["p99"]
    assert "requests=3" in repr(client)
