"""Priorities, and how labels name them."""

from __future__ import annotations

import enum
import re
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


# "priority", then a separator (":", "/", "-", "_", spaces, or a mix such as " : ").
_PREFIX = re.compile(r"^priority\s*[:/_\-\s]\s*")


def _normalise(label: str) -> str:
    # "Priority: High", "priority/high", "priority_high" and "priority : high" all mean "high".
    return _PREFIX.sub("", label.strip().lower(), count=1).strip()


def priority_from_labels(labels: Iterable[str]) -> Priority | None:
    """The most urgent priority named by any of ``labels``, or ``None`` if none names one."""
    found = [_ALIASES[name] for name in map(_normalise, labels) if name in _ALIASES]
    return min(found, default=None)
