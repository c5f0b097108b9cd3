"""How complex an issue looks: a score in [0, 1] built from named, visible factors.

Each factor measures one thing in the issue (its length, its code, its discussion…), is scaled
into [0, 1] against a "clearly a lot" reference, and contributes at most its weight. The score is
the sum of the contributions, capped at 1. Weights add up to more than 1 on purpose: a scope
label such as ``epic`` plus a little of anything else is already too much to process unattended.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from autoissue._exceptions import ConfigurationError
from autoissue.model import Issue

#: Issues scoring below this are simple enough to be processed automatically.
COMPLEXITY_THRESHOLD = 0.7

#: Labels that say the work is bigger than one change.
SCOPE_LABELS = frozenset(
    {
        "epic",
        "needs-design",
        "needs design",
        "breaking",
        "breaking-change",
        "breaking change",
        "rfc",
        "needs-discussion",
        "architecture",
        "refactor",
        "meta",
        "tracking",
    }
)

# Only the head of a body is scanned: a 1 MB body costs no more than a long one, and its length
# alone already saturates the length factor.
_SCAN_CHARS = 20_000
_FENCE = re.compile(r"^ {0,3}(?:```|~~~)", re.MULTILINE)
_TRACE = re.compile(
    r"^(?:Traceback \(most recent call last\)|Exception in thread|panic: |thread '.*' panicked"
    r"|[ \t]+at [\w$.<>]+\([\w$.]*:\d+\)|Caused by: )",
    re.MULTILINE,
)
_PATH = re.compile(
    r"(?<![\w/.-])(?:[\w.-]+/)*[\w-]+\.(?:py|pyi|js|jsx|ts|tsx|go|rs|java|kt|c|h|cc|cpp|hpp|rb"
    r"|php|cs|swift|toml|yaml|yml|json|cfg|ini|sh|sql|html|css)\b"
)
_CHECKBOX = re.compile(r"^[ \t]*[-*+] \[[ xX]\] ", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Factor:
    """One visible reason for a complexity score.

    ``value`` is what was measured (characters, blocks, comments…) and ``contribution`` what it
    added to the score.
    """

    name: str
    value: float
    contribution: float


@dataclass(frozen=True, slots=True)
class Complexity:
    """An issue's complexity ``score`` in [0, 1], the ``factors`` behind it, and the verdict."""

    score: float
    factors: tuple[Factor, ...]
    processable: bool
    threshold: float = COMPLEXITY_THRESHOLD

    def explain(self) -> str:
        """One line listing the factors that contributed, largest first."""
        parts = [
            f"{factor.name}={factor.value:g} (+{factor.contribution:.2f})"
            for factor in sorted(self.factors, key=lambda factor: -factor.contribution)
            if factor.contribution > 0
        ]
        verdict = "processable" if self.processable else "too complex"
        return f"complexity {self.score:.2f} {verdict}: " + (", ".join(parts) or "nothing")


def _body(issue: Issue) -> str:
    return (issue.body or "")[:_SCAN_CHARS]


def _scope_labels(issue: Issue) -> int:
    return sum(1 for name in issue.label_names if name.strip().lower() in SCOPE_LABELS)


# name, measure, "clearly a lot" reference, weight (the most the factor can contribute)
_FACTORS: tuple[tuple[str, Callable[[Issue], float], float, float], ...] = (
    ("body_length", lambda issue: len(issue.body or ""), 4_000, 0.20),
    ("code_blocks", lambda issue: len(_FENCE.findall(_body(issue))) // 2, 3, 0.10),
    ("stack_traces", lambda issue: len(_TRACE.findall(_body(issue))), 2, 0.15),
    ("comments", lambda issue: max(issue.comments, 0), 15, 0.15),
    ("referenced_files", lambda issue: len(set(_PATH.findall(_body(issue)))), 5, 0.15),
    ("checklist_items", lambda issue: len(_CHECKBOX.findall(_body(issue))), 6, 0.15),
    ("scope_labels", _scope_labels, 1, 0.50),
)


def complexity(issue: Issue, *, threshold: float = COMPLEXITY_THRESHOLD) -> Complexity:
    """Score ``issue``; it is processable when the score is below ``threshold``.

    Raises :class:`~autoissue.ConfigurationError` unless ``0 < threshold <= 1``.
    """
    if not 0 < threshold <= 1:
        raise ConfigurationError(f"complexity threshold must be in (0, 1], not {threshold!r}")
    factors = []
    for name, measure, reference, weight in _FACTORS:
        value = float(measure(issue))
        contribution = round(weight * min(value / reference, 1.0), 4)
        factors.append(Factor(name, value, contribution))
    score = round(min(sum(factor.contribution for factor in factors), 1.0), 4)
    return Complexity(score, tuple(factors), score < threshold, threshold)
