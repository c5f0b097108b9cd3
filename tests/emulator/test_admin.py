"""The admin API of shared/EMULATOR.md."""

from __future__ import annotations

from autoissue.emulator import Emulator, FakeClock
from autoissue.emulator._stats import Stats

from .conftest import Api, Start

REPO = "/repos/acme/widgets"
ISSUE = "/repos/{owner}/{repo}/issues/{n}"


async def test_state_has_the_documented_shape(emulator: Emulator, api: Api) -> None:
    status, _, state = await api("GET", f"{emulator.base_url}/_emulator/state")
    assert status == 200
    repo = state["repos"][0]
    assert repo["full_name"] == "acme/widgets"
    assert repo["clone_url"].endswith("widgets.git")
    assert len(repo["issues"]) == 120
    issue = repo["issues"][0]
    assert set(issue) == {
        "number",
        "title",
        "body",
        "state",
        "locked",
        "is_pull_request",
        "labels",
        "updated_at",
        "comments",
    }
    with_comments = next(item for item in repo["issues"] if item["comments"])
    assert set(with_comments["comments"][0]) == {"id", "user", "body"}
    assert {pull["number"] for pull in repo["pulls"]} == {
        item["number"] for item in repo["issues"] if item["is_pull_request"]
    }
    assert state == emulator.state()


async def test_stats_count_routes_and_statuses(emulator: Emulator, api: Api) -> None:
    await api("GET", f"{emulator.base_url}{REPO}/issues")
    await api("GET", f"{emulator.base_url}{REPO}/issues/1")
    await api("GET", f"{emulator.base_url}{REPO}/issues/999")
    _, _, stats = await api("GET", f"{emulator.base_url}/_emulator/stats")
    assert stats["requests_total"] == 3
    assert stats["requests"]["GET /repos/{owner}/{repo}/issues/{n}"] == {"200": 1, "404": 1}
    assert stats["requests"]["GET /repos/{owner}/{repo}/issues"] == {"200": 1}
    counters = ("rate_limit_violations", "duplicate_writes", "redundant_writes", "faults_injected")
    assert all(key in stats for key in (*counters, "in_flight_max"))
    assert stats["in_flight_max"] == 1


async def test_config_changes_the_model_live(start: Start, api: Api) -> None:
    clock = FakeClock()
    emulator = await start(clock=clock)
    url = f"{emulator.base_url}/_emulator/config"
    status, _, settings = await api("POST", url, json={"latency_ms": 50, "capacity": 10})
    assert (status, settings) == (200, {"latency_ms": 50, "capacity": 10, "faults": 0.0})
    await api("GET", f"{emulator.base_url}{REPO}/issues/1")
    assert len(clock.slept) == 1
    for bad in (
        {"faults": 2},
        {"capacity": -1},
        {"latency_ms": "x"},
        {"colour": 1},
        {"capacity": True},
    ):
        status, _, body = await api("POST", url, json=bad)
        assert status == 422, bad
        assert "invalid setting" in body["message"]
    status, _, _ = await api("POST", url, json=[])
    assert status == 400


async def test_human_edit_bumps_updated_at(start: Start, api: Api) -> None:
    emulator = await start(clock=FakeClock(start=1_900_000_000))
    url = f"{emulator.base_url}/_emulator/issues/acme/widgets/9"
    status, _, issue = await api("POST", url, json={"title": "Edited", "labels": ["urgent"]})
    assert status == 200
    assert issue["title"] == "Edited"
    assert issue["updated_at"] == "2030-03-17T17:46:40Z"
    _, _, since = await api(
        "GET", f"{emulator.base_url}{REPO}/issues?state=all&since=2030-03-17T17:46:40Z"
    )
    assert [item["number"] for item in since] == [9]
    status, _, _ = await api("POST", f"{emulator.base_url}/_emulator/issues/acme/other/9", json={})
    assert status == 404
    assert emulator.stats()["requests_total"] == 1  # admin calls are not counted


async def test_reset_restores_the_seeded_state(emulator: Emulator, api: Api) -> None:
    before = emulator.state()
    await api("POST", f"{emulator.base_url}{REPO}/issues/2/labels", json=["zzz"])
    await api("POST", f"{emulator.base_url}{REPO}/issues/2/comments", json={"body": "hello"})
    assert emulator.state() != before
    status, _, body = await api("POST", f"{emulator.base_url}/_emulator/reset")
    assert (status, body) == (200, {"reset": True, "issues": 120})
    assert emulator.state() == before
    assert emulator.stats()["requests_total"] == 0


