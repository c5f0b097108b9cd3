"""Triage that learns a repository's own type labels from its labelled issues, on the emulator.

The corpus's words are made up, so keywords cannot tell its types apart: whatever triage gets
right here, it learned.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from autoissue import ConfigurationError, LearningError
from autoissue.emulator import Emulator, EmulatorConfig, FakeClock
from autoissue.github import GitHubClient
from autoissue.model import AddLabels, Issue, Plan
from autoissue.processors import Artifacts, OwnLedger, ProcessContext, ReadOnlyGitHub, Triage
from autoissue.processors._learned_types import Learning
from autoissue.state import MemoryStateStore

pytestmark = pytest.mark.timeout(60)

REPO = "acme/widgets"
_WORDS = {
    "Type: Bug": ["zorblat", "quix", "fremd", "glorp", "vask"],
    "kind/feature": ["plonk", "wibber", "snaz", "trelm", "oobit"],
    "question": ["vorn", "kleb", "mipso", "drazz", "yelt"],
}
_FILLER = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa"]

Item = dict[str, Any]


def _item(rng: random.Random, kind: str, *, labelled: bool) -> Item:
    words = _WORDS[kind]
    title = " ".join(rng.sample(words, 2) + rng.sample(_FILLER, 3))
    body = " ".join(rng.choices(words, k=4) + rng.choices(_FILLER, k=10))
    return {"title": title, "body": body, "labels": [kind] if labelled else [], "truth": kind}


def corpus(labelled: int, unlabelled: int, kinds: tuple[str, ...] = tuple(_WORDS)) -> list[Item]:
    """``labelled`` labelled issues of each kind, then ``unlabelled`` open ones of each."""
    rng = random.Random(5)
    items = [_item(rng, kind, labelled=True) for _ in range(labelled) for kind in kinds]
    return items + [_item(rng, kind, labelled=False) for _ in range(unlabelled) for kind in kinds]


@asynccontextmanager
async def served(
    items: list[Item], tmp_path: Path, store: MemoryStateStore | None = None
) -> AsyncIterator[ProcessContext]:
    """A context whose GitHub is an emulator serving ``items`` (numbered from 1)."""
    path = tmp_path / f"issues-{len(items)}.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    config = EmulatorConfig(repo=REPO, issues_file=path)
    async with Emulator(config, clock=FakeClock()) as emulator:
        client = GitHubClient(base_url=emulator.base_url, token="t0k3n")
        async with client:
            store = store or MemoryStateStore()
            yield ProcessContext(
                repo=REPO,
                github=ReadOnlyGitHub(client),
                artifacts=Artifacts(store, "triage"),
                ledger=OwnLedger(store, "triage"),
            )


async def issues_of(context: ProcessContext) -> list[Issue]:
    issues = [
        issue async for page in context.github.issue_pages(REPO, state="all") for issue in page
    ]
    return sorted(issues, key=lambda issue: issue.number)


def added(plan: Plan) -> set[str]:
    return set().union(*(a.labels for a in plan.actions if isinstance(a, AddLabels)))


async def plans(triage: Triage, context: ProcessContext) -> dict[int, Plan]:
    issues = await issues_of(context)
    return {issue.number: await triage.process(issue, context) for issue in issues}


async def test_learns_the_repository_spellings_and_labels_only_unlabelled_issues(
    tmp_path: Path,
) -> None:
    items = corpus(labelled=12, unlabelled=6)
    async with served(items, tmp_path) as context:
        by_number = await plans(Triage(learn=True), context)
    for number, item in enumerate(items, 1):
        plan, types = by_number[number], added(by_number[number]) & set(_WORDS)
        if item["labels"]:
            assert (types, plan.outcomes) == (set(), ("type already labelled",))
        else:
            assert (types, plan.outcomes) == ({item["truth"]}, ("type learned",)), plan.reasons
            assert any("learned (confidence" in reason for reason in plan.reasons)


async def test_the_model_is_stored_and_reused_until_enough_new_labelled_issues(
    tmp_path: Path,
) -> None:
    store = MemoryStateStore()
    learning = Learning(retrain_after=3)
    async with served(corpus(10, 2), tmp_path, store) as context:
        first = await learning.learn(context)
        again = await learning.learn(context)
    key = "triage:types:acme/widgets:Type: Bug,kind/feature,question"
    assert (first.retrained, first.trained_on, again.retrained) == (True, 30, False)
    assert (await store.load_artifact(key) or b"").startswith(b'{"trained_on": 30')
    assert len(again.predicted) == 6
    async with served(corpus(11, 2), tmp_path, store) as context:  # three more labelled
        grown = await learning.learn(context)
    assert (grown.retrained, grown.trained_on) == (True, 33)


async def test_a_damaged_stored_model_is_trained_again_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStateStore()
    key = "triage:types:acme/widgets:Type: Bug,kind/feature,question"
    await store.save_artifact(key, b'{"trained_on": 30}\nnot a model')
    async with served(corpus(10, 1), tmp_path, store) as context:
        with caplog.at_level(logging.WARNING):
            learned = await Learning().learn(context)
    assert learned.retrained
    assert "cannot be read" in caplog.text
    assert (await store.load_artifact(key) or b"") != b'{"trained_on": 30}\nnot a model'


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (corpus(labelled=2, unlabelled=2), r"has 6 issue\(s\) labelled with a type, fewer than"),
        (corpus(12, 2, kinds=("Type: Bug",)), r"at least two types; found only 'bug'"),
        ([{"title": "plain", "labels": ["wontfix"]}] * 12, r"has no type labels"),
    ],
)
async def test_a_history_that_cannot_teach_falls_back_to_keywords_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, items: list[Item], message: str
) -> None:
    async with served(items, tmp_path) as context:
        with pytest.raises(LearningError, match=message):
            await Learning().learn(context)
        crash = Issue(number=999, title="App crashes with a traceback and an error", state="open")
        with caplog.at_level(logging.WARNING):
            plan = await Triage(learn=True).process(crash, context)
    assert added(plan) >= {"bug"}
    assert plan.outcomes == ("type from keywords",)
    assert "triage cannot learn types: acme/widgets" in caplog.text
    assert "labelling by keywords" in caplog.text


async def test_without_a_fallback_an_unteachable_repository_gets_no_type_label(
    tmp_path: Path,
) -> None:
    async with served(corpus(labelled=1, unlabelled=1), tmp_path) as context:
        crash = Issue(number=999, title="App crashes with a traceback and an error")
        plan = await Triage(learn=True, fallback="none").process(crash, context)
    assert not added(plan) & {"bug", "Type: Bug"}
    assert plan.outcomes == ("type not learned",)
    assert plan.reasons[0].startswith("type not learned: acme/widgets has 3 issue(s)")


async def test_below_min_confidence_it_abstains_and_can_say_so_with_a_label(
    tmp_path: Path,
) -> None:
    items = corpus(labelled=12, unlabelled=1)
    async with served(items, tmp_path) as context:
        unsure = await plans(Triage(learn=True, min_confidence=0.999), context)
        flagged = await plans(
            Triage(learn=True, min_confidence=0.999, abstain_label="needs-triage"), context
        )
    unlabelled = range(len(items) - 2, len(items) + 1)
    assert all(unsure[n].outcomes == ("type abstained",) for n in unlabelled)
    assert all(not added(unsure[n]) & set(_WORDS) for n in unlabelled)
    assert all("needs-triage" in added(flagged[n]) for n in unlabelled)
    assert all(unsure[n].reasons[0].startswith("type unsure (confidence") for n in unlabelled)


async def test_given_labels_are_the_types_learned(tmp_path: Path) -> None:
    renamed = {"Type: Bug": "crash", "kind/feature": "idea", "question": "ask"}
    items = corpus(labelled=12, unlabelled=2)
    for item in items:
        item["labels"] = [renamed[label] for label in item["labels"]]
    triage = Triage(learn=True, labels=("crash", "idea", "ask"))
    async with served(items, tmp_path) as context:
        by_number = await plans(triage, context)
    for number, item in enumerate(items, 1):
        if not item["labels"]:
            assert added(by_number[number]) & {"crash", "idea", "ask"} == {renamed[item["truth"]]}


def _issue(title: str, body: str | None) -> Issue:
    return Issue(number=1, title=title, body=body, state="open", updated_at="2024-01-01T00:00:00Z")


@pytest.mark.parametrize(
    "make",
    [
        lambda: _issue("zorblat quix", ""),
        lambda: _issue("", None),
        lambda: _issue("plonk wibber", "snaz " * 200_000),  # a 1 MB body
        lambda: _issue("Программа падает при запуске", "错误: 无法打开文件 🎉 \u202e"),
    ],
)
async def test_odd_issues_get_a_stated_decision_without_crashing(
    tmp_path: Path, make: Callable[[], Issue]
) -> None:
    odd = make()
    items = [*corpus(labelled=10, unlabelled=0), {"title": odd.title, "body": odd.body}]
    async with served(items, tmp_path) as context:
        learned = await Learning().learn(context)
        plan = await Triage(learn=True).process(odd, context)
    assert len(learned.predicted) == 1  # the odd issue was predicted in the batch
    assert plan.outcomes in {("type learned",), ("type abstained",)}
    assert 0.0 <= learned.predict(odd).confidence <= 1.0


async def test_an_issue_changed_since_the_listing_is_predicted_afresh(tmp_path: Path) -> None:
    async with served(corpus(labelled=10, unlabelled=1), tmp_path) as context:
        learned = await Learning().learn(context)
        listed = (await issues_of(context))[-1]
    feature = {"title": "plonk wibber snaz", "body": "trelm oobit plonk"}
    changed = msgspec.structs.replace(listed, **feature, updated_at="2030-01-01")
    assert learned.predict(listed) == learned.predict(listed)
    assert learned.predict(changed).label == "kind/feature"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"labels": ("bug",)}, "two types at least"),
        ({"labels": ("bug", "a,b")}, "no commas"),
        ({"labels": ("bug", "x" * 51)}, "1 to 50 characters"),
        ({"abstain_label": " needs-triage"}, "trimmed"),
        ({"abstain_label": "needs\ntriage"}, "control characters"),
        ({"min_confidence": 1.5}, r"min_confidence must be in \[0, 1\]"),
        ({"fallback": "guess"}, "fallback must be 'keyword' or 'none'"),
    ],
)
def test_bad_options_are_refused_in_one_line(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Triage(**options)


async def test_keyword_triage_with_given_labels_adds_only_those(tmp_path: Path) -> None:
    triage = Triage(labels=("bug", "feature"))
    async with served(corpus(1, 0), tmp_path) as context:
        idea = await triage.process(
            _issue("Feature request: add support for an option", ""), context
        )
        docs = await triage.process(_issue("Docs: typo in the README guide", "docs"), context)
        labelled = await triage.process(
            msgspec.structs.replace(_issue("x", ""), labels=()), context
        )
    assert "feature" in added(idea)
    assert not added(docs) & {"documentation", "bug", "feature"}
    assert docs.outcomes == ("type abstained",)
    assert repr(triage) == "<Triage keyword min_confidence=0.0>"
    assert labelled.outcomes == ("type abstained",)


async def _ledger_says_triage_added(store: MemoryStateStore, added: dict[int, str]) -> None:
    for number, label in added.items():
        actions = [f"label:{label}", "label:priority:low"]
        await store.record(f"{REPO}#{number}", "triage", "2024-01-01T00:00:00Z", "done", actions)


async def test_maintainers_corrections_are_counted_learned_from_and_never_fought(
    tmp_path: Path,
) -> None:
    store = MemoryStateStore()
    items = [
        *corpus(labelled=10, unlabelled=0),
        {"title": "plonk wibber snaz", "body": "trelm oobit", "labels": ["kind/feature"]},
        {"title": "zorblat quix fremd", "body": "glorp vask", "labels": ["question"]},
        {"title": "vorn kleb mipso", "body": "drazz yelt", "labels": []},
    ]
    await _ledger_says_triage_added(store, {31: "kind/feature", 32: "Type: Bug", 33: "question"})
    async with served(items, tmp_path, store) as context:
        learned = await Learning().learn(context)
        triage = Triage(learn=True)
        by_number = await plans(triage, context)
    assert (learned.corrections.kept, learned.corrections.replaced) == (1, 1)
    assert learned.corrections.removed == 1
    assert learned.trained_on == 31  # the maintainers' labels: not the one triage added itself
    assert by_number[33].outcomes == ("type removed by a maintainer",)
    assert not added(by_number[33]) & set(_WORDS)  # a label taken off is not put back
    assert any(
        "maintainers kept 1 of the 3 type labels triage added (0.33); 1 replaced, 1 removed" in note
        for note in triage.notes()
    )


async def test_without_a_ledger_every_typed_issue_is_a_maintainers_label(tmp_path: Path) -> None:
    async with served(corpus(labelled=10, unlabelled=1), tmp_path) as context:
        bare = ProcessContext(repo=REPO, github=context.github)
        learned = await Learning().learn(bare)
    assert learned.trained_on == 30
    assert learned.corrections.judged == 0
