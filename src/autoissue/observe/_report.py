"""Run reports: a JSON document always, an HTML page or a PNG chart on request.

The JSON report holds the run's summary and its timeline (one sample every half second or
so). The HTML report is one self-contained file - the chart embedded as a PNG data URI, no
external assets - beside the summary table; the PNG is the chart alone. Charts are drawn with
matplotlib (the ``bench`` extra), imported only when one is asked for.
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autoissue._exceptions import ConfigurationError
from autoissue.engine import RunSummary
from autoissue.observe._timeline import Sample

__all__ = [
    "REPORT_SUFFIXES",
    "render_report",
    "report_document",
    "require_matplotlib",
    "write_json_report",
]

#: The chart formats ``render_report`` draws, by file suffix.
REPORT_SUFFIXES = (".html", ".htm", ".png")
_REPORT_VERSION = 1


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))


def report_document(
    summary: RunSummary,
    samples: Sequence[Sample],
    *,
    started: float,
    finished: float,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report as JSON-ready data; ``started``/``finished`` are epoch seconds."""
    return {
        "version": _REPORT_VERSION,
        "run": dict(labels or {}),
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "summary": summary.to_dict(),
        "timeline": [sample.to_dict() for sample in samples],
    }


def write_json_report(document: Mapping[str, Any], path: Path) -> Path:
    """Write ``document`` as JSON at ``path`` (directories are created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def require_matplotlib() -> None:
    """Raise a :class:`ConfigurationError` saying how to install matplotlib if it is missing."""
    try:
        import matplotlib  # noqa: F401, PLC0415 - optional (the bench extra): only a check
    except ImportError as error:
        raise ConfigurationError(
            "an HTML or PNG report is drawn with matplotlib, which is not installed: "
            "pip install 'auto-issue-processor[bench]'"
        ) from error


def render_report(document: Mapping[str, Any], path: Path) -> Path:
    """Draw the report at ``path``: an HTML page (``.html``) or a PNG chart (``.png``)."""
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ConfigurationError(f"a report is .html or .png, not {path.name!r}")
    require_matplotlib()
    from autoissue.observe._plot import chart_png  # noqa: PLC0415 - needs matplotlib

    png = chart_png(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        path.write_bytes(png)
    else:
        path.write_text(_html(document, png), encoding="utf-8")
    return path


def _summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    concurrency = summary.get("concurrency") or {}
    rows = [
        ("listed", summary["listed"]),
        ("processed", summary["processed"]),
        ("skipped", sum(summary["skipped"].values())),
        ("failed", summary["failed"]),
        ("writes", summary["writes"]),
        ("API calls", summary["api_calls"]),
        ("retries", summary["retries"]),
        ("seconds", f"{summary['seconds']:.2f}"),
        ("issues/s", summary["issues_per_s"]),
    ]
    if concurrency:
        limits = f"{concurrency['limit']} / {concurrency['limit_peak']}"
        rows.append(("concurrency limit at end / peak", limits))
    return [(name, str(value)) for name, value in rows]


def _html(document: Mapping[str, Any], png: bytes) -> str:
    summary = document["summary"]
    title = html.escape(f"autoissue: {summary['processor']} on {summary['repo']}")
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in _summary_rows(summary)
    )
    image = base64.b64encode(png).decode("ascii")
    when = html.escape(f"{document['started_at']} to {document['finished_at']}")
    return _PAGE.format(title=title, when=when, rows=rows, image=image)


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ padding: 0.2em 1em; border-bottom: 1px solid #ddd; }}
th {{ text-align: left; font-weight: 600; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{when}</p>
<table>{rows}</table>
<figure>
<img alt="throughput, concurrency limit and latency over time" src="data:image/png;base64,{image}">
<figcaption>Throughput, concurrency limit and latency over time.</figcaption>
</figure>
</body>
</html>
"""
