"""The client over an injected transport: what it sends and how it reads answers, no server."""

from __future__ import annotations

import random

import pytest

from autoissue import ConfigurationError, FakeClock, UnknownOutcomeError
from autoissue.github import ETagCache, FakeTransport, GitHubClient, Request, Response, answer
from autoissue.github._retry import RetryPolicy
from autoissue.github._transport import PoolSettings, SendFailure

BASE = "https://api.github.test"
TOKEN = "ghp_fake_token_for_tests"


def client(transport: FakeTransport, **options: object) -> GitHubClient:
    return GitHubClient(
        base_url=BASE,
        token=TOKEN,
        transport=transport,
        clock=FakeClock(),
        rng=random.Random(1),
        **options,  # type: ignore[arg-type]
    )


async def test_every_request_carries_the_token_and_githubs_headers() -> None:
    def ok(request: Request) -> Response:
        labels = request.url.endswith("/labels")
        return answer(request, 200, [{"name": "bug"}] if labels else {"name": "widgets"})

    transport = FakeTransport(ok)
    async with client(transport) as github:
        await github.get_json("/repos/acme/widgets")
        await github.add_labels("acme/widgets", 3, ("bug",))
    read, write = transport.requests
    assert (read.method, read.url) == ("GET", f"{BASE}/repos/acme/widgets")
    for request in (read, write):
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert request.headers["Accept"] == "application/vnd.github+json"
    assert write.headers["Content-Type"] == "application/json"
    assert write.json() == {"labels": ["bug"]}
    assert transport.closed == 1
    assert TOKEN not in repr(github)


async def test_a_get_that_met_a_bad_gateway_is_sent_again() -> None:
    statuses = iter([502, 502, 200])

    def flaky(request: Request) -> Response:
        return answer(request, next(statuses), {"ok": True})

    transport = FakeTransport(flaky)
    github = client(transport, retry=RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0))
    assert await github.get_json("/repos/acme/widgets") == {"ok": True}
    assert len(transport.requests) == 3
    assert github.statistics().retries == 2


async def test_a_comment_whose_connection_dropped_is_never_sent_blind_again() -> None:
    def dropped(request: Request) -> Response:
        raise SendFailure("connection reset", sent=True)

    transport = FakeTransport(dropped)
    with pytest.raises(UnknownOutcomeError):
        await client(transport).create_comment("acme/widgets", 3, "hello")
    assert len(transport.requests) == 1


async def test_an_unchanged_page_is_revalidated_and_served_from_the_cache() -> None:
    async def etagged(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return answer(request, 304, headers={"ETag": '"v1"'})
        return answer(request, 200, [{"id": 1}], headers={"ETag": '"v1"'})

    transport = FakeTransport(etagged)
    github = client(transport)
    first = await github.get_json("/repos/acme/widgets/labels")
    again = await github.get_json("/repos/acme/widgets/labels")
    assert first == again == [{"id": 1}]
    assert "If-None-Match" not in transport.requests[0].headers
    assert transport.requests[1].headers["If-None-Match"] == '"v1"'
    assert github.statistics().cache_hits == 1


async def test_an_answer_evicted_while_revalidating_is_fetched_whole_again() -> None:
    github: GitHubClient

    async def evicting(request: Request) -> Response:
        if "If-None-Match" in request.headers:
            # Another page fills the one-entry cache while this request is out.
            github.cache.store("elsewhere", answer(request, 200, [], headers={"ETag": '"x"'}))
            return answer(request, 304, headers={"ETag": '"v1"'})
        return answer(request, 200, [{"id": 1}], headers={"ETag": '"v1"'})

    transport = FakeTransport(evicting)
    github = client(transport, cache=ETagCache(max_entries=1))
    assert await github.get_json("/repos/acme/widgets/issues") == [{"id": 1}]
    assert await github.get_json("/repos/acme/widgets/issues") == [{"id": 1}]
    revalidated, whole = transport.requests[1:]
    assert revalidated.headers["If-None-Match"] == '"v1"'
    assert "If-None-Match" not in whole.headers


def test_pool_settings_go_with_the_default_transport_only() -> None:
    transport = FakeTransport(answer)
    with pytest.raises(ConfigurationError, match="default transport"):
        client(transport, pool=PoolSettings(max_connections=4))
    assert "requests=0" in repr(transport)
    assert answer(Request("GET", BASE, None, {})).body == b""


def repository(name: str, **facts: object) -> dict[str, object]:
    return {"id": abs(hash(name)) % 1000, "full_name": name, **facts}


async def test_an_installations_repositories_are_listed_from_their_wrapper() -> None:
    def installation(request: Request) -> Response:
        listed = [repository("acme/a"), repository("acme/b", archived=True, fork=True)]
        return answer(request, 200, {"total_count": 2, "repositories": listed})

    transport = FakeTransport(installation)
    async with client(transport) as github:
        repos = await github.list_repositories()
    assert [(r.full_name, r.archived, r.fork) for r in repos] == [
        ("acme/a", False, False),
        ("acme/b", True, True),
    ]
    assert transport.requests[0].url == f"{BASE}/installation/repositories?per_page=100"


async def test_an_organisations_repositories_are_a_plain_list_and_its_name_is_quoted() -> None:
    def organisation(request: Request) -> Response:
        return answer(request, 200, [repository("we/x")])

    transport = FakeTransport(organisation)
    async with client(transport) as github:
        repos = await github.list_repositories("we/../x")
    assert [r.full_name for r in repos] == ["we/x"]
    assert transport.requests[0].url == f"{BASE}/orgs/we%2F..%2Fx/repos?per_page=100"
