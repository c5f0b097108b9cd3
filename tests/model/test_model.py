from __future__ import annotations

import json

import msgspec
import pytest

from autoissue.model import (
    AddLabels,
    Issue,
    Plan,
    Priority,
    User,
    decode_issue,
    decode_issue_page,
    decode_plan,
    encode_plan,
    priority_from_labels,
)
from autoissue.model._issue import Label, Milestone
from tests.github._scripted import octokit


def recorded_issue() -> dict[str, object]:
    response: list[dict[str, object]] = octokit("paginate-issues.json")[0]["response"]
    return response[0]


def test_decodes_a_recorded_issue_object() -> None:
    issue = decode_issue(json.dumps(recorded_issue()).encode())
    assert (issue.number, issue.title, issue.state) == (13, "Test issue 13", "open")
    assert issue.body is None
    assert issue.author == "octokit-fixture-user-a"
    assert issue.comments == 42
    assert not issue.is_pull_request
    assert issue.reactions is not None
    assert issue.reactions.total_count == 0


def test_decodes_a_whole_recorded_page() -> None:
    page = decode_issue_page(json.dumps(octokit("paginate-issues.json")[0]["response"]).encode())
    assert [issue.number for issue in page] == [13, 12, 11]


def test_tells_pull_requests_apart_by_their_key() -> None:
    payload = {**recorded_issue(), "pull_request": {"url": "https://x/pulls/13"}}
    assert decode_issue(json.dumps(payload).encode()).is_pull_request


def test_snapshots_are_immutable() -> None:
    issue = Issue(number=1, title="t", state="open", updated_at="2026-01-01T00:00:00Z")
    with pytest.raises(AttributeError):
        issue.title = "changed"  # type: ignore[misc]
    assert issue.author == ""
    assert issue.label_names == frozenset()


def test_label_names_and_reactions_are_read() -> None:
    payload = {
        **recorded_issue(),
        "labels": [{"name": "bug", "color": "f00"}, {"name": "p1"}],
        "reactions": {"total_count": 3, "+1": 2, "-1": 1},
    }
    issue = decode_issue(json.dumps(payload).encode())
    assert issue.label_names == {"bug", "p1"}
    assert issue.reactions is not None
    assert (issue.reactions.plus_one, issue.reactions.minus_one) == (2, 1)


def test_a_malformed_payload_is_a_decode_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_issue(b'{"number": "one"}')
    with pytest.raises(msgspec.ValidationError):
        decode_issue(b'{"title": "no number"}')


def test_null_and_mistyped_fields_of_one_issue_take_their_defaults() -> None:
    payload = {
        "number": "5",
        "title": None,
        "state": 1,
        "labels": "bug",
        "assignees": [{"login": "ann"}, "bo"],
        "user": {"login": None},
        "reactions": [],
        "milestone": {"title": "v1", "number": None},
    }
    issue = decode_issue(json.dumps(payload).encode())
    assert issue == Issue(number=5, assignees=(User("ann"),), milestone=Milestone("v1"))


def test_a_page_keeps_its_usable_items_in_order() -> None:
    items = [{"number": 1, "body": None}, {"number": None}, {"number": 3, "labels": [None]}]
    page = decode_issue_page(json.dumps(items).encode())
    assert page == [Issue(number=1), Issue(number=3)]
    with pytest.raises(msgspec.ValidationError):
        decode_issue_page(b'{"message": "not a list"}')


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["bug"], None),
        (["p0"], Priority.CRITICAL),
        (["Urgent"], Priority.CRITICAL),
        (["priority: high"], Priority.HIGH),
        (["Priority/Medium"], Priority.MEDIUM),
        (["priority-low"], Priority.LOW),
        (["p3", "p1"], Priority.HIGH),
        (["minor", "critical"], Priority.CRITICAL),
        (["important"], Priority.HIGH),
        (["priority : high"], Priority.HIGH),
        (["Priority_Critical"], Priority.CRITICAL),
        (["priority"], None),
        (["prioritylow"], None),
    ],
)
def test_priority_from_label_aliases(labels: list[str], expected: Priority | None) -> None:
    assert priority_from_labels(labels) is expected


def test_priority_labels_and_order() -> None:
    assert Priority.HIGH.label == "priority:high"
    assert sorted([Priority.LOW, Priority.CRITICAL, Priority.MEDIUM])[0] is Priority.CRITICAL


def test_plans_round_trip_through_json_lines() -> None:
    plan = Plan("triage", "o/r", 7, "2026-01-01T00:00:00Z", (AddLabels(("bug", "p")),), ("why",))
    line = encode_plan(plan)
    assert b"\n" not in line
    assert json.loads(line)["actions"] == [{"type": "add_labels", "labels": ["bug", "p"]}]
    assert decode_plan(line) == plan
    assert decode_plan(line.decode()) == plan
    assert plan.labels_to_add == {"bug", "p"}


def test_label_struct_defaults() -> None:
    assert Label("x") == Label(name="x", color="", description=None)
