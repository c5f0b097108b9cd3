from __future__ import annotations

import time

import pytest

from autoissue import ConfigurationError
from autoissue.model import Issue
from autoissue.model._issue import Label
from autoissue.selection import COMPLEXITY_THRESHOLD, Complexity, Factor, complexity

FACTORS = (
    "body_length",
    "code_blocks",
    "stack_traces",
    "comments",
    "referenced_files",
    "checklist_items",
    "scope_labels",
)
TRACE = 'Traceback (most recent call last):\n  File "a.py", line 1, in <module>\nKeyError: 1\n'
JAVA = "Exception in thread main\n\tat com.acme.Main.run(Main.java:12)\nCaused by: boom\n"


def issue(body: str | None = None, *, comments: int = 0, labels: tuple[str, ...] = ()) -> Issue:
    return Issue(
        number=1,
        title="Title",
        state="open",
        updated_at="2026-01-01T00:00:00Z",
        body=body,
        comments=comments,
        labels=tuple(Label(name) for name in labels),
    )


def contribution(result: Complexity, name: str) -> float:
    return next(factor.contribution for factor in result.factors if factor.name == name)


def test_a_bare_issue_scores_zero_and_shows_every_factor() -> None:
    result = complexity(issue())
    assert result.score == 0
    assert result.processable
    assert [factor.name for factor in result.factors] == list(FACTORS)
    assert all(factor == Factor(factor.name, 0.0, 0.0) for factor in result.factors)
    assert result.explain() == "complexity 0.00 processable: nothing"


@pytest.mark.parametrize(
    ("name", "subject", "value", "share"),
    [
        ("body_length", issue("x" * 2_000), 2_000, 0.10),
        ("code_blocks", issue("```\na\n```\n~~~\nb\n~~~\n"), 2, 0.2 / 3),
        ("stack_traces", issue(TRACE), 1, 0.075),
        ("stack_traces", issue(JAVA), 3, 0.15),
        ("comments", issue(comments=30), 30, 0.15),
        ("referenced_files", issue("see src/app/cli.py, docs/conf.yaml and main.go"), 3, 0.09),
        ("checklist_items", issue("- [ ] a\n- [x] b\n* [X] c\n"), 3, 0.075),
        ("scope_labels", issue(labels=("epic",)), 1, 0.5),
        ("scope_labels", issue(labels=("Needs-Design", "breaking")), 2, 0.5),
    ],
)
def test_each_factor_is_measured_and_weighted(
    name: str, subject: Issue, value: float, share: float
) -> None:
    result = complexity(subject)
    factor = next(factor for factor in result.factors if factor.name == name)
    assert factor.value == value
    assert factor.contribution == pytest.approx(share, abs=1e-4)


def test_the_score_is_the_sum_of_contributions() -> None:
    result = complexity(issue("x" * 1_000 + "\n" + TRACE, comments=3))
    assert result.score == pytest.approx(sum(factor.contribution for factor in result.factors))
    assert result.processable


def test_a_big_issue_is_too_complex_and_capped_at_one() -> None:
    body = "x" * 5_000 + TRACE * 3 + "```\ncode\n```\n" * 3 + "- [ ] step\n" * 8
    body += " ".join(f"src/m{index}.py" for index in range(6))
    result = complexity(issue(body, comments=20, labels=("epic",)))
    assert result.score == 1.0
    assert not result.processable
    explained = result.explain()
    assert explained.startswith("complexity 1.00 too complex: scope_labels=1 (+0.50)")
    assert "stack_traces=" in explained


def test_the_threshold_is_configurable() -> None:
    subject = issue(labels=("epic",))
    assert complexity(subject).processable
    assert complexity(subject).threshold == COMPLEXITY_THRESHOLD
    assert not complexity(subject, threshold=0.5).processable
    assert complexity(subject, threshold=1.0).processable


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5, float("nan")])
def test_a_bad_threshold_is_refused(threshold: float) -> None:
    with pytest.raises(ConfigurationError, match="threshold"):
        complexity(issue(), threshold=threshold)


@pytest.mark.parametrize(
    "body",
    [
        "\n" * 1_000_000,
        "\x00" * 1_000_000,
        "a/" * 500_000,
        " \t" * 500_000,
        "- [ ] " * 200_000,
        "thread '" * 100_000,
    ],
)
def test_hostile_bodies_cost_little(body: str) -> None:
    started = time.perf_counter()
    result = complexity(issue(body))
    assert time.perf_counter() - started < 0.5
    assert contribution(result, "body_length") == 0.2
    assert 0 <= result.score <= 1
