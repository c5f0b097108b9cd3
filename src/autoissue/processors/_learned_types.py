"""A repository's own type labels, learned from the issues its maintainers already labelled.

The repository's issues are listed once (open and closed). Those carrying exactly one type
label are the training data; which labels are types is given (``bug,feature,question``) or
read from the repository's own spellings of bug, feature, question and docs. The trained
classifier is kept in the backend under the repository and its type labels, and reused until
``retrain_after`` more labelled issues have arrived; the open issues without a type are then
predicted in one batch, in a worker thread, so the event loop keeps serving the run.

The ledger says which type labels triage itself added. Those the maintainers left are not
training data (the model would learn its own guesses); those they replaced or removed are
corrections, counted (accuracy as the maintainers judged it), and a label they removed is
never added again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from autoissue._exceptions import LearningError
from autoissue.learn import BODY_CHARS, NgramClassifier, Prediction, check_trainable
from autoissue.model import Issue
from autoissue.processors._base import Artifacts, OwnLedger, ProcessContext

logger = logging.getLogger(__name__)

# Spellings of the type labels that mean the same: "Bug", "type: bug", "kind/feature"...
_TYPE_ALIASES = {
    "bug": "bug",
    "enhancement": "feature",
    "feature": "feature",
    "feature request": "feature",
    "question": "question",
    "documentation": "docs",
    "docs": "docs",
}
_TYPE_PREFIX = re.compile(r"^(?:type|kind)\s*[:/\s-]\s*")
_SEPARATORS = re.compile(r"[\s_-]+")


def type_of_label(name: str) -> str | None:
    """The type a label names in any usual spelling (``Type: Bug`` is ``bug``), or ``None``."""
    # Case, spaces, separators and a "type:" or "kind/" prefix do not change what a label says.
    text = _TYPE_PREFIX.sub("", name.strip().lower(), count=1)
    return _TYPE_ALIASES.get(_SEPARATORS.sub(" ", text).strip())


@dataclass(frozen=True)
class TypeVocabulary:
    """Which labels name a type: each label (case-folded) to its type, each type to its label."""

    by_label: dict[str, str]
    label_of: dict[str, str]

    @classmethod
    def given(cls, labels: Iterable[str]) -> TypeVocabulary:
        """Each of ``labels`` is a type of its own, written as given."""
        names = list(labels)
        return cls({name.casefold(): name for name in names}, {name: name for name in names})

    @classmethod
    def inferred(cls, issues: Iterable[Issue]) -> TypeVocabulary:
        """The repository's spellings of the usual types; each type as it is spelled most."""
        spellings: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for issue in issues:
            for name in issue.label_names:
                kind = type_of_label(name)
                if kind is not None:
                    spellings[kind][name] += 1
        by_label = {name.casefold(): kind for kind, seen in spellings.items() for name in seen}
        label_of = {kind: seen.most_common(1)[0][0] for kind, seen in spellings.items()}
        return cls(by_label, label_of)

    def type_of(self, issue: Issue) -> str | None:
        """The one type ``issue`` is labelled with; ``None`` for none or several."""
        kinds = {self.by_label.get(name.casefold()) for name in issue.label_names} - {None}
        return kinds.pop() if len(kinds) == 1 else None

    def names_type(self, name: str) -> bool:
        """True if label ``name`` is one of the type labels, in any case."""
        return name.casefold() in self.by_label


@dataclass
class _History:
    """The repository's issues as learning needs them: labelled examples, open ones to label."""

    examples: list[tuple[str, str]] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    open_unlabelled: list[Issue] = field(default_factory=list)


@dataclass(frozen=True)
class Corrections:
    """What the maintainers did with the type labels triage added in earlier runs.

    ``kept``: still there alone; ``replaced``: another type label is there now; ``removed``:
    no type label is left, on the issues ``removed_from``.
    """

    kept: int = 0
    replaced: int = 0
    removed_from: frozenset[int] = frozenset()

    @property
    def removed(self) -> int:
        """Labels taken off without another type put on."""
        return len(self.removed_from)

    @property
    def judged(self) -> int:
        """Type labels triage added that the maintainers have had the chance to judge."""
        return self.kept + self.replaced + self.removed

    def describe(self) -> str:
        """One line: how many were kept, the share, and the corrections."""
        share = self.kept / self.judged if self.judged else 0.0
        return (
            f"maintainers kept {self.kept} of the {self.judged} type labels triage added"
            f" ({share:.2f}); {self.replaced} replaced, {self.removed} removed"
        )


@dataclass(frozen=True)
class LearnedTypes:
    """A repository's trained classifier, and its predictions for the open unlabelled issues."""

    classifier: NgramClassifier
    vocabulary: TypeVocabulary
    trained_on: int
    retrained: bool
    predicted: dict[int, tuple[str, Prediction]]
    corrections: Corrections = Corrections()

    def predict(self, issue: Issue) -> Prediction:
        """The type label ``issue`` most likely needs (the repository's spelling), and how sure."""
        known = self.predicted.get(issue.number)
        if known is not None and known[0] == issue.updated_at:
            prediction = known[1]
        else:
            prediction = self.classifier.predict([_text(issue)])[0]
        label = self.vocabulary.label_of[prediction.label] if prediction.label else None
        return Prediction(label, prediction.confidence)


