from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoissue.github import RateLimitInfo, endpoint_template
from autoissue.github._ratelimit import (
    Refusal,
    classify_refusal,
    parse_rate_limit,
    refusal_wait,
    reset_beyond_window,
    utc_text,
)
from tests.github._scripted import octokit

NOW = 1_800_000_000.0


def headers(**values: object) -> dict[str, str]:
    return {f"x-ratelimit-{name}": str(value) for name, value in values.items()}


def test_reads_recorded_github_headers() -> None:
    recorded = {k: str(v) for k, v in octokit("get-repository.json")[0]["headers"].items()}
    # The fixture's reset is normalised to a constant: read it from half an hour before.
    reading = parse_rate_limit(recorded, now=float(recorded["x-ratelimit-reset"]) - 1800)
    assert reading is not None
    assert (reading.limit, reading.remaining) == (5000, 4999)


def test_reads_every_field() -> None:
    reading = parse_rate_limit(
        headers(limit=5000, remaining=4990, used=10, reset=int(NOW) + 100, resource="search"),
        now=NOW,
    )
    assert reading == RateLimitInfo(5000, 4990, 10, NOW + 100, "search")
    assert reading.seconds_to_reset(NOW + 150) == 0.0


def test_missing_headers_mean_unknown() -> None:
    assert parse_rate_limit({}, now=NOW) is None
    assert parse_rate_limit(headers(limit=5000, remaining=1), now=NOW) is None
    assert parse_rate_limit(headers(limit="lots", remaining=1, reset=1), now=NOW) is None


def test_absurd_values_are_clamped() -> None:
    assert parse_rate_limit(headers(limit=-5, remaining=1, reset=1), now=NOW) is None
    assert parse_rate_limit(headers(limit=0, remaining=0, reset=1), now=NOW) is None
    reading = parse_rate_limit(
        headers(limit=50, remaining=-3, used=99, reset=int(NOW) + 3900), now=NOW
    )
    assert reading is not None
    assert (reading.limit, reading.remaining, reading.used) == (50, 0, 50)
    assert reading.reset == NOW + 3600  # five minutes past the hour: clock drift, capped
    past = parse_rate_limit(headers(limit=60, remaining=90, reset=1), now=NOW)
    assert past is not None
    assert (past.remaining, past.used, past.reset) == (60, 0, NOW)


@pytest.mark.parametrize("reset", [NOW + 3901, 32503680000, 1507651200000])
def test_a_reset_beyond_the_hour_and_its_drift_is_no_reading(reset: float) -> None:
    assert parse_rate_limit(headers(limit=5000, remaining=0, reset=int(reset)), now=NOW) is None


@given(
    st.dictionaries(
        st.sampled_from(["limit", "remaining", "used", "reset", "resource"]), st.text(max_size=12)
    )
)
def test_any_header_values_parse_safely(values: dict[str, str]) -> None:
    reading = parse_rate_limit(headers(**values), now=NOW)
    if reading is not None:
        assert 0 <= reading.remaining <= reading.limit
        assert 0 <= reading.used <= reading.limit
        assert NOW <= reading.reset <= NOW + 3600


@given(
    limit=st.integers(-10, 10**9),
    remaining=st.integers(-10, 10**9),
    reset=st.integers(0, 2**40),
)
def test_any_numbers_give_a_bounded_reading(limit: int, remaining: int, reset: int) -> None:
    reading = parse_rate_limit(headers(limit=limit, remaining=remaining, reset=reset), now=NOW)
    if limit < 1 or reset > NOW + 3900:
        assert reading is None
        return
    assert reading is not None
    assert 0 <= reading.remaining <= reading.limit <= 1_000_000
    assert 0 <= reading.seconds_to_reset(NOW) <= 3600


