"""Selection scoring: how urgent an issue is, and whether it is simple enough to process.

:func:`priority_of` reads priority label aliases first, then a few unambiguous title words, and
says which one decided. :func:`complexity` scores an issue in [0, 1] from named, visible factors;
issues scoring below the threshold (0.7 by default) are worth handing to an automatic processor.
"""

from __future__ import annotations

from autoissue.selection._complexity import (
    COMPLEXITY_THRESHOLD,
    SCOPE_LABELS,
    Complexity,
    Factor,
    complexity,
)
from autoissue.selection._priority import PriorityVerdict, priority_of

__all__ = [
    "COMPLEXITY_THRESHOLD",
    "SCOPE_LABELS",
    "Complexity",
    "Factor",
    "PriorityVerdict",
    "complexity",
    "priority_of",
]
