from __future__ import annotations

import json
import random

import pytest

from autoissue import (
    AuthenticationError,
    ConfigurationError,
    FakeClock,
    GitHubError,
    GitHubUnreachableError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationFailedError,
)
from autoissue.github import GitHubClient
from autoissue.github._retry import RetryPolicy
from autoissue.processors import ReadOnlyGitHub
from tests.github._scripted import Scripted, ScriptedServer, replay


def client_for(server: ScriptedServer, **kwargs: object) -> GitHubClient:
    return GitHubClient(
        base_url=server.base_url,
        token="t0ken-value",
        clock=FakeClock(),
        rng=random.Random(0),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_paginates_recorded_issue_list_by_following_next_links(
    server: ScriptedServer,
) -> None:
    replay(server, "paginate-issues.json")
    async with client_for(server) as client:
        pages = [
            page
            # One page at a time: the scripted server answers a path in arrival order.
            async for page in client.iter_issue_pages(
                "octokit-fixture-org/paginate-issues", per_page=3, concurrency=1
            )
        ]
    assert [len(page) for page in pages] == [3, 3, 3, 3, 1]
    numbers = [issue.number for page in pages for issue in page]
    assert numbers == list(range(13, 0, -1))
    paths = [path for _, path, _, _ in server.requests]
    assert paths[0].startswith("/repos/octokit-fixture-org/paginate-issues/issues?")
    assert paths[1:] == [f"/repositories/1000/issues?per_page=3&page={n}" for n in range(2, 6)]


async def test_sends_token_and_api_headers(server: ScriptedServer) -> None:
    replay(server, "get-repository.json")
    async with client_for(server) as client:
        repository = await client.get_repository("octokit-fixture-org/hello-world")
    assert repository.full_name == "octokit-fixture-org/hello-world"
    headers = server.requests[0][2]
    assert headers["Authorization"] == "Bearer t0ken-value"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"


async def test_adds_labels_from_recorded_answer(server: ScriptedServer) -> None:
    replay(server, "add-labels-to-issue.json")
    async with client_for(server) as client:
        labels = await client.add_labels(
            "octokit-fixture-org/add-labels-to-issue", 1, ("Foo", "bAr", "baZ")
        )
    assert labels == ["Foo", "bAr", "baZ"]
    assert server.requests[0][3] == b'{"labels":["Foo","bAr","baZ"]}'


async def test_follows_a_301_for_a_renamed_repository(server: ScriptedServer) -> None:
    replay(server, "rename-repository.json")
    async with client_for(server) as client:
        repository = await client.get_repository("octokit-fixture-org/rename-repository")
    assert repository.id == 1000


async def test_validation_failed_carries_githubs_message(server: ScriptedServer) -> None:
    replay(server, "errors.json")
    async with client_for(server) as client:
        with pytest.raises(ValidationFailedError) as caught:
            await client.request("POST", "/repos/octokit-fixture-org/errors/labels", json={})
    assert caught.value.status == 422
    assert caught.value.message == "Validation Failed"


async def test_retries_transient_5xx_then_succeeds(server: ScriptedServer) -> None:
    server.add(
        "GET",
        "/user",
        Scripted(502, {"message": "Server Error"}),
        Scripted(503, {}),
        Scripted(200, {"login": "me"}),
    )
    async with client_for(server) as client:
        user = await client.get_authenticated_user()
        stats = client.statistics()
    assert user.login == "me"
    assert (stats.requests, stats.retries) == (3, 2)
    assert dict(stats.by_status) == {502: 1, 503: 1, 200: 1}


async def test_gives_up_after_the_last_attempt_with_a_server_error(server: ScriptedServer) -> None:
    server.add("GET", "/user", Scripted(502, {"message": "Bad Gateway"}))
    async with client_for(server, retry=RetryPolicy(attempts=3)) as client:
        with pytest.raises(ServerError, match="502 Bad Gateway"):
            await client.get_authenticated_user()
        assert client.statistics().requests == 3


async def test_retries_a_dropped_connection(server: ScriptedServer) -> None:
    # A POST, because aiohttp itself re-sends an idempotent GET once on a dropped connection.
    path = "/repos/o/r/issues/1/labels"
    server.add("POST", path, Scripted(reset=True), Scripted(200, [{"name": "bug"}]))
    async with client_for(server) as client:
        assert await client.add_labels("o/r", 1, ("bug",)) == ["bug"]
        assert client.statistics().connection_errors == 1
    assert len(server.requests) == 2


async def test_unreachable_host_is_one_clear_error() -> None:
    client = GitHubClient(
        base_url="http://127.0.0.1:9", clock=FakeClock(), retry=RetryPolicy(attempts=2)
    )
    async with client:
        with pytest.raises(GitHubUnreachableError, match=r"cannot reach http://127.0.0.1:9"):
            await client.get_authenticated_user()


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind"),
    [
        (401, {"message": "Bad credentials"}, {}, AuthenticationError),
        (404, {"message": "Not Found"}, {}, NotFoundError),
        (403, {"message": "Resource not accessible by integration"}, {}, GitHubError),
    ],
)
async def test_error_answers_raise_their_own_types(
    server: ScriptedServer,
    status: int,
    body: object,
    headers: dict[str, str],
    kind: type[Exception],
) -> None:
    server.add("GET", "/user", Scripted(status, body, headers))
    async with client_for(server) as client:
        with pytest.raises(kind):
            await client.get_authenticated_user()
        assert client.statistics().retries == 0


