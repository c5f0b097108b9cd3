from __future__ import annotations

from typing import Any

import msgspec
import pytest

from autoissue import ConfigurationError
from autoissue._clock import FakeClock
from autoissue.emulator import EmulatorConfig, run_in_thread
from autoissue.github import GitHubClient
from autoissue.model import AddLabels, Close, Comment, Issue, Priority, RemoveLabels
from autoissue.processors import ProcessContext, ReadOnlyGitHub, get_processor
from autoissue.processors._stale import STALE_SIGNATURE, Stale, StaleConfig
from tests.processors._fakes import FakeClient, context_for, make_issue

DAY = 86_400
NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
UPDATED = "2026-12-01T00:00:00Z"  # 45.33 days before NOW
COMMENTS = "/repos/o/r/issues/7/comments"


def warning(updated_at: str = UPDATED) -> dict[str, Any]:
    return {"body": f"Stale.\n\n{STALE_SIGNATURE}", "updated_at": updated_at}


def human(updated_at: str) -> dict[str, Any]:
    return {"body": "Still happening on 3.1", "updated_at": updated_at}


def stale(clock: FakeClock | None = None, **options: Any) -> Stale:
    return Stale(StaleConfig(**options), clock=clock or FakeClock(NOW))


def issue(**fields: Any) -> Issue:
    return make_issue(7, **{"updated_at": UPDATED, **fields})


async def test_an_inactive_issue_is_marked_stale_with_a_warning() -> None:
    client = FakeClient()
    plan = await stale(days_before_stale=30).process(issue(), context_for(client))
    label, comment = plan.actions
    assert label == AddLabels(("stale",))
    assert isinstance(comment, Comment)
    assert comment.slot == "stale"
    assert STALE_SIGNATURE in comment.body
    assert "no activity for 30 days" in comment.body
    assert "closed in 7 days" in comment.body
    assert plan.reasons == ("no activity for 45.3 days: marked stale",)
    assert client.gets == []  # marking needs nothing but the snapshot


async def test_an_active_issue_is_left_alone_and_not_selected() -> None:
    processor = stale()  # 60 days by default
    plan = await processor.process(issue(), context_for(FakeClient()))
    assert plan.actions == ()
    assert plan.reasons == ("active: last updated 45.3 days ago",)
    assert processor.select(issue()) is None


async def test_the_clock_decides_the_boundary() -> None:
    updated = 1_796_083_200  # UPDATED in epoch seconds
    clock = FakeClock(updated + 50 * DAY - 1)
    processor = stale(clock, days_before_stale=50)
    assert processor.select(issue()) is None
    clock.advance(1)
    assert processor.select(issue()) is Priority.LOW
    assert len((await processor.process(issue(), context_for(FakeClient()))).actions) == 2


async def test_a_marked_issue_nobody_answered_is_closed() -> None:
    client = FakeClient(answers={COMMENTS: [human("2026-11-20T00:00:00Z"), warning()]})
    plan = await stale().process(issue(labels=("stale",)), context_for(client))
    comment, close = plan.actions
    assert isinstance(comment, Comment)
    assert comment.slot == "stale-close"
    assert "Closed after 7 more days without activity" in comment.body
    assert close == Close("not_planned")
    assert plan.reasons == ("no activity for 45.3 days since marked stale: closed",)
    # One read: the comments changed since the issue's last update, less the grace period.
    assert client.gets == [(COMMENTS, {"since": "2026-11-30T23:55:00Z", "per_page": "100"})]


async def test_a_recently_marked_issue_waits() -> None:
    clock = FakeClock(NOW)
    client = FakeClient(answers={COMMENTS: [warning()]})
    processor = stale(clock, days_before_close=60)
    plan = await processor.process(issue(labels=("stale",)), context_for(client))
    assert plan.actions == ()
    assert plan.reasons == ("marked stale 45.3 days ago: waiting",)
    assert processor.select(issue(labels=("stale",))) is Priority.LOW


async def test_activity_after_the_warning_removes_the_mark() -> None:
    answers = {COMMENTS: [warning("2026-11-30T23:58:00Z"), human(UPDATED)]}
    client = FakeClient(answers=answers)
    plan = await stale().process(issue(labels=("Stale",)), context_for(client))
    assert plan.actions == (RemoveLabels(("Stale",)),)
    assert plan.reasons == ("updated since it was marked stale",)


async def test_a_label_without_a_warning_of_ours_is_never_closed() -> None:
    # Someone added the label by hand: write-back removes only labels this tool added.
    client = FakeClient(answers={COMMENTS: []})
    plan = await stale().process(issue(labels=("stale",)), context_for(client))
    assert plan.actions == (RemoveLabels(("stale",)),)


async def test_an_unreadable_comment_listing_counts_as_activity() -> None:
    client = FakeClient(answers={COMMENTS: {"message": "odd"}})
    plan = await stale().process(issue(labels=("stale",)), context_for(client))
    assert plan.actions == (RemoveLabels(("stale",)),)


async def test_without_removal_on_update_it_closes_by_time_alone() -> None:
    client = FakeClient()
    processor = stale(remove_stale_when_updated=False, close_reason="completed")
    plan = await processor.process(issue(labels=("stale",)), context_for(client))
    assert plan.actions[-1] == Close("completed")
    assert client.gets == []


async def test_none_disables_marking_and_closing() -> None:
    client = FakeClient(answers={COMMENTS: [warning()]})
    processor = stale(days_before_stale=None, days_before_close=None)
    assert repr(processor) == "<Stale stale=∞d close=∞d>"
    assert (await processor.process(issue(), context_for(client))).actions == ()
    assert (await processor.process(issue(labels=("stale",)), context_for(client))).actions == ()
    assert "any activity removes the mark" in processor.config.warning


