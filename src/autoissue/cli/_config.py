"""``autoissue.toml``: defaults for every command's options, below environment and flags.

Precedence, lowest first: the option's own default, ``autoissue.toml``, an ``AUTOISSUE_*``
environment variable, the flag. The file holds shared settings at the top level (used by every
command that has an option of that name) and a table per command::

    backend = "sqlite:///.autoissue/state.db"
    base_url = "https://github.example.com/api/v3"

    [run]
    repo = "acme/widgets"
    concurrency = 50

    [processor.stale]
    days_before_stale = 30

``autoissue scan`` previews the run ``[run]`` describes: it takes the ``[run]`` settings it
has options for, then its own ``[scan]`` table.

A key no command knows is an error that names it and lists the known ones: a typo must not
silently fall back to a default.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterator, Mapping
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
    """Click's ``default_map`` for ``group``'s commands from a parsed config file.

    Every value is checked against its option's type here, so a wrong one is reported by
    its key in the file, not by a flag the person never typed. ``[processor.NAME]`` tables
    are processors' own options (see :func:`processor_tables`), not commands.
    """
    config = {key: value for key, value in config.items() if not _is_processor_tables(key, value)}
    shared = {key: value for key, value in config.items() if not isinstance(value, dict)}
    tables = {key: value for key, value in config.items() if isinstance(value, dict)}
    unknown_tables = sorted(set(tables) - set(group.commands))
    if unknown_tables:
        known = ", ".join(sorted(group.commands))
        raise ConfigurationError(f"{source}: no command [{unknown_tables[0]}] (known: {known})")
    _check_shared(group, shared, source)
    result: dict[str, Any] = {}
    for name, command in group.commands.items():
        defaults = _command_defaults(name, _options(command), shared, tables, source)
        if defaults:
            result[name] = defaults
    return result


def _command_defaults(
    name: str,
    options: dict[str, click.Parameter],
    shared: dict[str, Any],
    tables: dict[str, Any],
    source: str,
) -> dict[str, Any]:
    defaults = {key: value for key, value in shared.items() if key in options}
    inherited = tables.get(_PREVIEWS.get(name, ""), {})
    defaults |= {key: value for key, value in inherited.items() if key in options}
    defaults |= _checked_table(name, set(options), tables.get(name, {}), source)
    return {
        key: _checked_value(options[key], value, f"{source}: {_where(name, key, tables)}")
        for key, value in defaults.items()
    }


#: A command that previews another takes that command's table first: ``scan`` shows the run
#: ``[run]`` describes, and ``[scan]`` overrides it.
_PREVIEWS = {"scan": "run"}


def processor_tables(config: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """The ``[processor.NAME]`` tables: each processor's options, by processor name."""
    tables = config.get("processor")
    if not _is_processor_tables("processor", tables):
        return {}
    assert isinstance(tables, dict)  # noqa: S101 - checked just above
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigurationError(
                f"{source}: processor.{name} must be a table: [processor.{name}] then KEY = VALUE"
            )
    return tables


def _is_processor_tables(key: str, value: object) -> bool:
    # ``processor = "stale"`` is the --processor setting; ``[processor.stale]`` a table of tables.
    return key == "processor" and isinstance(value, dict)


def _where(command: str, key: str, tables: dict[str, Any]) -> str:
    for table in (command, _PREVIEWS.get(command, "")):
        if key in tables.get(table, {}):
            return f"[{table}] {key}"
    return key


def _options(command: click.Command) -> dict[str, click.Parameter]:
    return {param.name: param for param in command.params if param.name}


def _checked_value(param: click.Parameter, value: Any, where: str) -> Any:
    if param.multiple and isinstance(value, str):
        value = [value]  # one value where several may go: ``priority = "high"``
    try:
        param.type_cast_value(click.Context(click.Command("config")), value)
    except click.BadParameter as error:
        raise ConfigurationError(f"{where} = {value!r}: {error.message}") from None
    return value


def _check_shared(group: click.Group, shared: dict[str, Any], source: str) -> None:
    known = set().union(*(_options(command) for command in group.commands.values()))
    for key in sorted(shared):
        if key not in known:
            raise ConfigurationError(f"{source}: unknown setting {key!r} ({_hint(key, known)})")


def _hint(key: str, known: set[str]) -> str:
    names = sorted(known)
    nearest = difflib.get_close_matches(key, names, n=1)
    listed = f"known: {', '.join(names)}"
    return f"did you mean {nearest[0]!r}? {listed}" if nearest else listed


def _checked_table(
    command: str, names: set[str], table: dict[str, Any], source: str
) -> dict[str, Any]:
    for key in sorted(table):
        if key not in names:
            raise ConfigurationError(
                f"{source}: [{command}] has no setting {key!r} ({_hint(key, names)})"
            )
    return table


def unknown_environment(
    group: click.Group, environ: Mapping[str, str], prefix: str = "AUTOISSUE"
) -> list[str]:
    """Warnings for ``AUTOISSUE_<COMMAND>_…`` variables no option reads, each with the nearest.

    Only variables that start with a command's prefix are judged: others (``AUTOISSUE_REPO``
    given to agents, say) are not settings of this program.
    """
    known = dict(_environment_names(group, prefix))
    warnings = []
    for key in sorted(environ):
        command = next((p for p in known if key.startswith(p + "_")), None)
        if command is None or key in known[command]:
            continue
        nearest = difflib.get_close_matches(key, sorted(known[command]), n=1)
        hint = f" (did you mean {nearest[0]}?)" if nearest else ""
        warnings.append(f"warning: {key} is not an option of autoissue and is ignored{hint}")
    return warnings


def _environment_names(group: click.Group, prefix: str) -> Iterator[tuple[str, set[str]]]:
    for name, command in group.commands.items():
        own = f"{prefix}_{name.upper().replace('-', '_')}"
        names = {f"{own}_{param.name.upper()}" for param in command.params if param.name}
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            names |= {envvar} if isinstance(envvar, str) else set(envvar or ())
        if isinstance(command, click.Group):
            for _, nested in _environment_names(command, own):
                names |= nested
        yield own, names
