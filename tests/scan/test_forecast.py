from __future__ import annotations

from collections import Counter

import pytest

from autoissue.github import GovernorSettings, RateLimitInfo
from autoissue.scan import duration
from autoissue.scan._forecast import (
    ADD_LABELS,
    CLOSE_ISSUE,
    CREATE_COMMENT,
    LIST_COMMENTS,
    LISTING,
    PROCESSOR_READS,
    RATE_LIMIT,
    REPOSITORY,
    USER,
    Budget,
    CallTally,
    Measured,
    forecast,
    tally_calls,
)

NOW = 1_000_000.0


def tally(**counts: int) -> CallTally:
    names = {
        "adds": ADD_LABELS,
        "comments": CREATE_COMMENT,
        "lists": LIST_COMMENTS,
        "pages": LISTING,
        "closes": CLOSE_ISSUE,
    }
    return CallTally({names[key]: n for key, n in counts.items()})


def limited(remaining: int = 5_000, *, reset_in: float = 3_600, **settings: object) -> Budget:
    core = RateLimitInfo(5_000, remaining, 5_000 - remaining, NOW + reset_in)
    return Budget(limited=True, settings=GovernorSettings(**settings), core=core)  # type: ignore[arg-type]


def bound(result: object, name: str) -> float:
    return next(b.seconds for b in result.bounds if b.name == name)  # type: ignore[attr-defined]


# --- what a run costs: write-back's calls are counted by running it (see test_counting) ---


def test_the_run_adds_warm_up_repository_listing_and_reads_to_write_backs_calls() -> None:
    # The login lookup of the run's first comment is write-back's own call: it comes with the
    # writes (the hand model used to add it here).
    first = Counter({LIST_COMMENTS: 1, USER: 1, CREATE_COMMENT: 1})
    writes = [first] + [Counter({LIST_COMMENTS: 1, CREATE_COMMENT: 1})] * 2
    calls = tally_calls(listing=4, processor_reads=2, writes=writes)
    assert dict(calls.counts) == {
        RATE_LIMIT: 1,
        REPOSITORY: 1,
        LISTING: 4,
        PROCESSOR_READS: 2,
        LIST_COMMENTS: 3,
        CREATE_COMMENT: 3,
        USER: 1,
    }
    assert (calls.total, calls.mutations, calls.content) == (15, 3, 3)
    bare = tally_calls(listing=1, processor_reads=0, writes=[], repository=False)
    assert dict(bare.counts) == {RATE_LIMIT: 1, LISTING: 1}


# --- how long the limits let a run take ---


def test_mutation_spacing_binds_a_write_heavy_run_on_github() -> None:
    result = forecast(tally(pages=30, adds=2_970), limited(), Measured(listing_s=3), now=NOW)
    assert bound(result, "mutation spacing") == 2_969
    assert result.seconds == 2_969
    assert result.binding == "mutation spacing: 2,970 writes ≥ 49 min"
    assert result.limited
    assert result.budget is not None
    assert result.budget.remaining == 5_000


def test_a_budget_too_small_waits_for_as_many_resets_as_needed() -> None:
    calls = tally(pages=12_000)
    result = forecast(calls, limited(remaining=1_100, reset_in=600), Measured(), now=NOW)
    # 1,000 usable now (100 kept in reserve), then 4,900 a window: two more resets.
    assert bound(result, "primary budget") == 600 + 3_600 * 2
    assert result.binding.startswith("primary budget: needs 3 resets")
    one = forecast(tally(pages=1_500), limited(remaining=1_100, reset_in=600), Measured(), now=NOW)
    assert bound(one, "primary budget") == 600
    assert "needs 1 reset:" in one.binding


def test_a_budget_that_suffices_costs_no_wait_in_bursts_and_paces_evenly_when_asked() -> None:
    calls = tally(pages=100)
    assert bound(forecast(calls, limited(), Measured(), now=NOW), "primary budget") == 0
    even = forecast(calls, limited(reset_in=4_900, pacing="even"), Measured(), now=NOW)
    assert bound(even, "primary budget") == pytest.approx(100)