async def _redundant(emulator: Emulator, api: Api) -> int:
    _, _, stats = await api("GET", f"{emulator.base_url}/_emulator/stats")
    count: int = stats["redundant_writes"]
    return count


async def test_labels_added_again_are_redundant_writes_until_reset(
    emulator: Emulator, api: Api
) -> None:
    url = f"{emulator.base_url}{REPO}/issues/4/labels"
    status, _, _ = await api("POST", url, json=["triaged", "p9"])
    assert status == 200
    assert await _redundant(emulator, api) == 0  # a first add changes the issue
    await api("POST", url, json={"labels": ["p9", "TRIAGED"]})  # again, in any case and order
    assert await _redundant(emulator, api) == 1
    await api("POST", url, json=["triaged", "new"])  # one label of them is new: a change
    assert await _redundant(emulator, api) == 1
    await api("POST", f"{emulator.base_url}/_emulator/reset")
    assert await _redundant(emulator, api) == 0


async def test_writes_that_set_what_is_already_there_are_redundant(
    emulator: Emulator, api: Api
) -> None:
    issue = f"{emulator.base_url}{REPO}/issues/7"
    _, _, before = await api("GET", issue)
    await api("PUT", f"{issue}/labels", json=["a", "b"])
    await api("PUT", f"{issue}/labels", json=["b", "a"])  # the same set
    await api("PATCH", issue, json={"title": before["title"], "labels": ["a", "b"]})
    await api("PATCH", issue, json={"state": "closed"})
    await api("PATCH", issue, json={"state": "closed"})
    await api("DELETE", f"{issue}/labels")
    await api("DELETE", f"{issue}/labels")  # nothing left to remove
    assert await _redundant(emulator, api) == 4
    _, _, comment = await api("POST", f"{issue}/comments", json={"body": "Seen"})
    edit = f"{emulator.base_url}{REPO}/issues/comments/{comment['id']}"
    await api("PATCH", edit, json={"body": "Seen, and fixed"})
    await api("PATCH", edit, json={"body": "Seen, and fixed"})
    assert await _redundant(emulator, api) == 5
    # A person's edit through the admin API is nobody's redundant write.
    await api("POST", f"{emulator.base_url}/_emulator/issues/acme/widgets/7", json={})
    stats = emulator.stats()
    assert (stats["redundant_writes"], stats["duplicate_writes"]) == (5, 0)


def test_an_issues_latency_runs_from_the_first_request_naming_it_to_its_labels() -> None:
    ticks = iter([0.0, 0.1, 0.5, 1.0, 1.2, 9.0, 2.0, 2.4])
    stats = Stats(now=lambda: next(ticks))
    labels, comments = f"POST {ISSUE}/labels", f"GET {ISSUE}/comments"
    stats.started("acme/widgets#1")  # 0.0: its comments read
    stats.started("acme/widgets#2")  # 0.1
    stats.finished(comments, "200", "acme/widgets#1")
    stats.started("acme/widgets#1")  # 0.5: labels sent
    stats.finished(labels, "200", "acme/widgets#1")  # 1.0: landed, 1 s after first named
    stats.started("acme/widgets#1")  # 1.2: labels again: not its first landing
    stats.finished(labels, "200", "acme/widgets#1")  # 9.0
    stats.started("acme/widgets#2")  # 2.0
    stats.finished(labels, "502", "acme/widgets#2")  # a failed write is no landing
    stats.finished(f"PUT {ISSUE}/labels", "200", "acme/widgets#2")  # 2.4
    snapshot = stats.snapshot()
    assert snapshot["issues_labelled"] == 2
    assert snapshot["issue_latency_ms"] == {"p50": 1000.0, "p95": 2300.0, "p99": 2300.0}


async def test_the_stats_time_every_issue_labelled_through_the_api(
    emulator: Emulator, api: Api
) -> None:
    await api("GET", f"{emulator.base_url}{REPO}/issues/3/comments")
    await api("POST", f"{emulator.base_url}{REPO}/issues/3/labels", json={"labels": ["bug"]})
    await api("POST", f"{emulator.base_url}{REPO}/issues/99999/labels", json={"labels": ["x"]})
    _, _, stats = await api("GET", f"{emulator.base_url}/_emulator/stats")
    assert stats["issues_labelled"] == 1
    assert stats["issue_latency_ms"]["p50"] > 0
