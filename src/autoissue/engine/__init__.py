"""The engine: source, selector, durable queue, processors and write-back, joined up."""

from __future__ import annotations

from autoissue.engine._apply import ApplySummary, PlanApplier, read_plans
from autoissue.engine._engine import Engine, EngineOptions, no_pages
from autoissue.engine._selector import DEFAULT_SKIP_LABELS, Decision, Selector
from autoissue.engine._summary import RunSummary, RunTally
from autoissue.engine._work import WorkItem, decode_item, encode_item, message_for
from autoissue.engine._writeback import PlanWriter, WriteBack, comment_marker, plan_id

__all__ = [
    "DEFAULT_SKIP_LABELS",
    "ApplySummary",
    "Decision",
    "Engine",
    "EngineOptions",
    "PlanApplier",
    "PlanWriter",
    "RunSummary",
    "RunTally",
    "Selector",
    "WorkItem",
    "WriteBack",
    "comment_marker",
    "decode_item",
    "encode_item",
    "message_for",
    "no_pages",
    "plan_id",
    "read_plans",
]
