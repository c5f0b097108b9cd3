"""The engine: source, selector, durable queue, processors and write-back, joined up.

:class:`Engine` runs one processor over one repository as :class:`EngineOptions` say and
returns a :class:`RunSummary`: its intake lists and enqueues, and a :class:`Worker` (alone,
``autoissue worker``) claims, processes and writes back, as :class:`WorkerOptions` say,
telling its :class:`Observers` of every plan; :class:`Selector` decides which issues are
admitted (skipping :data:`DEFAULT_SKIP_LABELS`); :class:`WriteBack` applies a plan exactly
once, or a :class:`PlanWriter` appends it to a JSON-lines file instead, for
:class:`PlanApplier` to apply later (``autoissue apply``).
"""

from __future__ import annotations

from autoissue.engine._apply import ApplySummary, PlanApplier, read_plans
from autoissue.engine._engine import Engine, EngineOptions
from autoissue.engine._live import LiveIntake
from autoissue.engine._selector import DEFAULT_SKIP_LABELS, Selector
from autoissue.engine._summary import RunSummary, RunTally
from autoissue.engine._work import decode_item
from autoissue.engine._worker import Observers, Worker, WorkerOptions
from autoissue.engine._writeback import PlanWriter, WriteBack

__all__ = [
    "DEFAULT_SKIP_LABELS",
    "ApplySummary",
    "Engine",
    "EngineOptions",
    "LiveIntake",
    "Observers",
    "PlanApplier",
    "PlanWriter",
    "RunSummary",
    "RunTally",
    "Selector",
    "Worker",
    "WorkerOptions",
    "WriteBack",
    "decode_item",
    "read_plans",
]
