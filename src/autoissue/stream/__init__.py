"""Memory streaming: async-generator stages joined by bounded buffers.

::

    pages ─▶ flattened ─▶ filtered (select) ─▶ mapped (encode) ─▶ concurrent (dispatch) ─▶ …
      ▲                                                                                   │
      └──── a full buffer holds back its producer, and so on back to the source ◀─────────┘

Memory is bounded by the buffers' item and byte budgets, never by the backlog; an RSS
watermark pauses intake when the process grows anyway; queue payloads are compact msgpack,
compressed when large; the collector is tuned for a long run.
"""

from __future__ import annotations

from autoissue.stream._buffer import Budget, Buffer, BufferClosedError, BufferStatistics
from autoissue.stream._codec import (
    COMPRESSED,
    RAW,
    CodecStatistics,
    PayloadCodec,
    issue_size,
)
from autoissue.stream._gc import (
    GcMeter,
    GcPolicy,
    GcState,
    GcStatistics,
    gc_tuned,
    restore_gc,
    tune_gc,
)
from autoissue.stream._pipeline import Pipeline, PipelineState, PipelineStatistics, Step
from autoissue.stream._stages import Stage, concurrent, filtered, flattened, mapped
from autoissue.stream._watermark import RssWatermark, WatermarkStatistics, process_rss

__all__ = [
    "COMPRESSED",
    "RAW",
    "Budget",
    "Buffer",
    "BufferClosedError",
    "BufferStatistics",
    "CodecStatistics",
    "GcMeter",
    "GcPolicy",
    "GcState",
    "GcStatistics",
    "PayloadCodec",
    "Pipeline",
    "PipelineState",
    "PipelineStatistics",
    "RssWatermark",
    "Stage",
    "Step",
    "WatermarkStatistics",
    "concurrent",
    "filtered",
    "flattened",
    "gc_tuned",
    "issue_size",
    "mapped",
    "process_rss",
    "restore_gc",
    "tune_gc",
]
