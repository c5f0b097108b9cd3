from __future__ import annotations

import pytest

from autoissue.model import Issue, Priority
from autoissue.model._issue import Label
from autoissue.selection import PriorityVerdict, priority_of


def issue(title: str = "Something", labels: tuple[str, ...] = ()) -> Issue:
    return Issue(
        number=1,
        title=title,
        state="open",
        updated_at="2026-01-01T00:00:00Z",
        labels=tuple(Label(name) for name in labels),
    )


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("critical", Priority.CRITICAL),
        ("urgent", Priority.CRITICAL),
        ("p0", Priority.CRITICAL),
        ("priority:critical", Priority.CRITICAL),
        ("high", Priority.HIGH),
        ("important", Priority.HIGH),
        ("P1", Priority.HIGH),
        ("Priority: High", Priority.HIGH),
        ("medium", Priority.MEDIUM),
        ("moderate", Priority.MEDIUM),
        ("p2", Priority.MEDIUM),
        ("low", Priority.LOW),
        ("minor", Priority.LOW),
        ("p3", Priority.LOW),
    ],
)
def test_label_aliases_name_the_priority(label: str, expected: Priority) -> None:
    verdict = priority_of(issue(labels=(label, "bug")))
    assert verdict == PriorityVerdict(expected, f"label {label!r}")


def test_the_most_urgent_label_wins() -> None:
    assert priority_of(issue(labels=("p3", "p1", "medium"))).priority is Priority.HIGH


def test_a_label_wins_over_title_words() -> None:
    verdict = priority_of(issue("Data loss when the app crashes", labels=("p3",)))
    assert verdict.priority is Priority.LOW
    assert verdict.reason == "label 'p3'"


@pytest.mark.parametrize(
    ("title", "expected", "word"),
    [
        ("Data loss after sync", Priority.CRITICAL, "data loss"),
        ("Fix CVE-2024-12345 in the parser", Priority.CRITICAL, "cve-2024-12345"),
        ("Security vulnerability in token handling", Priority.CRITICAL, "security vulnerability"),
        ("Production is down since the upgrade", Priority.CRITICAL, "production is down"),
        ("App crashes on start", Priority.HIGH, "crashes"),
        ("Segfault in the scheduler", Priority.HIGH, "segfault"),
        ("Security: tokens are logged", Priority.HIGH, "security"),
        ("URGENT: release blocked", Priority.HIGH, "urgent"),
        ("Regression in 2.3", Priority.HIGH, "regression"),
    ],
)
def test_title_words_raise_the_priority(title: str, expected: Priority, word: str) -> None:
    assert priority_of(issue(title)) == PriorityVerdict(expected, f"title says {word!r}")


@pytest.mark.parametrize(
    "title",
    [
        "Add a dark mode",
        "Crashpad integration",  # a word that merely starts like one
        "Does the parser crash on empty input?",  # a question asks, it does not report
        "Improve the securityheaders docs",
        "",
    ],
)
def test_other_titles_default_to_low(title: str) -> None:
    assert priority_of(issue(title)) == PriorityVerdict(Priority.LOW, "no priority label or word")


def test_hostile_titles_are_read_safely() -> None:
    assert priority_of(issue("\x00crash\x00")).priority is Priority.HIGH
    # Only the head of an absurd title is read.
    assert priority_of(issue("a " * 10_000 + "crash")).priority is Priority.LOW
