"""Processors: what happens to an issue. Each returns a Plan and writes nothing itself."""

from __future__ import annotations

from autoissue.processors._base import Isolation, ProcessContext, Processor, ReadOnlyGitHub
from autoissue.processors._registry import BUILTIN_PROCESSORS, get_processor
from autoissue.processors._triage import TYPE_LABELS, Triage, classify

__all__ = [
    "BUILTIN_PROCESSORS",
    "TYPE_LABELS",
    "Isolation",
    "ProcessContext",
    "Processor",
    "ReadOnlyGitHub",
    "Triage",
    "classify",
    "get_processor",
]
