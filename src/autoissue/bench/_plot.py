"""Plots of bench reports, drawn with matplotlib (the ``bench`` extra), imported only when asked.

``adaptive``: the controller's limit (and work in flight) over time above the emulator's
capacity, and throughput over time beside the best fixed setting and the one tuned for the
first phase, with the capacity changes marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoissue._exceptions import ConfigurationError
from autoissue.bench._report import BenchReport

__all__ = ["plot_report"]


def _by_concurrency(report: BenchReport, concurrency: Any) -> dict[str, Any] | None:
    return next(
        (r for r in report.results if "error" not in r and r["concurrency"] == concurrency), None
    )


def _capacity_steps(params: dict[str, Any]) -> tuple[list[float], list[float]]:
    times, values = [0.0], [float(params["capacity"])]
    for at, capacity in params["changes"]:
        times += [at, at]
        values += [values[-1], float(capacity)]
    return [*times, params["duration"]], [*values, values[-1]]


def _draw_limit(axis: Any, report: BenchReport, ours: dict[str, Any]) -> None:
    series = ours["limit_series"]
    axis.plot([s[0] for s in series], [s[1] for s in series], label="controller limit", lw=1.5)
    axis.plot([s[0] for s in series], [s[2] for s in series], label="in flight", lw=0.8, alpha=0.6)
    axis.plot(*_capacity_steps(report.params), "k--", label="emulator capacity", lw=1)
    axis.set_ylabel("issues in flight")
    axis.legend(loc="upper right", fontsize=8)


def _draw_throughput(axis: Any, report: BenchReport, ours: dict[str, Any]) -> None:
    lines = [(ours, "autoissue (adaptive)")]
    for key, label in (("best_fixed", "best fixed"), ("phase1_tuned", "tuned for phase 1")):
        fixed = _by_concurrency(report, report.params.get(key))
        if fixed is not None and (fixed, f"{label}: {fixed['concurrency']}") not in lines:
            lines.append((fixed, f"{label}: {fixed['concurrency']}"))
    for result, label in lines:
        series = result["throughput_series"]
        axis.plot([i + 0.5 for i in range(len(series))], series, label=label, lw=1.2)
    axis.set_ylabel("issues/s")
    axis.set_xlabel("seconds")
    axis.legend(loc="lower right", fontsize=8)


def _mark_timeline(axes: tuple[Any, ...], params: dict[str, Any]) -> None:
    for axis in axes:
        axis.set_xlim(0, params["duration"])  # the drain after the deadline is not timed
        for at, _ in params["changes"]:
            axis.axvline(at, color="grey", lw=0.8, ls=":")


def plot_report(report: BenchReport, path: Path) -> None:
    """Draw ``report`` as a PNG at ``path``; only the ``adaptive`` workload has a plot."""
    ours = _by_concurrency(report, None)
    if report.workload != "adaptive" or ours is None:
        raise ConfigurationError(f"no plot for the {report.workload} workload's results")
    import matplotlib  # noqa: PLC0415 - optional (the bench extra), needed only here

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the backend

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    _draw_limit(top, report, ours)
    _draw_throughput(bottom, report, ours)
    _mark_timeline((top, bottom), report.params)
    top.set_title(
        f"adaptive: reconverge {ours.get('reconverge_s', 0):.1f} s, "
        f"vs best fixed {ours.get('vs_best_fixed', 0):.2f}"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
