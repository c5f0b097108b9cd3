"""Issue text reaching the terminal: escapes and bidirectional overrides shown, never acting."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from autoissue.cli._summary import print_summary
from autoissue.cli._terminal import InertFormatter, cell, inert, printable
from autoissue.engine import RunSummary

HOSTILE = "\x1b[2J\x1b]0;owned\x07 ok \u202eevil\u2066 [bold]x[/bold]"


def test_printable_escapes_every_acting_character_and_cuts() -> None:
    shown = printable(HOSTILE)
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert "\\x1b[2J" in shown
    assert "\\u202e" in shown
    assert printable("a" * 100, 10) == "a" * 9 + "…"


def test_a_cell_is_never_parsed_for_markup() -> None:
    console = Console(file=io.StringIO(), width=120)
    console.print(cell(HOSTILE))
    assert "[bold]x[/bold]" in console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "shown"),
    [("line\nnext\tcol", "line\nnext\tcol"), ("a\rb", "a\\x0db"), ("\u2028", "\\u2028")],
)
def test_inert_keeps_layout_and_escapes_the_rest(text: str, shown: str) -> None:
    assert inert(text) == shown


def test_log_records_are_made_inert() -> None:
    record = logging.LogRecord(
        "autoissue", logging.WARNING, __file__, 1, "failed: %s", (HOSTILE,), None
    )
    line = InertFormatter("%(levelname)s %(message)s").format(record)
    assert line.startswith("WARNING failed: \\x1b[2J")
    assert "\x1b" not in line
    assert "\x07" not in line


def test_the_summary_shows_a_hostile_failure_inert() -> None:
    summary = RunSummary(
        repo="o/r",
        processor="triage",
        dry_run=False,
        listed=1,
        processed=0,
        skipped={},
        failed=1,
        writes=0,
        api_calls=1,
        retries=0,
        seconds=0.1,
        failures=[{"issue": 3, "error": f"ValidationError: {HOSTILE}"}],
    )
    console = Console(file=io.StringIO(), width=200)
    print_summary(summary, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "#3: ValidationError: \\x1b[2J" in text
    assert "\u202e" not in text