def test_an_exhausted_budget_waits_for_the_reset() -> None:
    result = forecast(tally(pages=1), limited(remaining=0, reset_in=90), Measured(), now=NOW)
    assert bound(result, "primary budget") == 90
    even = forecast(tally(pages=1), limited(remaining=0, pacing="even"), Measured(), now=NOW)
    assert bound(even, "primary budget") == 3_600


def test_content_creation_is_held_to_its_hourly_and_per_minute_budgets() -> None:
    calls = tally(comments=1_000)
    result = forecast(calls, limited(mutation_spacing_s=0), Measured(), now=NOW)
    assert bound(result, "content creation") == 2 * 3_600  # 450 an hour: 1,000 spans 3 hours
    assert result.binding == "content creation: 1,000 comments and pull requests ≥ 2 h 00 min"
    minute = forecast(tally(comments=200), limited(), Measured(), now=NOW)
    assert bound(minute, "content creation") == 2 * 60  # 72 a minute


def test_points_per_minute_bind_the_busiest_endpoint() -> None:
    settings = {"mutation_spacing_s": 0, "points_per_minute": 100}
    result = forecast(tally(lists=1_000, adds=10), limited(**settings), Measured(), now=NOW)
    assert bound(result, "points per minute") == 9 * 60  # 100 reads a minute
    assert result.binding.startswith(f"points per minute: {LIST_COMMENTS}: 1,000 calls")
    writes = forecast(tally(adds=101), limited(**settings), Measured(), now=NOW)
    assert bound(writes, "points per minute") == 5 * 60  # a write costs 5 points: 20 a minute


def test_time_scale_compresses_every_window() -> None:
    result = forecast(tally(adds=101), limited(time_scale=10), Measured(), now=NOW)
    assert bound(result, "mutation spacing") == pytest.approx(10)


def test_an_unknown_budget_assumes_githubs_documented_one() -> None:
    budget = Budget(limited=True)
    result = forecast(tally(pages=6_000), budget, Measured(), now=NOW)
    assert bound(result, "primary budget") == 3_600
    assert result.budget is None


def test_an_unlimited_server_is_estimated_from_measured_latency() -> None:
    budget = Budget(limited=False, max_concurrent=10)
    measured = Measured(listing_s=2.0, latency_s=0.05)
    result = forecast(tally(pages=100, adds=1_000), budget, measured, now=NOW)
    assert [b.name for b in result.bounds] == ["listing", "concurrency"]
    assert result.seconds == pytest.approx(1_000 * 0.05 / 10)
    assert result.binding.startswith("concurrency: 1,000 calls, 10 at once, 50 ms each")
    assert "no rate limits" in result.note
    assert result.budget is None
    fast = forecast(tally(pages=100, adds=10), budget, measured, now=NOW)
    assert fast.binding == "listing: 100 pages, measured 2.0 s"


def test_forecast_to_dict_is_plain_data() -> None:
    data = forecast(tally(pages=2, adds=3), limited(), Measured(), now=NOW).to_dict()
    assert data["calls"] == 5
    assert (data["reads"], data["writes"], data["content_creations"]) == (2, 3, 0)
    assert data["by_endpoint"] == {ADD_LABELS: 3, LISTING: 2}
    assert data["budget"] == {"limit": 5_000, "remaining": 5_000, "reset": NOW + 3_600}
    assert data["binding"].startswith("mutation spacing")
    assert {b["name"] for b in data["bounds"]} >= {"primary budget", "content creation"}
    unlimited = forecast(tally(pages=1), Budget(limited=False), Measured(), now=NOW).to_dict()
    assert unlimited["budget"] is None


def test_points_with_no_calls_at_all() -> None:
    result = forecast(CallTally(), limited(), Measured(), now=NOW)
    assert result.seconds == 0
    assert "no calls" in next(b.detail for b in result.bounds if b.name == "points per minute")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.25, "250 ms"), (42.0, "42.0 s"), (2_940, "49 min"), (7_500, "2 h 05 min")],
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert duration(seconds) == text
