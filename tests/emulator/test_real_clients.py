"""Fidelity: PyGithub and githubkit, unmodified, cannot tell the emulator from GitHub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from githubkit import GitHub
from githubkit.exception import PrimaryRateLimitExceeded, SecondaryRateLimitExceeded

from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from github import Auth, Github, GithubException, RateLimitExceededException

from .conftest import push_branch

TOKEN = "ghp_emulated"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator (250 items, no limits) shared by the read-mostly client tests."""
    with run_in_thread(EmulatorConfig(issues=250, seed=4)) as emulator:
        yield emulator


def _repeat(times: int, call: Callable[[int], object]) -> None:
    for index in range(times):
        call(index)


def _pygithub(emulator: Emulator, token: str | None = TOKEN) -> Github:
    return Github(
        base_url=emulator.base_url,
        auth=Auth.Token(token) if token else None,
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
        per_page=100,
    )


def test_pygithub_reads_paginates_and_writes(served: Emulator, tmp_path: Path) -> None:
    gh = _pygithub(served)
    repo = gh.get_repo("acme/widgets")
    assert (repo.full_name, repo.default_branch) == ("acme/widgets", "main")
    numbers = [issue.number for issue in repo.get_issues(state="all")]
    assert sorted(numbers) == list(range(1, 251))
    issue = repo.get_issue(17)
    issue.add_to_labels("bug", "triaged")
    assert {"bug", "triaged"} <= {label.name for label in repo.get_issue(17).labels}
    issue.remove_from_labels("triaged")
    comment = issue.create_comment("Looks like a crash <!-- autoissue -->")
    assert comment.body.endswith("<!-- autoissue -->")
    assert comment.user.login == gh.get_user().login
    assert [c.id for c in issue.get_comments()][-1] == comment.id
    push_branch(repo.clone_url, "autoissue/issue-17", tmp_path)
    pull = repo.create_pull(
        title="Fix #17", body="Closes #17", head="autoissue/issue-17", base="main"
    )
    assert (pull.number, pull.head.ref, pull.merged) == (251, "autoissue/issue-17", False)
    assert [p.number for p in repo.get_pulls(head="acme:autoissue/issue-17")] == [251]
    with pytest.raises(GithubException) as refused:
        repo.create_pull(title="again", body="", head="autoissue/issue-17", base="main")
    assert refused.value.status == 422


def test_pygithub_conditional_request_sees_304(served: Emulator) -> None:
    issue = _pygithub(served).get_repo("acme/widgets").get_issue(3)
    assert issue.update() is False  # If-None-Match answered 304: unchanged
    stats = served.stats()["requests"]["GET /repos/{owner}/{repo}/issues/{n}"]
    assert stats["304"] >= 1


def test_pygithub_rate_limits_raise_its_exception() -> None:
    with run_in_thread(EmulatorConfig(issues=5, limits="github")) as emulator:
        issue = _pygithub(emulator).get_repo("acme/widgets").get_issue(1)
        with pytest.raises(RateLimitExceededException) as secondary:
            _repeat(81, lambda index: issue.create_comment(f"comment {index}"))
        assert "secondary rate limit" in secondary.value.data["message"]  # type: ignore[index]
        anonymous = _pygithub(emulator, token=None).get_repo("acme/widgets")
        with pytest.raises(RateLimitExceededException):
            _repeat(61, lambda _: anonymous.get_issue(1))
        assert emulator.stats()["rate_limit_violations"] == 2


def test_githubkit_sync_reads_writes_and_sees_304(served: Emulator) -> None:
    with GitHub(TOKEN, base_url=served.base_url, auto_retry=False) as gh:
        first = gh.rest.issues.list_for_repo("acme", "widgets", state="all", per_page=100)
        assert len(first.parsed_data) == 100
        every = list(
            gh.rest.paginate(
                gh.rest.issues.list_for_repo,
                owner="acme",
                repo="widgets",
                state="all",
                per_page=100,
            )
        )
        assert len({issue.number for issue in every}) >= 250
        issue = gh.rest.issues.get("acme", "widgets", 40).parsed_data
        assert issue.number == 40
        labels = gh.rest.issues.add_labels("acme", "widgets", 40, data=["p1", "urgent"])
        assert {"p1", "urgent"} <= {label.name for label in labels.parsed_data}
        comment = gh.rest.issues.create_comment("acme", "widgets", 40, body="hi").parsed_data
        assert comment.body == "hi"
        url = f"{served.base_url}/repos/acme/widgets/issues/40"
        etag = gh.request("GET", url).headers["etag"]
        # githubkit's HTTP cache (hishel) revalidates with the ETag on its own and hands the
        # caller its cached 200: the 304 shows in the emulator's counts.
        again = gh.request("GET", url, headers={"If-None-Match": etag})
        assert again.status_code in (200, 304)
        assert served.stats()["requests"]["GET /repos/{owner}/{repo}/issues/{n}"]["304"] >= 1
        assert gh.rest.pulls.list("acme", "widgets", state="all", per_page=5).parsed_data


async def test_githubkit_async_reads_and_opens_a_pull(served: Emulator, tmp_path: Path) -> None:
    clone_url = served.state()["repos"][0]["clone_url"]
    push_branch(clone_url, "kit/fix", tmp_path)
    async with GitHub(TOKEN, base_url=served.base_url, auto_retry=False) as gh:
        repo = (await gh.rest.repos.async_get("acme", "widgets")).parsed_data
        assert repo.id == 1296269
        user = (await gh.rest.users.async_get_authenticated()).parsed_data
        assert user.login.startswith("user-")
        pull = await gh.rest.pulls.async_create(
            "acme", "widgets", title="Kit", head="kit/fix", base="main"
        )
        assert pull.parsed_data.head.ref == "kit/fix"
        found = await gh.rest.pulls.async_list("acme", "widgets", head="acme:kit/fix")
        assert [p.number for p in found.parsed_data] == [pull.parsed_data.number]


def test_githubkit_rate_limit_exceptions() -> None:
    with run_in_thread(EmulatorConfig(issues=5, limits="github")) as emulator:
        with GitHub(TOKEN, base_url=emulator.base_url, auto_retry=False) as gh:
            limits = gh.rest.rate_limit.get().parsed_data
            assert limits.resources.core.limit == 5000
            comment = gh.rest.issues.create_comment
            with pytest.raises(SecondaryRateLimitExceeded) as secondary:
                _repeat(81, lambda index: comment("acme", "widgets", 2, body=f"c{index}"))
            assert secondary.value.retry_after.total_seconds() > 0
        with (
            GitHub(base_url=emulator.base_url, auto_retry=False, http_cache=False) as anonymous,
            pytest.raises(PrimaryRateLimitExceeded),
        ):
            _repeat(61, lambda _: anonymous.rest.issues.get("acme", "widgets", 1))
        with httpx.Client() as raw:
            # Still answered when limited: it is how a client learns when the limit resets.
            answer = raw.get(f"{emulator.base_url}/rate_limit")
            assert answer.status_code == 200
            assert answer.json()["resources"]["core"]["remaining"] == 0
