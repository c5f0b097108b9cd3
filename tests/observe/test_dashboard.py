from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from rich.console import Console

from autoissue.cli._dashboard import (
    PROGRESS_LOGGER,
    Dashboard,
    DisplayMode,
    JsonLogFormatter,
    json_root_logs,
    plain_line,
)
from autoissue.observe import Sample, Timeline
from autoissue.observe._sources import TallySnapshot
from tests.observe.conftest import full_reading


def sample(at: float = 2.0, **changes: object) -> Sample:
    timeline = Timeline(total=300)
    timeline.add(full_reading(at=0.0, tally=TallySnapshot()))
    return timeline.add(full_reading(at=at, **changes))


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, color_system=None, width=120)


@pytest.mark.parametrize(
    ("quiet", "log_format", "tty", "mode"),
    [
        (True, "json", True, DisplayMode.QUIET),
        (False, "json", True, DisplayMode.JSON),
        (False, "text", True, DisplayMode.LIVE),
        (False, "text", False, DisplayMode.PLAIN),
    ],
)
def test_the_mode_follows_the_options_and_the_terminal(
    quiet: bool, log_format: str, tty: bool, mode: DisplayMode
) -> None:
    console = Console(file=io.StringIO(), force_terminal=tty)
    assert DisplayMode.choose(quiet=quiet, log_format=log_format, console=console) is mode


def test_a_plain_line_says_everything_in_one_line() -> None:
    line = plain_line(sample())
    assert line == (
        "done 250/300 (83%), 125 issues/s, ETA 0:00, limit 12 in flight 9, queue 27,"
        " budget 4321, failed 3 retries 2"
    )
    bare = plain_line(sample(controller=None, queue=None, governor=None, tally=None))
    assert bare.startswith("done 0/300 (0%), 0 issues/s, ETA --:--, limit - in flight -,")


def test_plain_mode_writes_lines_every_few_seconds_and_at_the_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Dashboard(DisplayMode.PLAIN, every_s=3600) as dashboard:
        dashboard.note("metrics at http://127.0.0.1:1/metrics")
        dashboard.show(sample(at=1.0))
        dashboard.show(sample(at=2.0))  # too soon for another line
        dashboard.show(sample(at=3.0, tally=TallySnapshot(listed=300, processed=300), queue=None))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "metrics at http://127.0.0.1:1/metrics"
    assert lines[1].startswith("done 250/300 (83%)")
    assert lines[2].startswith("done 300/300 (100%)")  # the last figures, always
    assert len(lines) == 3
    assert logging.getLogger(PROGRESS_LOGGER).handlers == []


def test_quiet_mode_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with Dashboard(DisplayMode.QUIET, every_s=0) as dashboard:
        dashboard.note("metrics at somewhere")
        dashboard.show(sample())
    assert capsys.readouterr() == ("", "")


def test_json_mode_writes_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    with Dashboard(DisplayMode.JSON, every_s=0) as dashboard:
        dashboard.note("metrics at http://127.0.0.1:1/metrics")
        dashboard.show(sample())
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert entries[0]["message"] == "metrics at http://127.0.0.1:1/metrics"
    assert entries[0]["logger"] == PROGRESS_LOGGER
    progress = entries[1]
    assert progress["event"] == "progress"
    assert progress["level"] == "info"
    assert (progress["done"], progress["total"], progress["limit"]) == (250, 300, 12)
    assert progress["issues_per_s"] == 125.0
    assert len(entries) == 3  # and the last figures once more at the end


def test_a_json_record_keeps_its_exception() -> None:
    try:
        raise ValueError("bad page")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("once",), sys.exc_info()
        )
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry["message"] == "failed once"
    assert entry["level"] == "error"
    assert "ValueError: bad page" in entry["exception"]


def test_root_logs_turn_json_while_asked_then_back(capsys: pytest.CaptureFixture[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    plain = logging.Formatter("%(levelname)s %(message)s")
    handler.setFormatter(plain)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with json_root_logs(enabled=True):
            logging.getLogger("autoissue.engine").error("issue #%d failed", 7)
        with json_root_logs(enabled=False):
            logging.getLogger("autoissue.engine").error("plain again")
    finally:
        root.removeHandler(handler)
    first, second = capsys.readouterr().err.splitlines()
    assert json.loads(first)["message"] == "issue #7 failed"
    assert second == "ERROR plain again"
    assert handler.formatter is plain


def test_live_mode_draws_the_dashboard_on_a_terminal() -> None:
    console = terminal()
    with Dashboard(DisplayMode.LIVE, console=console) as dashboard:
        dashboard.note("metrics at http://127.0.0.1:1/metrics")
        dashboard.show(sample())
        dashboard.show(sample(queue=None, governor=None, at=4.0))
    assert isinstance(console.file, io.StringIO)
    screen = console.file.getvalue()
    for text in (
        "metrics at http://127.0.0.1:1/metrics",
        "250/300",
        "ETA",
        "issues/s",
        "limit 12  in flight 9",
        "27 waiting",
        "budget 4,321 requests left",
        "failed 3  retries 2",
        "p95 120 ms",
        "no rate limit",
    ):
        assert text in screen, text
    assert repr(dashboard) == "<Dashboard live>"


def test_live_mode_copes_with_an_unknown_total_and_hours() -> None:
    console = terminal()
    timeline = Timeline()
    timeline.add(full_reading(at=0.0))
    late = timeline.add(full_reading(at=3700.0, controller=None))
    with Dashboard(DisplayMode.LIVE, console=console) as dashboard:
        dashboard.show(late)
    assert isinstance(console.file, io.StringIO)
    screen = console.file.getvalue()
    assert "250/?" in screen
    assert "elapsed 1:01:40" in screen
    assert "p50 --" in screen