@pytest.mark.parametrize(
    ("options", "fields", "reason"),
    [
        ({}, {"labels": ("Pinned",)}, "has an exempt label"),
        ({}, {"labels": ("security",)}, "has an exempt label"),
        ({"exempt_labels": ["keep"]}, {"labels": ("KEEP",)}, "has an exempt label"),
        ({"exempt_all_assignees": True}, {"assignees": ("bob",)}, "is assigned"),
        ({"exempt_assignees": ["Alice"]}, {"assignees": ("alice",)}, "has an exempt assignee"),
        ({"exempt_all_milestones": True}, {"milestone": "v2"}, "has a milestone"),
        ({"exempt_milestones": ["V2"]}, {"milestone": "v2"}, "has an exempt milestone"),
        ({"only_labels": ["bug"]}, {"labels": ("question",)}, "lacks a label of only_labels"),
        ({}, {"pull": True}, "a pull request"),
        ({}, {"state": "closed"}, "not open"),
    ],
)
async def test_exempt_issues_are_left_alone(
    options: dict[str, Any], fields: dict[str, Any], reason: str
) -> None:
    processor = stale(days_before_stale=1, **options)
    subject = issue(**fields)
    assert processor.exemption(subject) == reason
    assert processor.select(subject) is None
    plan = await processor.process(subject, context_for(FakeClient()))
    assert (plan.actions, plan.reasons) == ((), (reason,))


@pytest.mark.parametrize(
    ("options", "fields"),
    [
        ({"exempt_assignees": ["alice"]}, {"assignees": ("bob",)}),
        ({"exempt_milestones": ["v3"]}, {"milestone": "v2"}),
        ({"only_labels": ["bug"]}, {"labels": ("bug", "ui")}),
    ],
)
def test_near_misses_are_not_exempt(options: dict[str, Any], fields: dict[str, Any]) -> None:
    processor = stale(days_before_stale=1, **options)
    assert processor.exemption(issue(**fields)) == ""
    assert processor.select(issue(**fields)) is Priority.LOW


async def test_an_unreadable_update_time_plans_nothing() -> None:
    processor = stale(days_before_stale=1)
    broken = issue(updated_at="yesterday")
    assert processor.select(broken) is Priority.LOW
    plan = await processor.process(broken, context_for(FakeClient()))
    assert plan.reasons == ("updated_at unreadable",)


async def test_a_time_without_a_zone_is_utc() -> None:
    plan = await stale(days_before_stale=45.33).process(
        issue(updated_at="2026-12-01T00:00:00"), context_for(FakeClient())
    )
    assert len(plan.actions) == 2


async def test_custom_messages_replace_the_defaults() -> None:
    processor = stale(days_before_stale=1, stale_message="Ping?", close_message="Bye.")
    plan = await processor.process(issue(), context_for(FakeClient()))
    assert plan.actions[1] == Comment(f"Ping?\n\n{STALE_SIGNATURE}", "stale")
    assert processor.config.farewell == "Bye."


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"days_before_stale": -1}, "days_before_stale"),
        ({"days_before_close": float("inf")}, "days_before_close"),
        ({"stale_label": " "}, "stale_label"),
        ({"close_reason": "wontfix"}, "close_reason"),
        ({"mark_grace_seconds": -5}, "mark_grace_seconds"),
        ({"exempt_labels": "pinned"}, "list of names"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        StaleConfig(**options)


def test_the_registry_builds_it_with_options_and_a_clock() -> None:
    clock = FakeClock(NOW)
    processor = get_processor("stale", days_before_stale=10, exempt_labels=("keep",), clock=clock)
    assert isinstance(processor, Stale)
    assert processor.clock is clock
    assert processor.config.exempt_labels == frozenset({"keep"})
    with pytest.raises(ConfigurationError, match="days_before_stale"):
        get_processor("stale", days_before_stale=-3)


async def test_marks_closes_and_unmarks_against_the_emulator() -> None:
    clock = FakeClock(NOW)  # the emulator and the processor share one clock
    config = EmulatorConfig(repo="acme/widgets", issues=40, seed=5)
    with run_in_thread(config, clock=clock) as emulator:
        # The client's pacing between writes sleeps on the fake clock too: no real waiting.
        client = GitHubClient(base_url=emulator.base_url, token="t0k3n", clock=clock)
        async with client:
            context = ProcessContext(repo="acme/widgets", github=ReadOnlyGitHub(client))
            processor = stale(clock, days_before_stale=30, exempt_labels=())
            number = await first_candidate(context, processor)
            path = f"/repos/acme/widgets/issues/{number}"

            async def step() -> tuple[Any, ...]:
                snapshot = msgspec.convert(await context.github.get(path), Issue)
                return (await processor.process(snapshot, context)).actions

            label, warning_comment = await step()
            assert label == AddLabels(("stale",))
            # What write-back does with that plan: the label, then the comment.
            await client.request("POST", path + "/labels", json={"labels": ["stale"]})
            await client.request("POST", path + "/comments", json={"body": warning_comment.body})
            clock.advance(DAY)
            assert await step() == ()  # marked a day ago: waiting
            clock.advance(7 * DAY)
            assert (await step())[-1] == Close("not_planned")
            await client.request("POST", path + "/comments", json={"body": "Still broken!"})
            assert await step() == (RemoveLabels(("stale",)),)


async def first_candidate(context: ProcessContext, processor: Stale) -> int:
    async for page in context.github.issue_pages(context.repo):
        for candidate in page:
            if processor.select(candidate) is not None and not candidate.locked:
                return candidate.number
    raise AssertionError("no open issue in the emulator")
