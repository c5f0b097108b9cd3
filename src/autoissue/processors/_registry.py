"""Processors by name: built-in, then installed entry points, then ``module:callable`` paths.

A processor that needs options registers a *factory*: a callable taking keyword options and
returning a processor (a class with keyword-only ``__init__`` arguments is one). ``get_processor``
passes the options through and turns a wrong option into a
:class:`~autoissue.ConfigurationError`, so a new built-in is one line in
:data:`BUILTIN_PROCESSORS`, and a plugin is one entry point in group ``autoissue.processors``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autoissue._exceptions import ConfigurationError
from autoissue.agent import CommandConfig
from autoissue.processors._base import Processor
from autoissue.processors._command import CommandProcessor
from autoissue.processors._duplicates import Duplicates
from autoissue.processors._loading import (
    entry_point,
    entry_point_names,
    import_object,
    instantiate,
    load_entry_point,
)
from autoissue.processors._stale import stale
from autoissue.processors._triage import Triage

#: Called with a processor's keyword options; returns the processor.
ProcessorFactory = Callable[..., Processor]


def command(
    *, preset: str | None = "fake", argv: tuple[str, ...] = (), **options: Any
) -> CommandProcessor:
    """The ``command`` processor: an agent ``preset`` (plus ``argv``), or ``argv`` alone."""
    if preset:
        return CommandProcessor(CommandConfig.preset(preset, *argv, **options))
    return CommandProcessor(CommandConfig(argv=argv, **options))


BUILTIN_PROCESSORS: dict[str, ProcessorFactory] = {
    "command": command,
    "duplicates": Duplicates,
    "stale": stale,
    "triage": Triage,
}


def available_processors() -> list[str]:
    """The names ``get_processor`` knows without a ``module:callable`` path."""
    return sorted({*BUILTIN_PROCESSORS, *entry_point_names()})


def processor_target(name: str) -> object:
    """What processor ``name`` refers to: a factory, a processor class or a processor itself.

    ``name`` is looked up as :func:`get_processor` does; an unknown one raises
    :class:`~autoissue.ConfigurationError` listing the known names.
    """
    if name in BUILTIN_PROCESSORS:
        return BUILTIN_PROCESSORS[name]
    if ":" in name:
        return import_object(name)
    point = entry_point(name)
    if point is None:
        known = ", ".join(available_processors())
        raise ConfigurationError(
            f"unknown processor {name!r} (known: {known}; or give package.module:callable)"
        )
    return load_entry_point(point)


def get_processor(name: str, /, **options: Any) -> Processor:
    """A new processor called ``name``, built with keyword ``options``.

    ``name`` is a built-in (``triage``, ``duplicates``, ``stale``, ``command``), the name of
    an entry point in group ``autoissue.processors``, or ``package.module:callable`` where
    the callable is a processor class, a factory returning a processor, or a processor
    itself. Every failure raises :class:`~autoissue.ConfigurationError` saying what went wrong.
    Options read from a settings file or the command line go through
    :func:`~autoissue.processors.coerce_options` first.
    """
    return instantiate(processor_target(name), name, options)
