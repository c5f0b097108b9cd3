"""Processors: what happens to an issue. Each returns a Plan and writes nothing itself."""

from __future__ import annotations

from autoissue.agent import CommandConfig
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
from autoissue.processors._command import AgentResult, CommandProcessor
from autoissue.processors._duplicates import Duplicates, quote_title
from autoissue.processors._loading import ENTRY_POINT_GROUP
from autoissue.processors._options import coerce_options, option_names
from autoissue.processors._registry import (
    BUILTIN_PROCESSORS,
    ProcessorFactory,
    available_processors,
    get_processor,
)
from autoissue.processors._stale import STALE_SIGNATURE, Stale, StaleConfig
from autoissue.processors._tfidf import TfidfIndex
from autoissue.processors._triage import TYPE_LABELS, Triage, classify

__all__ = [
    "BUILTIN_PROCESSORS",
    "ENTRY_POINT_GROUP",
    "STALE_SIGNATURE",
    "TYPE_LABELS",
    "AgentResult",
    "Artifacts",
    "CommandConfig",
    "CommandProcessor",
    "Duplicates",
    "Isolation",
    "Noting",
    "OwnLedger",
    "PoolWork",
    "Pooled",
    "ProcessContext",
    "Processor",
    "ProcessorFactory",
    "ReadOnlyGitHub",
    "Stale",
    "StaleConfig",
    "TfidfIndex",
    "Triage",
    "available_processors",
    "classify",
    "coerce_options",
    "get_processor",
    "option_names",
    "quote_title",
]
