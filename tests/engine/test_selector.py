from __future__ import annotations

import pytest

from autoissue.engine import Selector
from autoissue.engine._selector import Decision
from autoissue.model import Issue, Priority
from autoissue.model._issue import Label, PullRequestRef
from autoissue.processors import Triage


def make(**fields: object) -> Issue:
    base: dict[str, object] = {
        "number": 1,
        "title": "t",
        "state": "open",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    return Issue(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"pull_request": PullRequestRef("u")}, "pull request"),
        ({"state": "closed"}, "closed"),
        ({"locked": True}, "locked"),
        ({"labels": (Label("bug"), Label("wontfix"))}, "label wontfix"),
        ({"labels": (Label("Duplicate"),)}, "label Duplicate"),
    ],
)
def test_skips_with_a_reason(fields: dict[str, object], reason: str) -> None:
    decision = Selector(Triage()).decide(make(**fields))
    assert not decision.admitted
    assert decision.reason == reason


def test_admits_with_the_processors_priority() -> None:
    decision = Selector(Triage()).decide(make(labels=(Label("p1"),)))
    assert decision == Decision(Priority.HIGH)
    assert decision.admitted


def test_custom_skip_labels_replace_the_defaults() -> None:
    selector = Selector(Triage(), skip_labels=frozenset({"On-Hold"}))
    assert selector.decide(make(labels=(Label("on-hold"),))).reason == "label on-hold"
    assert selector.decide(make(labels=(Label("wontfix"),))).admitted
    assert "on-hold" in repr(selector)


class Declines(Triage):
    def select(self, issue: Issue) -> Priority | None:
        return None


def test_a_processor_may_decline() -> None:
    decision = Selector(Declines()).decide(make())
    assert decision == Decision(None, "declined by processor")


def test_priorities_outside_the_target_set_are_skipped() -> None:
    selector = Selector(Triage(), priorities=frozenset({Priority.CRITICAL, Priority.HIGH}))
    assert selector.decide(make(labels=(Label("p1"),))).admitted
    decision = selector.decide(make(labels=(Label("p3"),)))
    assert decision.reason == "priority low not targeted"


def test_issues_too_complex_for_the_ceiling_are_skipped() -> None:
    selector = Selector(Triage(), max_complexity=0.7)
    assert selector.decide(make(body="A typo in the README.")).admitted
    epic = make(
        labels=(Label("epic"), Label("needs-design"), Label("breaking")),
        body="```\nTraceback (most recent call last):\n```\n" * 40 + "- [ ] step\n" * 20,
        comments=60,
    )
    assert selector.decide(epic).reason == "too complex"