@dataclass(frozen=True, kw_only=True)
class Learning:
    """How a repository's types are learned: which labels, how much history, when to retrain."""

    labels: tuple[str, ...] = ()
    min_labelled: int = 10
    retrain_after: int = 50

    async def learn(self, context: ProcessContext) -> LearnedTypes:
        """The repository's classifier, loaded from the backend or trained now.

        Raises :class:`~autoissue.LearningError` saying why when the repository's labelled
        history cannot teach anything (too few issues, a single type).
        """
        issues = await _listed(context)
        vocabulary = (
            TypeVocabulary.given(self.labels) if self.labels else TypeVocabulary.inferred(issues)
        )
        ours = await _types_added(context.ledger, context.repo, issues, vocabulary)
        corrections, unconfirmed = _judged(issues, ours, vocabulary)
        history = _history(
            [issue for issue in issues if issue.number not in unconfirmed], vocabulary
        )
        self._check(history, context.repo, vocabulary)
        key = f"types:{context.repo}:{','.join(sorted(vocabulary.label_of.values()))}"
        stored = await _stored(context.artifacts, key)
        if stored is not None and len(history.types) - stored[1] < self.retrain_after:
            classifier, trained_on, retrained = stored[0], stored[1], False
        else:
            classifier = await asyncio.to_thread(_trained, history)
            trained_on, retrained = len(history.types), True
            await _store(context.artifacts, key, classifier, trained_on)
        predicted = await asyncio.to_thread(_predicted, classifier, history.open_unlabelled)
        return LearnedTypes(classifier, vocabulary, trained_on, retrained, predicted, corrections)

    def _check(self, history: _History, repo: str, vocabulary: TypeVocabulary) -> None:
        if not vocabulary.label_of:
            raise LearningError(f"{repo} has no type labels (bug, enhancement, question...)")
        labelled = len(history.types)
        if labelled < self.min_labelled:
            raise LearningError(
                f"{repo} has {labelled} issue(s) labelled with a type, fewer than the"
                f" {self.min_labelled} needed to learn from"
            )
        try:
            check_trainable(history.types)
        except LearningError as error:
            raise LearningError(f"{repo}: {error}") from None


async def _types_added(
    ledger: OwnLedger | None, repo: str, issues: list[Issue], vocabulary: TypeVocabulary
) -> dict[int, frozenset[str]]:
    # The type labels triage added to each issue, case-folded, as the ledger lists them.
    if ledger is None:
        return {}
    added = await ledger.labels_added(repo, [issue.number for issue in issues])
    types = {
        n: frozenset(x.casefold() for x in labels if vocabulary.names_type(x))
        for n, labels in added.items()
    }
    return {number: kinds for number, kinds in types.items() if kinds}


def _judged(
    issues: list[Issue], ours: dict[int, frozenset[str]], vocabulary: TypeVocabulary
) -> tuple[Corrections, set[int]]:
    """The maintainers' corrections, and the issues whose only type label is still ours."""
    kept, replaced, removed = set(), 0, set()
    for issue in issues:
        added = ours.get(issue.number)
        if added is None:
            continue
        present = {name.casefold() for name in issue.label_names if vocabulary.names_type(name)}
        if present - added:
            replaced += 1
        elif present:
            kept.add(issue.number)
        else:
            removed.add(issue.number)
    return Corrections(len(kept), replaced, frozenset(removed)), kept


def _text(issue: Issue) -> tuple[str, str]:
    # What a classifier is given; it reads only the start of the body (see issue_text).
    return issue.title, issue.body or ""


async def _listed(context: ProcessContext) -> list[Issue]:
    # Only what the classifier reads is kept of each body, so a huge backlog stays small.
    issues: list[Issue] = []
    async for page in context.github.issue_pages(context.repo, state="all"):
        for issue in page:
            if not issue.is_pull_request:
                issues.append(_trimmed(issue))
    return issues


def _trimmed(issue: Issue) -> Issue:
    body = issue.body
    if body is None or len(body) <= BODY_CHARS:
        return issue
    return msgspec.structs.replace(issue, body=body[:BODY_CHARS])


def _history(issues: list[Issue], vocabulary: TypeVocabulary) -> _History:
    history = _History()
    for issue in issues:
        kind = vocabulary.type_of(issue)
        if kind is not None:
            history.examples.append(_text(issue))
            history.types.append(kind)
        elif issue.state == "open" and not any(map(vocabulary.names_type, issue.label_names)):
            history.open_unlabelled.append(issue)
    return history


def _trained(history: _History) -> NgramClassifier:
    classifier = NgramClassifier()
    classifier.fit(history.examples, history.types)
    return classifier


def _predicted(
    classifier: NgramClassifier, issues: list[Issue]
) -> dict[int, tuple[str, Prediction]]:
    predictions = classifier.predict([_text(issue) for issue in issues])
    return {
        issue.number: (issue.updated_at, prediction)
        for issue, prediction in zip(issues, predictions, strict=True)
    }


async def _stored(artifacts: Artifacts | None, key: str) -> tuple[NgramClassifier, int] | None:
    # A stored model that cannot be read is retrained, not trusted: the warning says so.
    data = None if artifacts is None else await artifacts.load(key)
    if data is None:
        return None
    header, _, model = data.partition(b"\n")
    try:
        trained_on = int(json.loads(header)["trained_on"])
        return NgramClassifier.from_bytes(model), trained_on
    except (LearningError, ValueError, KeyError, TypeError) as error:
        logger.warning("the stored model %s cannot be read (%s): training again", key, error)
        return None


async def _store(
    artifacts: Artifacts | None, key: str, classifier: NgramClassifier, trained_on: int
) -> None:
    if artifacts is not None:
        model = await asyncio.to_thread(classifier.to_bytes)
        header = json.dumps({"trained_on": trained_on, "classes": list(classifier.classes)})
        await artifacts.save(key, header.encode() + b"\n" + model)
