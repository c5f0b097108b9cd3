"""An issue's priority: from its labels when they name one, else from a few title words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from autoissue.model import Issue, Priority, priority_from_labels

# Title words are a weak signal, so only phrases that almost never appear in a routine report
# count, and only ever to raise the default: a label always wins over a word.
_CRITICAL = re.compile(
    r"\b(data loss|data corruption|corrupts? (?:the )?data|security vulnerability|"
    r"remote code execution|cve-\d{4}-\d{4,}|production (?:is )?down|outage)\b"
)
_HIGH = re.compile(
    r"\b(crash(?:es|ed|ing)?|segfaults?|segmentation fault|panics?|deadlocks?|security|"
    r"vulnerability|urgent|regression|memory leak|lost data)\b"
)
_TITLE_CHARS = 512  # titles are at most 256 characters on GitHub; anything longer is not a title


@dataclass(frozen=True, slots=True)
class PriorityVerdict:
    """An issue's priority and a short phrase saying what decided it."""

    priority: Priority
    reason: str


def _from_labels(names: frozenset[str]) -> PriorityVerdict | None:
    named = []
    for name in sorted(names):
        priority = priority_from_labels((name,))
        if priority is not None:
            named.append((priority, name))
    if not named:
        return None
    priority, name = min(named)
    return PriorityVerdict(priority, f"label {name!r}")


def _from_title(title: str) -> PriorityVerdict | None:
    text = title[:_TITLE_CHARS].replace("\x00", " ").lower()
    # A question ("Is this a security problem?") asks rather than reports.
    if text.rstrip().endswith("?"):
        return None
    for priority, pattern in ((Priority.CRITICAL, _CRITICAL), (Priority.HIGH, _HIGH)):
        found = pattern.search(text)
        if found:
            return PriorityVerdict(priority, f"title says {found.group(1)!r}")
    return None


def priority_of(issue: Issue) -> PriorityVerdict:
    """The issue's priority: its most urgent priority label, else its title, else low.

    Labels use the aliases of :func:`~autoissue.model.priority_from_labels` (``p0``,
    ``critical``, ``priority: high``…). Title words are conservative: ``data loss``, a CVE
    number or ``security vulnerability`` mean critical; ``crash``, ``segfault``, ``panic``,
    ``deadlock``, ``security``, ``urgent``, ``regression`` or ``memory leak`` mean high; a title
    that ends with a question mark is never promoted.
    """
    return (
        _from_labels(issue.label_names)
        or _from_title(issue.title)
        or PriorityVerdict(Priority.LOW, "no priority label or word")
    )
