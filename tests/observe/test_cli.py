from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from autoissue.cli import main
from autoissue.cli._observe_options import ObserveOptions
from autoissue.emulator import Emulator

TOKEN = "secret-t0ken-value"


def run(emulator: Emulator, *extra: str) -> Result:
    args = ["run", "--repo", "acme/widgets", "--base-url", emulator.base_url, *extra]
    return CliRunner().invoke(main, args, env={"GITHUB_TOKEN": TOKEN}, catch_exceptions=False)


def reports(state_dir: Path) -> list[Path]:
    return sorted((state_dir / "reports").glob("run-*.json"))


def test_run_writes_plain_lines_and_a_json_report_by_default(
    fast_emulator: Emulator, tmp_path: Path
) -> None:
    result = run(fast_emulator, "--state-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    [report] = reports(tmp_path)
    assert f"report saved to {report}" in result.stdout
    saved = json.loads(report.read_text())
    assert saved["run"] == {"processor": "triage", "repo": "acme/widgets"}
    listed = saved["summary"]["listed"]
    assert listed > 50
    assert saved["timeline"][-1]["done"] == listed
    assert result.stderr.splitlines()[-1].startswith(f"done {listed}/{listed} (100%), ")


def test_run_logs_json_and_draws_an_html_report(fast_emulator: Emulator, tmp_path: Path) -> None:
    page, data = tmp_path / "out" / "run.html", tmp_path / "run.json"
    result = run(
        fast_emulator,
        "--state-dir",
        str(tmp_path),
        "--log-format",
        "json",
        "--report",
        str(page),
        "--report-json",
        str(data),
        "--metrics-port",
        "0",
    )
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert entries[0]["message"].startswith("metrics at http://127.0.0.1:")
    assert entries[-1]["event"] == "progress"
    saved = json.loads(data.read_text())
    assert entries[-1]["done"] == saved["summary"]["listed"]
    assert saved["summary"]["processed"] > 0
    assert page.read_text().count("data:image/png;base64,") == 1
    assert reports(tmp_path) == []
    everything = result.output + page.read_text() + data.read_text()
    assert TOKEN not in everything


def test_run_quiet_shows_only_the_final_summary(fast_emulator: Emulator, tmp_path: Path) -> None:
    result = run(fast_emulator, "--state-dir", str(tmp_path), "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "issues/s" in result.stdout
    assert len(reports(tmp_path)) == 1


def test_a_busy_metrics_port_is_one_clear_line(fast_emulator: Emulator, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run(fast_emulator, "--state-dir", str(tmp_path), "--metrics-port", port)
    assert result.exit_code == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.output
    assert reports(tmp_path) == []


def test_demo_draws_a_png_and_keeps_its_json_report_in_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [
        "demo",
        "--issues",
        "150",
        "--latency-ms",
        "0",
        "--faults",
        "0",
        "--quiet",
        "--report",
        "chart.png",
    ]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "check passed" in result.stdout
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert len(reports(tmp_path / ".autoissue")) == 1


@pytest.mark.parametrize("command", [["demo"], ["run", "--repo", "o/r"]])
def test_a_report_that_is_not_html_or_png_is_refused_before_running(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--report", "run.pdf"])
    assert result.exit_code == 2
    assert "a report is an .html or a .png file" in result.output


def test_without_matplotlib_a_chart_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(main, ["demo", "--report", "run.html"])
    assert result.exit_code == 2
    assert "pip install 'auto-issue-processor[bench]'" in result.output


def test_two_reports_in_one_second_keep_apart(tmp_path: Path) -> None:
    options = ObserveOptions()
    first = options.json_report_path(tmp_path)
    first.parent.mkdir(parents=True)
    first.write_text("{}")
    second = options.json_report_path(tmp_path)
    assert second != first
    assert second.parent == first.parent
    assert ObserveOptions(report_json=tmp_path / "x.json").json_report_path(tmp_path) == (
        tmp_path / "x.json"
    )


def test_the_options_are_shared_by_run_and_demo() -> None:
    helps: dict[str, Any] = {}
    for command in ("run", "demo"):
        helps[command] = CliRunner().invoke(main, [command, "--help"]).output
    for option in (
        "--metrics-port",
        "--metrics-host",
        "--quiet",
        "--log-format",
        "--report-json",
        "--report ",
    ):
        assert option in helps["run"]
        assert option in helps["demo"]
