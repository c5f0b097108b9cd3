from __future__ import annotations

import pytest

from autoissue import ConfigurationError
from autoissue.github import GitHubClient
from autoissue.model import AddLabels, Issue, Priority
from autoissue.model._issue import Label
from autoissue.processors import (
    Isolation,
    ProcessContext,
    Processor,
    ReadOnlyGitHub,
    Triage,
    classify,
    get_processor,
)


def issue(title: str, body: str | None = None, labels: tuple[str, ...] = ()) -> Issue:
    return Issue(
        number=5,
        title=title,
        state="open",
        updated_at="2026-03-01T10:00:00Z",
        body=body,
        labels=tuple(Label(name) for name in labels),
    )


@pytest.fixture
def context() -> ProcessContext:
    return ProcessContext(repo="o/r", github=ReadOnlyGitHub(GitHubClient()))


@pytest.mark.parametrize(
    ("title", "body", "kind"),
    [
        ("App crashes with a traceback on start", None, "bug"),
        ("Add support for YAML config", "It would be a new option.", "feature"),
        ("How do I configure the proxy?", None, "question"),
        ("Typo in the README", "The docs say teh.", "docs"),
        ("Login fails", "I get an error and an exception when I log in", "bug"),
    ],
)
def test_classifies_by_words(title: str, body: str | None, kind: str) -> None:
    found, confidence = classify(issue(title, body))
    assert found == kind
    assert 0.5 <= confidence <= 1.0


def test_no_type_when_the_words_say_nothing() -> None:
    assert classify(issue("Lorem ipsum", "dolor sit amet")) == (None, 0.0)


def test_no_type_when_the_words_disagree() -> None:
    kind, confidence = classify(issue("crash docs", "feature question"))
    assert kind is None
    assert confidence < 0.5


def test_a_long_body_is_read_only_up_to_its_head() -> None:
    body = "lorem " * 1000 + "crash " * 100
    assert classify(issue("Something", body)) == (None, 0.0)


async def test_plans_type_and_priority_labels(context: ProcessContext) -> None:
    plan = await Triage().process(issue("Crash on save"), context)
    assert plan.actions == (AddLabels(("bug", "priority:high")),)
    assert (plan.processor, plan.repo, plan.issue) == ("triage", "o/r", 5)
    assert plan.updated_at == "2026-03-01T10:00:00Z"
    assert any("confidence" in reason for reason in plan.reasons)


async def test_critical_priority_is_not_mistaken_for_none(context: ProcessContext) -> None:
    plan = await Triage().process(issue("Data loss on save"), context)
    assert plan.labels_to_add == {"priority:critical"}
    assert "priority critical" in plan.reasons


@pytest.mark.parametrize(
    "label",
    [
        "priority: high",
        "Priority:High",
        "priority/high",
        "PRIORITY-HIGH",
        " priority high ",
        "P1",
        "important",
        "priority:high",
    ],
)
async def test_a_priority_label_in_any_spelling_gets_no_priority_label_added(
    context: ProcessContext, label: str
) -> None:
    plan = await Triage().process(issue("Lorem ipsum", labels=(label,)), context)
    assert plan.actions == ()
    assert plan.reasons == ("type unsure (confidence 0.00)", "priority high")


async def test_the_most_urgent_of_several_priority_aliases_counts_as_present(
    context: ProcessContext,
) -> None:
    plan = await Triage().process(
        issue("Crash on save", labels=("p3", "Priority: Urgent")), context
    )
    assert plan.actions == (AddLabels(("bug",)),)
    assert "priority critical" in plan.reasons


async def test_a_title_priority_is_added_when_no_label_names_one(context: ProcessContext) -> None:
    plan = await Triage().process(
        issue("Lorem ipsum crashes", labels=("bug", "help wanted")), context
    )
    assert plan.actions == (AddLabels(("priority:high",)),)


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("App crashes with a traceback on start", "Bug"),
        ("App crashes with a traceback on start", "type: bug"),
        ("App crashes with a traceback on start", "kind/bug"),
        ("App crashes with a traceback on start", "Type/Feature"),
        ("Add support for YAML config", "enhancement"),
        ("Add support for YAML config", "Feature Request"),
        ("Add support for YAML config", "feature_request"),
        ("Add support for YAML config", "type-feature"),
        ("How do I configure the proxy?", "Question"),
        ("Typo in the README", "docs"),
        ("Typo in the README", "type: Documentation"),
    ],
)
async def test_a_type_label_in_any_spelling_gets_no_type_label_added(
    context: ProcessContext, title: str, label: str
) -> None:
    plan = await Triage().process(issue(title, labels=(label, "priority: low")), context)
    assert plan.actions == ()


@pytest.mark.parametrize("label", ["typo", "kindness", "type", "bugfix-release", "docs-team"])
async def test_labels_that_only_look_like_a_type_do_not_count_as_one(
    context: ProcessContext, label: str
) -> None:
    plan = await Triage().process(issue("App crashes with a traceback", labels=(label,)), context)
    assert plan.labels_to_add == {"bug", "priority:high"}


async def test_keeps_an_existing_type_label_and_adds_nothing_twice(
    context: ProcessContext,
) -> None:
    existing = issue("Crash on save", labels=("enhancement", "priority:low"))
    plan = await Triage().process(existing, context)
    assert plan.actions == ()


async def test_defaults_to_low_priority(context: ProcessContext) -> None:
    plan = await Triage().process(issue("Lorem ipsum"), context)
    assert plan.labels_to_add == {"priority:low"}


def test_triage_selects_every_issue_with_its_priority() -> None:
    triage = Triage()
    assert triage.select(issue("x", labels=("urgent",))) is Priority.CRITICAL
    assert triage.select(issue("x")) is Priority.LOW
    assert triage.isolation is Isolation.INLINE
    assert isinstance(triage, Processor)
    assert repr(triage) == "<Triage keyword min_confidence=0.0>"


def test_registry_builds_processors_and_names_the_known_ones() -> None:
    assert isinstance(get_processor("triage"), Triage)
    with pytest.raises(ConfigurationError, match=r"unknown processor 'nope' \(known: .*triage"):
        get_processor("nope")


def test_read_only_github_repr_names_the_host() -> None:
    assert "api.github.com" in repr(ReadOnlyGitHub(GitHubClient()))
