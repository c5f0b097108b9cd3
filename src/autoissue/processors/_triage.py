"""The ``triage`` processor: a type label from an issue's words, a priority from its labels."""

from __future__ import annotations

import re
from collections import Counter

from autoissue.model import AddLabels, Issue, Plan, Priority, priority_from_labels
from autoissue.processors._base import Isolation, ProcessContext
from autoissue.selection import priority_of

# The label each type gets: GitHub's default label set.
TYPE_LABELS = {
    "bug": "bug",
    "feature": "enhancement",
    "question": "question",
    "docs": "documentation",
}
_KEYWORDS = {
    "bug": {"bug", "crash", "crashes", "error", "exception", "fails", "failing", "failure",
            "broken", "traceback", "regression", "segfault", "panic", "incorrect", "wrong"},
    "feature": {"feature", "support", "add", "request", "enhancement", "proposal", "allow",
                "implement", "option", "improve", "new"},
    "question": {"question", "how", "why", "what", "help", "possible", "understand", "clarify"},
    "docs": {"docs", "documentation", "readme", "typo", "docstring", "guide", "tutorial",
             "example", "examples", "wiki"},
}  # fmt: skip
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


def _type_of_label(name: str) -> str | None:
    # Case, spaces, separators and a "type:" or "kind/" prefix do not change what a label says.
    text = _TYPE_PREFIX.sub("", name.strip().lower(), count=1)
    return _TYPE_ALIASES.get(_SEPARATORS.sub(" ", text).strip())


def _priority(issue: Issue) -> Priority:
    # Label aliases first, then a few unmistakable title words, else low.
    return priority_of(issue).priority


class Triage:
    """Labels an issue's type (bug / feature / question / docs) and priority.

    Existing labels are respected, in whatever spelling: no type label is added to an issue
    that has one (``bug``, ``Type: Bug``, ``kind/feature``...), and no priority label to an
    issue whose labels name a priority (``priority: high``, ``P1``...). Otherwise the priority
    comes from the title's words (see :func:`~autoissue.selection.priority_of`), else low.
    """

    name = "triage"
    isolation = Isolation.INLINE

    def __repr__(self) -> str:
        return "<Triage>"

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
        wanted, reasons = [], []
        kind, confidence = classify(issue)
        if kind and not any(_type_of_label(name) for name in present):
            wanted.append(TYPE_LABELS[kind])
            reasons.append(f"type {kind} (confidence {confidence:.2f})")
        priority = _priority(issue)
        reasons.append(f"priority {priority.name.lower()}")
        # A label naming a priority decided it (see priority_of): that label is the priority's.
        if priority_from_labels(present) is None:
            wanted.append(priority.label)
        actions = (AddLabels(tuple(wanted)),) if wanted else ()
        return Plan(
            self.name, context.repo, issue.number, issue.updated_at, actions, tuple(reasons)
        )
