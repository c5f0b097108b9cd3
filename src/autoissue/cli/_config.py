"""``autoissue.toml``: defaults for every command's options, below environment and flags.

Precedence, lowest first: the option's own default, ``autoissue.toml``, an ``AUTOISSUE_*``
environment variable, the flag. The file holds shared settings at the top level (used by every
command that has an option of that name) and a table per command::

    backend = "sqlite:///.autoissue/state.db"
    base_url = "https://github.example.com/api/v3"

    [run]
    repo = "acme/widgets"
    concurrency = 50

A key no command knows is an error that names it and lists the known ones: a typo must not
silently fall back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import click

from autoissue._exceptions import ConfigurationError

DEFAULT_CONFIG = Path("autoissue.toml")


def load_config(path: Path | None) -> dict[str, Any]:
    """The parsed file (``{}`` when no file was named and ``autoissue.toml`` is absent)."""
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            return {}
        path = DEFAULT_CONFIG
    try:
        with path.open("rb") as source:
            return tomllib.load(source)
    except OSError as error:
        raise ConfigurationError(f"cannot read {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}") from None


def default_map(group: click.Group, config: dict[str, Any], source: str) -> dict[str, Any]:
    """Click's ``default_map`` for ``group``'s commands from a parsed config file."""
    shared = {key: value for key, value in config.items() if not isinstance(value, dict)}
    tables = {key: value for key, value in config.items() if isinstance(value, dict)}
    unknown_tables = sorted(set(tables) - set(group.commands))
    if unknown_tables:
        known = ", ".join(sorted(group.commands))
        raise ConfigurationError(f"{source}: no command [{unknown_tables[0]}] (known: {known})")
    _check_shared(group, shared, source)
    result: dict[str, Any] = {}
    for name, command in group.commands.items():
        names = _option_names(command)
        defaults = {key: value for key, value in shared.items() if key in names}
        defaults |= _checked_table(name, names, tables.get(name, {}), source)
        if defaults:
            result[name] = defaults
    return result


def _option_names(command: click.Command) -> set[str]:
    return {param.name for param in command.params if param.name}


def _check_shared(group: click.Group, shared: dict[str, Any], source: str) -> None:
    known = set().union(*(_option_names(command) for command in group.commands.values()))
    for key in sorted(shared):
        if key not in known:
            raise ConfigurationError(f"{source}: unknown setting {key!r}")


def _checked_table(
    command: str, names: set[str], table: dict[str, Any], source: str
) -> dict[str, Any]:
    for key in sorted(table):
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigurationError(
                f"{source}: [{command}] has no setting {key!r} (known: {known})"
            )
    return table
