"""Which issues a run takes, shared by ``run`` and ``scan`` so a scan previews the same run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from autoissue.engine import Selector
from autoissue.model import Priority
from autoissue.processors import Processor

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--priority",
        "priorities",
        multiple=True,
        type=click.Choice(["critical", "high", "medium", "low"]),
        help="Only issues at this priority (repeat for several; default: all).",
    ),
    click.option(
        "--max-complexity",
        type=click.FloatRange(0, 1, min_open=True),
        help="Skip issues whose complexity score reaches this (0.7 suits agents).",
    ),
    click.option(
        "--max-issues",
        type=click.IntRange(min=1),
        help="Process at most this many, most urgent first.",
    ),
)


def selection_options(command: F) -> F:
    """Add ``--priority``, ``--max-complexity`` and ``--max-issues`` to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def chosen_priorities(options: dict[str, Any]) -> frozenset[Priority] | None:
    """The ``--priority`` values as priorities; ``None`` when none was given (all)."""
    return frozenset(Priority[name.upper()] for name in options["priorities"]) or None


def selector(processor: Processor, options: dict[str, Any]) -> Selector:
    """The selector ``options`` describe for ``processor``."""
    return Selector(
        processor,
        priorities=chosen_priorities(options),
        max_complexity=options["max_complexity"],
    )