@pytest.mark.parametrize(
    ("status", "hdrs", "message", "kind"),
    [
        (
            403,
            {"x-ratelimit-remaining": "0"},
            "API rate limit exceeded for user ID 1.",
            Refusal.PRIMARY,
        ),
        (429, {"x-ratelimit-remaining": "0"}, "", Refusal.PRIMARY),
        (
            403,
            {"x-ratelimit-remaining": "10"},
            "You have exceeded a secondary rate limit.",
            Refusal.SECONDARY,
        ),
        (403, {}, "You have triggered an abuse detection mechanism.", Refusal.SECONDARY),
        (429, {}, "", Refusal.SECONDARY),
        (403, {"retry-after": "30"}, "", Refusal.SECONDARY),
        (
            403,
            {"x-ratelimit-remaining": "10"},
            "Resource not accessible by integration",
            Refusal.FORBIDDEN,
        ),
        (404, {}, "Not Found", None),
        (200, {"x-ratelimit-remaining": "0"}, "", None),
    ],
)
def test_tells_refusals_apart(
    status: int, hdrs: dict[str, str], message: str, kind: Refusal | None
) -> None:
    assert classify_refusal(status, hdrs, message) is kind


def wait(kind: Refusal, hdrs: dict[str, str], attempt: int = 1, scale: float = 1.0) -> float:
    return refusal_wait(
        kind, hdrs, now=NOW, attempt=attempt, rng=random.Random(2), time_scale=scale
    )


def test_retry_after_comes_first() -> None:
    hdrs = {"retry-after": "42", **headers(limit=5000, remaining=0, reset=int(NOW) + 900)}
    assert wait(Refusal.PRIMARY, hdrs) == 42.0


def test_then_the_reset_when_the_budget_is_spent() -> None:
    hdrs = headers(limit=5000, remaining=0, reset=int(NOW) + 900)
    assert wait(Refusal.PRIMARY, hdrs) == 901.0


def test_then_a_minute_growing_exponentially_with_jitter() -> None:
    waits = [wait(Refusal.SECONDARY, {}, attempt) for attempt in range(1, 6)]
    assert waits[0] == 60.0
    assert all(60.0 <= value <= 60.0 * 2 ** (n) for n, value in enumerate(waits))
    assert max(waits) > 120.0


@pytest.mark.parametrize(
    ("hdrs", "beyond"),
    [
        pytest.param(headers(remaining=0, reset=int(NOW) + 3901), NOW + 3901, id="past-drift"),
        pytest.param(headers(remaining=-1, reset=32503680000), 32503680000.0, id="year-3000"),
        pytest.param(headers(remaining=0, reset=int(NOW) + 3900), None, id="within-drift"),
        pytest.param(headers(remaining=1, reset=32503680000), None, id="budget-left"),
        pytest.param(headers(remaining=0), None, id="no-reset"),
        pytest.param(headers(reset=32503680000), None, id="no-remaining"),
        pytest.param(
            {"retry-after": "30", **headers(remaining=0, reset=32503680000)},
            None,
            id="retry-after-first",
        ),
    ],
)
def test_a_reset_beyond_the_window_is_told_apart(
    hdrs: dict[str, str], beyond: float | None
) -> None:
    assert reset_beyond_window(hdrs, NOW) == beyond


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (NOW, "2027-01-15T08:00:00Z"),
        (1e20, "100000000000000000000 (epoch seconds)"),
    ],
)
def test_reset_times_are_written_in_utc(epoch: float, text: str) -> None:
    assert utc_text(epoch) == text


def test_absurd_retry_after_is_ignored_and_time_scale_shrinks_the_minute() -> None:
    assert wait(Refusal.SECONDARY, {"retry-after": "-5"}, scale=60) == 1.0
    assert wait(Refusal.SECONDARY, {"retry-after": "9999999"}, scale=60) == 1.0


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("get", "/repos/octo/hello/issues?page=2", "GET /repos/{owner}/{repo}/issues"),
        ("POST", "/repos/o/r/issues/12/labels", "POST /repos/{owner}/{repo}/issues/{n}/labels"),
        (
            "DELETE",
            "/repos/o/r/issues/12/labels/good%20first",
            "DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}",
        ),
        ("GET", "/repositories/1000/issues", "GET /repositories/{id}/issues"),
        ("GET", "/rate_limit", "GET /rate_limit"),
        ("GET", "/", "GET /"),
    ],
)
def test_endpoint_templates(method: str, path: str, template: str) -> None:
    assert endpoint_template(method, path) == template
