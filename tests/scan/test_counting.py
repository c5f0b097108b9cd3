"""Write-back's calls are counted by running write-back itself, on a fake GitHub."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

from autoissue.engine._writeback import DONE
from autoissue.github import Request, endpoint_template
from autoissue.model import AddLabels, Close, Comment, Issue, OpenPullRequest, Plan, RemoveLabels
from autoissue.model._issue import Label
from autoissue.scan._counting import BASE_URL, WriteBackCounter, _FakeGitHub, writeback_calls
from autoissue.state import PENDING, LedgerEntry

UPDATED = "2026-01-01T00:00:00Z"
# The forecast's endpoint keys, as they were when the forecast modelled write-back by hand.
ADD_LABELS = "POST /repos/{owner}/{repo}/issues/{n}/labels"
REMOVE_LABEL = "DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}"
LIST_COMMENTS = "GET /repos/{owner}/{repo}/issues/{n}/comments"
CREATE_COMMENT = "POST /repos/{owner}/{repo}/issues/{n}/comments"
USER = "GET /user"
FIND_PULL = "GET /repos/{owner}/{repo}/pulls"
CREATE_PULL = "POST /repos/{owner}/{repo}/pulls"
REPOSITORY = "GET /repos/{owner}/{repo}"
CLOSE_ISSUE = "PATCH /repos/{owner}/{repo}/issues/{n}"


def issue(*labels: str, comments: int = 0) -> Issue:
    return Issue(
        number=7,
        title="t",
        state="open",
        updated_at=UPDATED,
        labels=tuple(Label(name) for name in labels),
        comments=comments,
    )


def plan(*actions: object) -> Plan:
    return Plan("p", "o/r", 7, UPDATED, tuple(actions))  # type: ignore[arg-type]


def prior(*actions: str, outcome: str = DONE, updated_at: str = UPDATED) -> LedgerEntry:
    return LedgerEntry("o/r#7", "p", updated_at, outcome, actions)


def sent(counter: WriteBackCounter) -> list[str]:
    """The latest plan's requests as write-back sent them: method and path."""
    return [f"{r.method} {urlsplit(r.url).path}" for r in counter.transport.requests]


async def test_add_labels_is_one_post_and_nothing_when_empty() -> None:
    assert await writeback_calls(plan(AddLabels(("bug", "p1"))), issue()) == {ADD_LABELS: 1}
    assert await writeback_calls(plan(AddLabels(())), issue()) == Counter()


async def test_a_comment_on_an_issue_with_250_comments_lists_three_pages_then_posts() -> None:
    counter = WriteBackCounter()
    calls = await counter.calls(plan(Comment("hi")), issue(comments=250))
    assert calls == {LIST_COMMENTS: 3, USER: 1, CREATE_COMMENT: 1}
    pages = [r.url for r in counter.transport.requests if r.method == "GET" and "comments" in r.url]
    assert [urlsplit(url).query for url in pages] == [
        "per_page=100",
        "per_page=100&page=2",
        "per_page=100&page=3",
    ]
    # An issue with no comments yet is still looked through once for the slot's comment.
    assert await counter.calls(plan(Comment("hi")), issue()) == {
        LIST_COMMENTS: 1,
        CREATE_COMMENT: 1,
    }


async def test_a_runs_first_comment_alone_reads_the_login() -> None:
    counter = WriteBackCounter()
    first = await counter.calls(plan(AddLabels(("x",)), Comment("hi")), issue())
    second = await counter.calls(plan(Comment("hi", slot="other")), issue())
    assert first[USER] == 1
    assert USER not in second
    assert sent(counter) == [
        "GET /repos/o/r/issues/7/comments",
        "POST /repos/o/r/issues/7/comments",
    ]
    body = counter.transport.requests[-1].json()["body"]
    assert "<!-- autoissue processor=p issue=7 slot=other plan=" in body  # write-back's own


