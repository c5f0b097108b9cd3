"""The engine: source, selector, work queue, processors and write-back, joined up."""

from __future__ import annotations

from autoissue.engine._engine import Engine, EngineOptions
from autoissue.engine._selector import DEFAULT_SKIP_LABELS, Decision, Selector
from autoissue.engine._summary import RunSummary, RunTally
from autoissue.engine._writeback import PlanWriter, WriteBack

__all__ = [
    "DEFAULT_SKIP_LABELS",
    "Decision",
    "Engine",
    "EngineOptions",
    "PlanWriter",
    "RunSummary",
    "RunTally",
    "Selector",
    "WriteBack",
]
