"""Processors: what happens to an issue. Each returns a Plan and writes nothing itself.

A processor is anything that meets the :class:`Processor` protocol; its :class:`Isolation`
says where it runs (a :class:`Pooled` one prepares the :class:`PoolWork` warm pool workers
call per issue), and its :class:`ProcessContext` gives it read-only GitHub and its
:class:`Artifacts`. :func:`get_processor` finds one by name: a built-in (:class:`Triage`,
``duplicates``, ``stale``, ``command``: :class:`CommandProcessor`), an installed entry point
or ``package.module:callable``.
"""

from __future__ import annotations

from autoissue.processors._base import (
    Artifacts,
    Isolation,
    Noting,
    OwnLedger,
    Pooled,
    PoolWork,
    ProcessContext,
    Processor,
    ReadOnlyGitHub,
)
from autoissue.processors._command import CommandProcessor
from autoissue.processors._options import coerce_options
from autoissue.processors._registry import get_processor
from autoissue.processors._triage import Triage, classify

__all__ = [
    "Artifacts",
    "CommandProcessor",
    "Isolation",
    "Noting",
    "OwnLedger",
    "PoolWork",
    "Pooled",
    "ProcessContext",
    "Processor",
    "ReadOnlyGitHub",
    "Triage",
    "classify",
    "coerce_options",
    "get_processor",
]
