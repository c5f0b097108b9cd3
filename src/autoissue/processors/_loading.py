"""Turning a name into a processor: ``module:callable`` paths, entry points, and checks.

Every failure — no such module, no such attribute, an object that is not a processor, a
constructor that raises — becomes a :class:`~autoissue.ConfigurationError` that names what was
asked for and why it failed, with the original error as its ``__cause__``.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from autoissue._exceptions import ConfigurationError
from autoissue.processors._base import Isolation, Processor

#: Installed packages offer processors under this entry-point group, by name.
ENTRY_POINT_GROUP = "autoissue.processors"


def _import(spec: str, module_name: str) -> object:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise ConfigurationError(f"processor {spec!r}: no module named {missing!r}") from exc
        raise ConfigurationError(
            f"processor {spec!r}: importing {module_name!r} failed: {exc}"
        ) from exc
    except Exception as exc:  # an import runs arbitrary code: report whatever it raised
        raise ConfigurationError(
            f"processor {spec!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from exc


def import_object(spec: str) -> object:
    """The object ``spec`` names, written ``package.module:attribute`` (dotted attribute paths)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute or ":" in attribute:
        raise ConfigurationError(f"processor {spec!r} must look like 'package.module:callable'")
    target = _import(spec, module_name)
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise ConfigurationError(
                f"processor {spec!r}: {module_name!r} has no attribute {attribute!r}"
            ) from exc
    return target


def entry_point(name: str) -> EntryPoint | None:
    """The installed entry point offering processor ``name``, if any."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP).select(name=name), key=str)
    return found[0] if found else None


def entry_point_names() -> list[str]:
    """The names of the processors installed packages offer."""
    return sorted({point.name for point in entry_points(group=ENTRY_POINT_GROUP)})


def load_entry_point(point: EntryPoint) -> object:
    """What the entry point refers to; failures name the entry point and its value."""
    try:
        return point.load()
    except Exception as exc:  # loading imports a plugin: report whatever it raised
        raise ConfigurationError(
            f"processor {point.name!r} (entry point {point.value!r} in group "
            f"{ENTRY_POINT_GROUP!r}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc


def _problems(candidate: object) -> list[str]:
    problems = []
    name = getattr(candidate, "name", None)
    if not isinstance(name, str) or not name:
        problems.append("no name")
    if not isinstance(getattr(candidate, "isolation", None), Isolation):
        problems.append("no isolation")
    if not callable(getattr(candidate, "select", None)):
        problems.append("no select()")
    if not inspect.iscoroutinefunction(getattr(candidate, "process", None)):
        problems.append("no async process()")
    pooled = getattr(candidate, "isolation", None) is Isolation.POOL
    if pooled and not inspect.iscoroutinefunction(getattr(candidate, "prepare", None)):
        problems.append("isolation 'pool' but no async prepare()")
    return problems


def _checked(made: object, spec: str) -> Processor:
    problems = _problems(made)
    if problems:
        raise ConfigurationError(
            f"processor {spec!r} made a {type(made).__name__}, which is not a processor "
            f"({', '.join(problems)})"
        )
    return made  # type: ignore[return-value]  # checked by _problems


def is_processor_instance(target: object) -> bool:
    """Whether ``target`` is a processor itself, rather than a class or a factory making one."""
    return not inspect.isclass(target) and not _problems(target)


def instantiate(target: object, spec: str, options: dict[str, Any]) -> Processor:
    """A processor from ``target``: a processor itself, a processor class or a factory.

    Classes and factories are called with ``options`` as keyword arguments; an instance takes
    no options.
    """
    if is_processor_instance(target):
        if options:
            raise ConfigurationError(f"processor {spec!r} is an instance: it takes no options")
        return target  # type: ignore[return-value]  # checked by _problems
    if not callable(target):
        raise ConfigurationError(
            f"processor {spec!r} is a {type(target).__name__}, not a processor or a factory"
        )
    try:
        made = target(**options)
    except Exception as exc:  # a constructor runs plugin code: report whatever it raised
        raise ConfigurationError(
            f"constructing processor {spec!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    return _checked(made, spec)
