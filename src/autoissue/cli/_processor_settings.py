"""A processor's own settings: ``[processor.NAME]`` in ``autoissue.toml``, then ``--option``.

::

    [processor.stale]
    days_before_stale = 30
    exempt_labels = ["pinned", "roadmap"]

    autoissue run --processor stale --option stale.days_before_close=14

Flags win over the file. Keys and values are checked by the processor's declared options
(:func:`autoissue.processors.coerce_options`): an unknown key is an error listing the known
ones, a value of the wrong type names the key and what it takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from autoissue._exceptions import ConfigurationError
from autoissue.processors import coerce_options

F = TypeVar("F", bound=Callable[..., Any])

option_flag = click.option(
    "--option",
    "processor_settings",
    multiple=True,
    metavar="NAME.KEY=VALUE",
    help="A processor's own setting, e.g. stale.days_before_stale=30 (repeat).",
)


def parse_flags(flags: Iterable[str]) -> dict[str, dict[str, str]]:
    """``NAME.KEY=VALUE`` flags as ``{NAME: {KEY: VALUE}}``; a malformed one is an error."""
    parsed: dict[str, dict[str, str]] = {}
    for flag in flags:
        target, equals, value = flag.partition("=")
        # Keys have no dots; names may (package.module:callable), so the last dot splits.
        name, dot, key = target.strip().rpartition(".")
        if not equals or not dot or not name or not key:
            raise ConfigurationError(f"--option {flag!r} must look like NAME.KEY=VALUE")
        parsed.setdefault(name, {})[key.strip()] = value.strip()
    return parsed


def settings_for(
    names: Iterable[str], flags: Iterable[str], tables: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Each named processor's checked settings: its table, overridden by its flags.

    A flag for a processor the command does not run is an error (it would do nothing);
    a table for one is not (the file serves every command).
    """
    wanted = list(names)
    given = parse_flags(flags)
    stray = sorted(set(given) - set(wanted))
    if stray:
        raise ConfigurationError(
            f"--option {stray[0]}.…: {stray[0]} is not a processor of this command "
            f"({', '.join(wanted)})"
        )
    return {
        name: coerce_options(name, {**tables.get(name, {}), **given.get(name, {})})
        for name in wanted
    }


def config_tables() -> dict[str, dict[str, Any]]:
    """The ``[processor.NAME]`` tables the root command read from the settings file."""
    context = click.get_current_context(silent=True)
    obj = context.find_root().obj if context is not None else None
    tables = obj.get("processor_tables", {}) if isinstance(obj, dict) else {}
    return dict(tables)
