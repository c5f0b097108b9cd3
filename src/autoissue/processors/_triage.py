"""The ``triage`` processor: a type label from an issue's words, a priority from its labels."""

from __future__ import annotations

import re
from collections import Counter

from autoissue.model import AddLabels, Issue, Plan, Priority
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


class Triage:
    """Labels an issue's type (bug / feature / question / docs) and priority.

    Existing labels are respected: no type label is added to an issue that has one, and
    the priority label follows the issue's own priority labels, else its title's words
    (see :func:`~autoissue.selection.priority_of`), else low.
    """

    name = "triage"
    isolation = Isolation.INLINE

    def __repr__(self) -> str:
        return "<Triage>"

    def select(self, issue: Issue) -> Priority | None:
        """Every issue is triage's business; its priority comes from its labels."""
        return _priority(issue)

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """Plan the missing type and priority labels."""
        present = issue.label_names
        wanted, reasons = [], []
        kind, confidence = classify(issue)
        if kind and not present & set(TYPE_LABELS.values()):
            wanted.append(TYPE_LABELS[kind])
            reasons.append(f"type {kind} (confidence {confidence:.2f})")
        priority = _priority(issue)
        wanted.append(priority.label)
        reasons.append(f"priority {priority.name.lower()}")
        new = tuple(label for label in wanted if label not in present)
        actions = (AddLabels(new),) if new else ()
        return Plan(
            self.name, context.repo, issue.number, issue.updated_at, actions, tuple(reasons)
        )
