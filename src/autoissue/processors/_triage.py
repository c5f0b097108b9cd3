"""The ``triage`` processor: a type label from keywords or learned, a priority from labels."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from autoissue._exceptions import ConfigurationError, LearningError
from autoissue.model import AddLabels, Issue, Plan, Priority, check_label_name, priority_from_labels
from autoissue.processors._base import Isolation, ProcessContext
from autoissue.processors._learned_types import (
    LearnedTypes,
    Learning,
    TypeVocabulary,
    type_of_label,
)
from autoissue.selection import priority_of

logger = logging.getLogger(__name__)

# The outcome of an issue whose type label a maintainer took off: triage does not put it back.
_DECLINED = "type removed by a maintainer"

# The label each type gets: GitHub's default label set.
TYPE_LABELS = {
    "bug": "bug",
    "feature": "enhancement",
    "question": "question",
    "docs": "documentation",
}
_KEYWORDS = {
    "bug": {
        "bug",
        "crash",
        "crashes",
        "error",
        "exception",
        "fails",
        "failing",
        "failure",
        "broken",
        "traceback",
        "regression",
        "segfault",
        "panic",
        "incorrect",
        "wrong",
    },
    "feature": {
        "feature",
        "support",
        "add",
        "request",
        "enhancement",
        "proposal",
        "allow",
        "implement",
        "option",
        "improve",
        "new",
    },
    "question": {"question", "how", "why", "what", "help", "possible", "understand", "clarify"},
    "docs": {
        "docs",
        "documentation",
        "readme",
        "typo",
        "docstring",
        "guide",
        "tutorial",
        "example",
        "examples",
        "wiki",
    },
}
_WORD = re.compile(r"[a-z]+")
_TITLE_WEIGHT = 3
_BODY_CHARS = 2_000  # enough to see what an issue is about, bounded for giant bodies
_MIN_SCORE = 3
_MIN_SHARE = 0.5


def _scores(issue: Issue) -> Counter[str]:
    scores: Counter[str] = Counter()
    parts = ((issue.title, _TITLE_WEIGHT), ((issue.body or "")[:_BODY_CHARS], 1))
    for text, weight in parts:
        for word in _WORD.findall(text.lower()):
            for kind, words in _KEYWORDS.items():
                if word in words:
                    scores[kind] += weight
    if issue.title.rstrip().endswith("?"):
        scores["question"] += _TITLE_WEIGHT
    return scores


def classify(issue: Issue) -> tuple[str | None, float]:
    """The issue's type (``bug``, ``feature``, ``question``, ``docs``) and a confidence in [0, 1].

    ``None`` when the words give no clear answer: no label beats a wrong one.
    """
    scores = _scores(issue)
    if not scores:
        return None, 0.0
    kind, best = max(sorted(scores.items()), key=lambda item: item[1])
    share = best / sum(scores.values())
    if best < _MIN_SCORE or share < _MIN_SHARE:
        return None, share
    return kind, share


def _priority(issue: Issue) -> Priority:
    # Label aliases first, then a few unmistakable title words, else low.
    return priority_of(issue).priority


@dataclass(frozen=True)
class _TypeDecision:
    """The type label to add (``None``: none), why, and the outcome the summary counts."""

    label: str | None
    reason: str
    outcome: str


class Triage:
    """Labels an issue's type (bug / feature / question / docs) and priority.

    Existing labels are respected, in whatever spelling: no type label is added to an issue
    that has one (``bug``, ``Type: Bug``, ``kind/feature``, or one of ``labels``), and no
    priority label to an issue whose labels name a priority (``priority: high``, ``P1``...).
    The priority comes from the title's words (see :func:`~autoissue.selection.priority_of`),
    else low.

    The type comes from keywords, or with ``learn`` from a classifier trained on the
    repository's own labelled issues (see :class:`Learning`): ``labels`` names its type
    labels (default: the repository's spellings of bug, feature, question, docs), and a
    repository with fewer than ``min_labelled`` labelled issues, or one type only, falls back
    to keywords (``fallback="keyword"``) or gets no type label (``"none"``), with a warning
    saying why. Below ``min_confidence`` no type label is added (the issue gets
    ``abstain_label`` instead, if one is given); every decision is counted in the run
    summary's outcomes.
    """

    name = "triage"
    isolation = Isolation.INLINE

    def __init__(
        self,
        *,
        learn: bool = False,
        labels: tuple[str, ...] = (),
        min_confidence: float = 0.0,
        abstain_label: str = "",
        fallback: Literal["keyword", "none"] = "keyword",
        min_labelled: int = 10,
        retrain_after: int = 50,
    ) -> None:
        _check(labels, abstain_label, min_confidence, fallback)
        self.learn, self.min_confidence, self.fallback = learn, min_confidence, fallback
        self.abstain_label = abstain_label
        self.learning = Learning(
            labels=labels, min_labelled=max(min_labelled, 2), retrain_after=retrain_after
        )
        self._given = TypeVocabulary.given(labels) if labels else None
        self._learned: dict[str, LearnedTypes | LearningError] = {}
        self._notes: list[str] = []
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        mode = "learn" if self.learn else "keyword"
        return f"<Triage {mode} min_confidence={self.min_confidence}>"

    def select(self, issue: Issue) -> Priority | None:
        """Every issue is triage's business; its priority comes from its labels."""
        return _priority(issue)

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """Plan the missing type and priority labels.

        A label counts as present in any spelling the processor reads: an issue labelled
        ``Type: Bug`` gets no ``bug``, and one labelled ``priority: high`` or ``P1`` gets no
        ``priority:high``.
        """
        present = issue.label_names
        decision = await self._decide(issue, context)
        wanted = [decision.label] if decision.label else []
        reasons = [decision.reason] if decision.reason else []
        priority = _priority(issue)
        reasons.append(f"priority {priority.name.lower()}")
        # A label naming a priority decided it (see priority_of): that label is the priority's.
        if priority_from_labels(present) is None:
            wanted.append(priority.label)
        actions = (AddLabels(tuple(wanted)),) if wanted else ()
        return Plan(
            self.name,
            context.repo,
            issue.number,
            issue.updated_at,
            actions,
            tuple(reasons),
            outcomes=(decision.outcome,),
        )

    def _names_type(self, name: str) -> bool:
        given = self._given is not None and self._given.names_type(name)
        return given or type_of_label(name) is not None

    async def _decide(self, issue: Issue, context: ProcessContext) -> _TypeDecision:
        if any(map(self._names_type, issue.label_names)):
            return _TypeDecision(None, "", "type already labelled")
        learned = await self._learned_for(context) if self.learn else None
        if isinstance(learned, LearnedTypes):
            if issue.number in learned.corrections.removed_from:
                return _TypeDecision(None, "a maintainer removed its type label", _DECLINED)
            prediction = learned.predict(issue)
            return self._judged(prediction.label, prediction.confidence, "learned")
        if learned is not None and self.fallback == "none":
            return _TypeDecision(None, f"type not learned: {learned}", "type not learned")
        kind, confidence = classify(issue)
        return self._judged(self._keyword_label(kind), confidence, "from keywords")

    def _judged(self, label: str | None, confidence: float, how: str) -> _TypeDecision:
        if label is not None and confidence >= self.min_confidence:
            return _TypeDecision(
                label, f"type {label} {how} (confidence {confidence:.2f})", f"type {how}"
            )
        abstain = self.abstain_label or None
        return _TypeDecision(
            abstain, f"type unsure (confidence {confidence:.2f})", "type abstained"
        )

    def _keyword_label(self, kind: str | None) -> str | None:
        if kind is None or self._given is None:
            return None if kind is None else TYPE_LABELS[kind]
        # Given labels: a keyword's type becomes the given label that names it, if any.
        return next((name for name in self._given.label_of if type_of_label(name) == kind), None)

    async def _learned_for(self, context: ProcessContext) -> LearnedTypes | LearningError:
        # Concurrent first issues of a repository wait here: it is listed and learned once.
        async with self._lock:
            if context.repo not in self._learned:
                self._learned[context.repo] = await self._learn(context)
            return self._learned[context.repo]

    async def _learn(self, context: ProcessContext) -> LearnedTypes | LearningError:
        try:
            learned = await self.learning.learn(context)
        except LearningError as error:
            then = "labelling by keywords" if self.fallback == "keyword" else "no type labels"
            self._note(f"triage cannot learn types: {error}; {then}")
            return error
        how = "trained on" if learned.retrained else "loaded from the backend, trained on"
        types = ", ".join(sorted(learned.vocabulary.label_of.values()))
        self._note(
            f"triage on {context.repo}: classifier {how} {learned.trained_on} labelled issues"
            f" ({types}); {len(learned.predicted)} open unlabelled issues predicted"
        )
        if learned.corrections.judged:
            self._note(f"triage on {context.repo}: {learned.corrections.describe()}")
        return learned

    def _note(self, note: str) -> None:
        logger.warning("%s", note)
        self._notes.append(note)

    def notes(self) -> list[str]:
        """What learning did in this run, per repository: trained, loaded, or why not."""
        return list(self._notes)


def _check(
    labels: tuple[str, ...], abstain_label: str, min_confidence: float, fallback: str
) -> None:
    for name in (*labels, *([abstain_label] if abstain_label else [])):
        check_label_name(name)
    if len(labels) == 1:
        raise ConfigurationError("triage labels need two types at least, or none to infer them")
    if not 0 <= min_confidence <= 1:
        raise ConfigurationError(f"min_confidence must be in [0, 1], not {min_confidence!r}")
    if fallback not in ("keyword", "none"):
        raise ConfigurationError(f"fallback must be 'keyword' or 'none', not {fallback!r}")
