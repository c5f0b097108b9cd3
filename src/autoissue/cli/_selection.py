"""Which issues a run takes, shared by ``run`` and ``scan`` so a scan previews the same run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from autoissue.engine import DEFAULT_SKIP_LABELS, Selector
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
    click.option(
        "--skip-label",
        "skip_labels",
        multiple=True,
        help="Skip issues with this label (repeat; default: wontfix, duplicate, invalid).",
    ),
    click.option(
        "--no-skip-labels",
        is_flag=True,
        help="Skip no issue for its labels (not even the defaults).",
    ),
    click.option("--include-locked", is_flag=True, help="Also process locked issues."),
)


def selection_options(command: F) -> F:
    """Add ``--priority``, ``--max-complexity``, ``--max-issues`` and the skip rules."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def chosen_priorities(options: dict[str, Any]) -> frozenset[Priority] | None:
    """The ``--priority`` values as priorities; ``None`` when none was given (all)."""
    return frozenset(Priority[name.upper()] for name in options["priorities"]) or None


def skipped_labels(options: dict[str, Any]) -> frozenset[str]:
    """The labels that keep an issue out: ``--skip-label``, the defaults, or none at all."""
    if options["no_skip_labels"]:
        if options["skip_labels"]:
            raise click.UsageError("--skip-label and --no-skip-labels contradict each other")
        return frozenset()
    return frozenset(options["skip_labels"]) or DEFAULT_SKIP_LABELS


def selection_settings(options: dict[str, Any]) -> dict[str, Any]:
    """:class:`~autoissue.engine.Selector`'s keyword arguments, as ``options`` describe them."""
    return {
        "priorities": chosen_priorities(options),
        "max_complexity": options["max_complexity"],
        "skip_labels": skipped_labels(options),
        "skip_locked": not options["include_locked"],
    }


def selector(processor: Processor, options: dict[str, Any]) -> Selector:
    """The selector ``options`` describe for ``processor``."""
    return Selector(processor, **selection_settings(options))
