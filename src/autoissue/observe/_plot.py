"""The report's chart: throughput, concurrency and latency over a run, drawn with matplotlib.

matplotlib is the optional ``bench`` extra: it is imported when a chart is drawn, not before.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["chart_png"]


def _series(samples: Sequence[Mapping[str, Any]], name: str, scale: float = 1.0) -> list[float]:
    return [float("nan") if s[name] is None else s[name] * scale for s in samples]


def _draw_throughput(axis: Any, samples: Sequence[Mapping[str, Any]]) -> None:
    times = _series(samples, "t")
    axis.plot(times, _series(samples, "issues_per_s"), label="issues/s", lw=1.4)
    axis.set_ylabel("issues/s")
    axis.legend(loc="upper right", fontsize=8)


def _draw_concurrency(axis: Any, samples: Sequence[Mapping[str, Any]]) -> None:
    times = _series(samples, "t")
    axis.step(times, _series(samples, "limit"), where="post", label="concurrency limit", lw=1.4)
    axis.plot(times, _series(samples, "in_flight"), label="in flight", lw=0.8, alpha=0.7)
    axis.set_ylabel("issues in flight")
    axis.legend(loc="upper right", fontsize=8)


def _draw_latency(axis: Any, samples: Sequence[Mapping[str, Any]]) -> None:
    times = _series(samples, "t")
    axis.plot(times, _series(samples, "latency_p50_s", 1000), label="p50", lw=1.2)
    axis.plot(times, _series(samples, "latency_p95_s", 1000), label="p95", lw=1.2)
    axis.set_ylabel("latency per issue (ms)")
    axis.set_xlabel("seconds since start")
    axis.legend(loc="upper right", fontsize=8)


def chart_png(document: Mapping[str, Any]) -> bytes:
    """The report document's timeline as a three-panel PNG."""
    import matplotlib  # noqa: PLC0415 - optional (the bench extra), needed only here

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the backend

    samples, summary = document["timeline"], document["summary"]
    figure, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    _draw_throughput(axes[0], samples)
    _draw_concurrency(axes[1], samples)
    _draw_latency(axes[2], samples)
    axes[0].set_title(
        f"{summary['processor']} on {summary['repo']}: {summary['listed']} items"
        f" in {summary['seconds']:.1f} s"
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
