"""Priorities, and how labels name them."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Priority(enum.IntEnum):
    """How urgent an issue is; a lower value is served first."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3

    @property
    def label(self) -> str:
        """The label the tool writes for this priority, e.g. ``priority:high``."""
        return f"priority:{self.name.lower()}"


_ALIASES: dict[str, Priority] = {
    **dict.fromkeys(("critical", "urgent", "p0", "blocker"), Priority.CRITICAL),
    **dict.fromkeys(("high", "important", "p1"), Priority.HIGH),
    **dict.fromkeys(("medium", "moderate", "normal", "p2"), Priority.MEDIUM),
    **dict.fromkeys(("low", "minor", "p3", "trivial"), Priority.LOW),
}


def _normalise(label: str) -> str:
    # "Priority: High", "priority/high" and "priority-high" all mean "high".
    text = label.strip().lower()
    for prefix in ("priority:", "priority/", "priority-", "priority "):
        if text.startswith(prefix):
            return text[len(prefix) :].strip()
    return text


def priority_from_labels(labels: Iterable[str]) -> Priority | None:
    """The most urgent priority named by any of ``labels``, or ``None`` if none names one."""
    found = [_ALIASES[name] for name in map(_normalise, labels) if name in _ALIASES]
    return min(found, default=None)