async def test_a_refusal_that_persists_ends_as_rate_limited_with_retry_after(
    server: ScriptedServer,
) -> None:
    body = {"message": "You have exceeded a secondary rate limit."}
    server.add("POST", "/repos/o/r/issues/1/labels", Scripted(403, body, {"retry-after": "60"}))
    clock = FakeClock()
    async with GitHubClient(base_url=server.base_url, token="t", clock=clock) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.add_labels("o/r", 1, ("bug",))
        waits = client.governor.statistics().waits
    assert caught.value.retry_after == 60.0
    assert len(server.requests) == 6  # the first try and five waits of retry-after
    assert waits == {"paused": 5}
    assert clock.slept == [60.0] * 5


async def test_refuses_to_send_the_token_to_another_host(server: ScriptedServer) -> None:
    next_page = '<http://attacker.invalid/issues?page=2>; rel="next"'
    server.add("GET", "/repos/o/r/issues", Scripted(200, [], {"link": next_page}))
    async with client_for(server) as client:
        with pytest.raises(ConfigurationError, match="refusing to send credentials"):
            [page async for page in client.iter_issue_pages("o/r")]


async def test_since_is_sent_for_incremental_listing(server: ScriptedServer) -> None:
    server.add("GET", "/repos/o/r/issues", Scripted(200, []))
    async with client_for(server) as client:
        pages = [
            page
            async for page in client.iter_issue_pages(
                "o/r", since="2026-01-01T00:00:00Z", state="all"
            )
        ]
    assert pages == [[]]
    assert "since=2026-01-01T00:00:00Z" in server.requests[0][1]
    assert "state=all" in server.requests[0][1]


async def test_without_a_token_no_authorization_header_is_sent(server: ScriptedServer) -> None:
    server.add("GET", "/user", Scripted(200, {"login": "anon"}))
    async with GitHubClient(base_url=server.base_url + "/") as client:
        await client.get_json("/user")
        assert client.base_url == server.base_url
    assert "Authorization" not in server.requests[0][2]


def test_repr_never_shows_the_token() -> None:
    client = GitHubClient(token="ghp_secretvalue")
    assert "secret" not in repr(client)
    assert "api.github.com" in repr(client)


def test_rejects_a_base_url_that_is_not_http() -> None:
    with pytest.raises(ConfigurationError, match="base URL"):
        GitHubClient(base_url="ftp://example.com")


async def test_close_is_idempotent() -> None:
    client = GitHubClient()
    await client.close()
    await client.close()


async def test_processors_read_github_through_a_read_only_view(server: ScriptedServer) -> None:
    server.add("GET", "/repos/o/r/issues/1/comments", Scripted(200, [{"id": 1, "body": "hi"}]))
    async with client_for(server) as client:
        github = ReadOnlyGitHub(client)
        assert await github.get("/repos/o/r/issues/1/comments", per_page="100") == [
            {"id": 1, "body": "hi"}
        ]
        assert not hasattr(github, "request")
    assert server.requests[0][1] == "/repos/o/r/issues/1/comments?per_page=100"


async def test_follows_a_307_for_a_write_to_a_renamed_repository(server: ScriptedServer) -> None:
    replay(server, "rename-repository.json")
    body = {"name": "rename-repository-newname", "description": "test description"}
    path = "/repos/octokit-fixture-org/rename-repository"
    async with client_for(server) as client:
        await client.request("PATCH", path, json={"name": "rename-repository-newname"})
        answer = await client.request("PATCH", path, json=body)
    assert answer.status == 200
    method, target, _, sent = server.requests[-1]
    assert (method, target) == ("PATCH", "/repositories/1000")
    assert json.loads(sent) == body  # the write went on, body and method kept