async def test_a_pull_request_without_base_reads_the_repository_and_labels_the_pull() -> None:
    counter = WriteBackCounter()
    based = OpenPullRequest(head="b", title="t", body="", base="main")
    assert await counter.calls(plan(based), issue()) == {FIND_PULL: 1, CREATE_PULL: 1}
    unbased = OpenPullRequest(head="b", title="t", body="", labels=("bot",))
    calls = await counter.calls(plan(unbased), issue())
    assert calls == {FIND_PULL: 1, REPOSITORY: 1, CREATE_PULL: 1, ADD_LABELS: 1}
    assert sent(counter) == [
        "GET /repos/o/r/pulls",
        "GET /repos/o/r",
        "POST /repos/o/r/pulls",
        "POST /repos/o/r/issues/1/labels",  # the pull request's number, not the issue's
    ]
    assert counter.transport.requests[2].json()["base"] == "main"  # the default branch


async def test_remove_labels_removes_only_what_the_ledger_says_the_tool_added() -> None:
    # The old hand model counted the labels the issue carries (2 here: stale and bug). A run
    # removes the labels its ledger says the tool added, carried or not, and no others: the
    # user's "bug" is never touched, and "gone" costs a DELETE that GitHub answers 404.
    counter = WriteBackCounter()
    action = RemoveLabels(("stale", "bug", "gone"))
    owned = prior("0:AddLabels", "label:gone", "label:stale", updated_at="2025-01-01T00:00:00Z")
    assert await counter.calls(plan(action), issue("stale", "bug"), owned) == {REMOVE_LABEL: 2}
    assert sorted(sent(counter)) == [
        "DELETE /repos/o/r/issues/7/labels/gone",
        "DELETE /repos/o/r/issues/7/labels/stale",
    ]
    # No ledger entry: the tool added nothing, so nothing is removed (the old model said 2).
    assert await counter.calls(plan(action), issue("stale", "bug")) == Counter()
    # A label added earlier in the same plan is the tool's own.
    both = plan(AddLabels(("stale",)), action)
    assert await counter.calls(both, issue()) == {ADD_LABELS: 1, REMOVE_LABEL: 1}


async def test_an_attempt_cut_short_is_resumed_after_its_ledger_steps() -> None:
    # A crash after the labels: the run applies only the rest, and so the scan counts only it.
    steps = plan(AddLabels(("x",)), Close())
    cut_short = prior("0:AddLabels", "label:x", outcome=PENDING)
    assert await writeback_calls(steps, issue(), cut_short) == {CLOSE_ISSUE: 1}
    assert await writeback_calls(steps, issue()) == {ADD_LABELS: 1, CLOSE_ISSUE: 1}


async def test_every_request_write_back_sends_is_counted_and_answered() -> None:
    counter = WriteBackCounter()
    pull = OpenPullRequest(head="b", title="t", body="", labels=("bot",))
    every = plan(AddLabels(("x",)), Comment("hi"), pull, RemoveLabels(("x",)), Close())
    calls = await counter.calls(every, issue(comments=101))
    logged = Counter(
        endpoint_template(r.method, urlsplit(r.url).path) for r in counter.transport.requests
    )
    assert calls == logged  # nothing write-back sent escaped the count
    assert calls.total() == 11
    replay = _FakeGitHub()
    replay.comments = 101
    assert all(replay.answer(request).status < 300 for request in counter.transport.requests)


def test_a_request_write_back_was_not_known_to_make_is_refused_loudly() -> None:
    edit = Request("PATCH", f"{BASE_URL}/repos/o/r/issues/comments/5", b"{}", {})
    response = _FakeGitHub().answer(edit)
    assert response.status == 404
    assert b"does not answer PATCH /repos/{owner}/{repo}/issues/comments/{n}" in response.body


async def test_counting_never_waits_whatever_github_would_pace() -> None:
    counter = WriteBackCounter()
    start = counter.clock.time()
    for _ in range(300):  # 300 comments: far beyond GitHub's 80 a minute
        await counter.calls(plan(Comment("hi"), Close()), issue())
    assert counter.clock.slept == []
    assert counter.clock.time() == start
    assert "Authorization" not in counter.transport.requests[-1].headers  # no token to leak
    assert repr(counter) == "<WriteBackCounter <FakeTransport requests=3 closed=0>>"
