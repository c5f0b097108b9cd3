"""The ``live`` workload's figures from a timeline and states: latency, fair shares, lost."""

from __future__ import annotations

from typing import Any

import pytest

from autoissue.bench._dead import dead_lettered_items
from autoissue.bench._live import summarise
from autoissue.bench._live_figures import (
    Timeline,
    backlog_check,
    fair_shares,
    latency_figures,
    new_issue_check,
    serve_unsettled,
)

A, B = "acme/widgets-1", "acme/widgets-2"


def entry(repo: str, number: int, login: str, at: float) -> dict[str, Any]:
    return {"repo": repo, "number": number, "login": login, "at": at}


def test_the_timeline_keeps_the_reporters_openings_and_serves_labels() -> None:
    raw = {
        "opened": [entry(A, 9, "reporter", 10.0), entry(B, 9, "someone", 11.0)],
        "labelled": [
            entry(A, 9, "serve", 10.5),
            entry(A, 1, "serve", 3.0),
            entry(A, 2, "maintainer", 4.0),
        ],
    }
    timeline = Timeline.read(raw, creator="reporter", labeller="serve")
    assert timeline.opened == {(A, 9): 10.0}
    assert timeline.labelled == {(A, 9): 10.5, (A, 1): 3.0}
    assert timeline.backlog() == {(A, 1): 3.0}


def test_latency_runs_from_opening_to_serves_first_label() -> None:
    opened = {(A, n): float(n) for n in range(1, 101)}
    labelled = {(A, n): n + n / 100 for n in range(1, 100)}  # #100 never labelled
    figures = latency_figures(Timeline(opened, labelled))
    assert figures["labelled"] == 99
    assert figures["p50"] == pytest.approx(0.5)
    assert figures["p95"] == pytest.approx(0.95)
    assert figures["p99"] == pytest.approx(0.99)
    assert figures["max"] == pytest.approx(0.99)
    assert latency_figures(Timeline({}, {})) == {
        "p50": 0.0,
        "p95": 0.0,
        "p99": 0.0,
        "max": 0.0,
        "labelled": 0,
    }


def labelled_at(repo: str, times: list[float], first: int = 1) -> dict[tuple[str, int], float]:
    return {(repo, first + index): at for index, at in enumerate(times)}


def test_fair_shares_are_taken_until_the_first_repository_is_done() -> None:
    # A gets 3 a second from t=0, B 1 a second from t=2; B's backlog ends first, at t=5.
    times = {
        **labelled_at(A, [i / 3 for i in range(30)]),
        **labelled_at(B, [2.0, 3.0, 4.0, 5.0]),
    }
    shares = fair_shares(times, [A, B], window_s=1.0)
    # In [0, 5]: A labelled 16 (t = 0 … 5), B 4: shares 0.8 and 0.2 of 20, over 1/2 each.
    assert shares["by_repo"] == {A: 1.6, B: 0.4}
    assert shares["min_fair_share"] == 0.4
    assert shares["period_s"] == 5.0
    windows = shares["windows"]
    assert (windows["window_s"], windows["count"]) == (1.0, 5)
    assert windows["min"] == 0.0  # [0, 1] and [1, 2]: B had nothing yet
    # From t=2, when B had its first: A 10 (t = 2 … 5), B 4.
    assert shares["once_all_started"] == {"min_fair_share": round(4 * 2 / 14, 3), "after_s": 2.0}


def test_a_repository_never_served_makes_every_share_zero() -> None:
    shares = fair_shares(labelled_at(A, [1.0, 2.0]), [A, B])
    assert shares == {"min_fair_share": 0.0, "by_repo": {A: 0.0, B: 0.0}, "period_s": 0.0}


def test_equal_service_is_a_share_of_one_everywhere() -> None:
    times = {
        **labelled_at(A, [0.1 * i for i in range(50)]),
        **labelled_at(B, [0.1 * i for i in range(50)]),
    }
    shares = fair_shares(times, [A, B], window_s=1.0)
    assert shares["by_repo"] == {A: 1.0, B: 1.0}
    assert shares["windows"]["p50"] == 1.0
    assert shares["once_all_started"]["min_fair_share"] == 1.0


def item(number: int, labels: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "state": "open",
        "is_pull_request": False,
        "locked": False,
        "labels": labels,
        **extra,
    }


def test_the_backlog_check_names_untriaged_eligible_issues_in_every_repository() -> None:
    seeded = [
        {"full_name": A, "issues": [item(1, []), item(2, ["p1"]), item(3, [], state="closed")]},
        {"full_name": B, "issues": [item(1, []), item(2, []), item(3, [], is_pull_request=True)]},
    ]
    final = [
        {"full_name": A, "issues": [item(1, ["bug", "priority:low"]), item(2, ["p1"])]},
        {"full_name": B, "issues": [item(1, []), item(2, [])]},
    ]
    assert backlog_check(seeded, final, dead={(B, 2)}) == {
        "backlog_open": 4,
        "backlog_eligible": 3,
        "backlog_failed": 1,
        "backlog_lost": 1,
    }


def test_new_issues_unlabelled_are_lost_unless_dead_lettered() -> None:
    timeline = Timeline({(A, 7): 1.0, (B, 7): 1.0, (B, 8): 2.0}, {(A, 7): 1.5})
    assert new_issue_check(timeline, dead={(B, 8)}) == {
        "new_issues": 3,
        "new_failed": 1,
        "new_lost": 1,
    }


def test_serve_leaves_unsettled_what_it_did_not_queue_or_finish() -> None:
    def health(enqueued: int, unfinished: int) -> dict[str, Any]:
        worker = {"enqueued": enqueued, "processed": 5, "failed": 1, "nothing_to_do": 2}
        return {"worker": worker, "queue": {"unfinished": unfinished}}

    assert serve_unsettled(health(8, 0), expected=8) == 0
    assert serve_unsettled(health(10, 2), expected=10) == 4  # 2 not settled, 2 still queued
    assert serve_unsettled(health(7, 0), expected=7) == 0  # more settled than queued: none
    assert serve_unsettled(health(8, 0), expected=11) == 3  # 3 never queued at all


def test_dead_letters_name_repository_and_number() -> None:
    keys = [
        "triage:acme/widgets-2#12@2026-01-02T03:04:05Z",
        "autoissue.bench._pooled:CpuBound:acme/widgets#3@x",
        None,
        "odd",
    ]
    assert dead_lettered_items(keys) == {("acme/widgets-2", 12), ("acme/widgets", 3)}


def test_turns_are_summarised_by_the_worst_losses_and_median_latency() -> None:
    def turn(lost: int, p95: float, seconds: float) -> dict[str, Any]:
        return {
            "contender": "autoissue",
            "lost": lost,
            "seconds": seconds,
            "serve_exit": 143,
            "ended": "done",
            "live_latency_s": {"p50": p95 / 2, "p95": p95},
        }

    summary = summarise([turn(0, 1.0, 10.0), {"error": "boom"}, turn(2, 3.0, 20.0)])
    assert summary["lost"] == 2
    assert summary["seconds"] == 15.0
    assert summary["live_latency_s"] == {"p50": 1.0, "p95": 2.0}
    assert (summary["serve_exit"], summary["ended"]) == (143, "done")
    assert (summary["turns"], summary["errors"]) == (2, 1)
    assert summarise([{"contender": "autoissue", "error": "boom"}])["error"] == "boom"
    assert summarise([])["error"] == "not run"
