from __future__ import annotations

import pickle
import random

import pytest

from autoissue import ConfigurationError, GitHubError, NotFoundError, RateLimitedError, ServerError
from autoissue.github import parse_repo_name
from autoissue.github._protocol import error_for, is_rate_limited, parse_link_header
from autoissue.github._retry import RetryPolicy
from tests.github._scripted import octokit


def test_parses_every_rel_of_a_recorded_link_header() -> None:
    header = octokit("paginate-issues.json")[1]["headers"]["link"]
    links = parse_link_header(header)
    assert set(links) == {"prev", "next", "last", "first"}
    assert links["next"] == "https://api.github.com/repositories/1000/issues?per_page=3&page=3"


@pytest.mark.parametrize("value", [None, ""])
def test_no_link_header_means_no_links(value: str | None) -> None:
    assert parse_link_header(value) == {}


@pytest.mark.parametrize("text", ["octocat/hello-world", "a/b.c_d-e", " x/y "])
def test_accepts_valid_repository_names(text: str) -> None:
    owner, name = parse_repo_name(text)
    assert f"{owner}/{name}" == text.strip()


@pytest.mark.parametrize("text", ["", "noslash", "a/b/c", "-bad/x", "o/..", "o/$(rm -rf)", "o/a b"])
def test_refuses_invalid_repository_names(text: str) -> None:
    with pytest.raises(ConfigurationError, match="OWNER/NAME"):
        parse_repo_name(text)


def test_a_403_without_limit_signs_is_a_plain_forbidden() -> None:
    error = error_for(403, {}, b'{"message": "Resource not accessible"}', method="GET", url="u")
    assert type(error) is GitHubError
    assert not is_rate_limited(403, {}, "Resource not accessible")


@pytest.mark.parametrize(
    "message",
    ["You have exceeded a secondary rate limit", "triggered an abuse detection mechanism"],
)
def test_secondary_limit_messages_are_rate_limits(message: str) -> None:
    assert is_rate_limited(403, {}, message)


def test_non_json_error_bodies_keep_their_text() -> None:
    error = error_for(502, {}, b"<html>Bad gateway</html>", method="GET", url="u")
    assert isinstance(error, ServerError)
    assert "Bad gateway" in error.message


def test_empty_error_bodies_name_the_status() -> None:
    assert error_for(418, {}, b"", method="GET", url="u").message == "HTTP 418"


def test_bad_retry_after_is_ignored() -> None:
    error = error_for(429, {"retry-after": "soon"}, b"{}", method="GET", url="u")
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is None


def test_errors_pickle_with_their_fields() -> None:
    error = NotFoundError("Not Found", status=404, method="GET", url="http://x/repos/a/b")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotFoundError
    assert (copy.status, copy.message, copy.url) == (404, "Not Found", "http://x/repos/a/b")
    assert str(copy) == "404 Not Found (GET http://x/repos/a/b)"
    assert str(GitHubError("x", status=500)) == "500 x"


def test_full_jitter_backoff_stays_under_its_ceiling() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.5, max_delay=4.0)
    rng = random.Random(1)
    delays = [policy.delay(retry, rng) for retry in range(1, 10) for _ in range(50)]
    assert all(0 <= delay <= 4.0 for delay in delays)
    first = [policy.delay(1, rng) for _ in range(200)]
    assert max(first) <= 0.5
    assert max(delays) > 2.0  # later retries really wait longer


@pytest.mark.parametrize(
    ("kwargs"), [{"attempts": 0}, {"base_delay": -1}, {"base_delay": 2, "max_delay": 1}]
)
def test_retry_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"attempts|base_delay"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
