"""Memory streaming: async-generator stages joined by bounded buffers.

::

    source ─▶ stage ─▶ [buffer] ─▶ stage ─▶ [buffer] ─▶ … ─▶ sink
      ▲                                                        │
      └── a full buffer holds back its producer, and so on back to the source

A :class:`Pipeline` runs a source through :class:`Step` s, each a stage (such as
:func:`concurrent`, ``limit`` calls at once) and the :class:`Budget` of items and bytes its
output buffer may hold. Memory is bounded by those budgets, never by the backlog; an
:class:`RssWatermark` pauses intake when the process grows anyway; queue payloads are compact
msgpack, compressed when large (:class:`PayloadCodec`); :func:`gc_tuned` tunes the collector
for a long run.
"""

from __future__ import annotations

from autoissue.stream._buffer import Budget
from autoissue.stream._codec import PayloadCodec
from autoissue.stream._gc import gc_tuned
from autoissue.stream._pipeline import Pipeline, Step
from autoissue.stream._stages import concurrent
from autoissue.stream._watermark import RssWatermark

__all__ = [
    "Budget",
    "PayloadCodec",
    "Pipeline",
    "RssWatermark",
    "Step",
    "concurrent",
    "gc_tuned",
]
