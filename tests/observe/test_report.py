from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from autoissue import ConfigurationError
from autoissue.engine import RunSummary
from autoissue.observe import (
    Timeline,
    render_report,
    report_document,
    require_matplotlib,
    write_json_report,
)
from autoissue.observe._sources import TallySnapshot
from tests.observe.conftest import full_reading

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def summary() -> RunSummary:
    return RunSummary(
        repo="acme/widgets",
        processor="triage",
        dry_run=False,
        listed=300,
        processed=250,
        skipped={"closed": 47},
        failed=3,
        writes=250,
        api_calls=600,
        retries=4,
        seconds=3.0,
        concurrency={"strategy": "balanced", "limit": 12, "limit_peak": 20},
    )


def document() -> dict[str, Any]:
    timeline = Timeline(total=300)
    for n in range(8):
        tally = TallySnapshot(listed=300, processed=n * 30)
        timeline.add(full_reading(at=100.0 + n / 2, tally=tally))
    return report_document(
        summary(),
        timeline.samples,
        started=1.7e9,
        finished=1.7e9 + 4,
        labels={"repo": "acme/widgets"},
    )


def test_the_json_report_holds_the_summary_and_the_timeline(tmp_path: Path) -> None:
    path = write_json_report(document(), tmp_path / "deep" / "run.json")
    saved = json.loads(path.read_text())
    assert saved["version"] == 1
    assert saved["run"] == {"repo": "acme/widgets"}
    assert saved["summary"]["processed"] == 250
    assert saved["summary"]["issues_per_s"] == 83.3  # processed, not listed, per second
    assert len(saved["timeline"]) == 8
    assert saved["timeline"][-1]["processed"] == 210
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", saved["started_at"])


def test_a_png_report_is_a_png(tmp_path: Path) -> None:
    path = render_report(document(), tmp_path / "run.png")
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_an_html_report_is_one_page_with_the_chart_inside(tmp_path: Path) -> None:
    page = render_report(document(), tmp_path / "run.HTML").read_text()
    assert page.startswith("<!doctype html>")
    assert "<title>autoissue: triage on acme/widgets</title>" in page
    assert "<th>concurrency limit at end / peak</th><td>12 / 20</td>" in page
    encoded = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert encoded is not None
    assert base64.b64decode(encoded.group(1)).startswith(PNG_MAGIC)
    assert "http" not in page.replace("data:image", "")  # nothing to fetch: self-contained


def test_a_report_without_concurrency_figures_still_renders(tmp_path: Path) -> None:
    doc = document()
    doc["summary"]["concurrency"] = {}
    assert "limit at end" not in render_report(doc, tmp_path / "run.html").read_text()


def test_other_suffixes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"a report is \.html or \.png, not 'run\.pdf'"):
        render_report(document(), tmp_path / "run.pdf")


def test_without_matplotlib_the_report_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an absent package looks like
    with pytest.raises(ConfigurationError, match=r"pip install 'auto-issue-processor\[bench\]'"):
        require_matplotlib()
    with pytest.raises(ConfigurationError, match="matplotlib"):
        render_report(document(), tmp_path / "run.png")
    assert not (tmp_path / "run.png").exists()
