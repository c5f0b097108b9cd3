"""A processor's options as a settings file or the command line give them: checked and typed.

A processor's options are the keyword parameters its factory declares (a class's ``__init__``),
typed by their annotations. A built-in factory that forwards ``**options`` to a configuration
class (``stale`` to :class:`~autoissue.processors._stale.StaleConfig`, ``command`` to
:class:`~autoissue.agent.CommandConfig`) declares that class's fields instead. Text from the
command line becomes the declared type; a value that a TOML file already gives in that type
passes through. Parameters no file or flag can spell (a clock, a corpus of issues, a trust
policy) are not options here: code that needs them passes them to ``get_processor`` itself.
"""

from __future__ import annotations

import contextlib
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal, TypeVar

from autoissue._exceptions import ConfigurationError
from autoissue.agent import CommandConfig
from autoissue.processors._loading import is_processor_instance
from autoissue.processors._registry import command, processor_target
from autoissue.processors._stale import StaleConfig, stale

_Converter = Callable[[object], object]
_T = TypeVar("_T")

_BOOLEANS = {
    **dict.fromkeys(("true", "yes", "on", "1"), True),
    **dict.fromkeys(("false", "no", "off", "0"), False),
}
_NONE_WORDS = frozenset({"none", "never"})  # "days_before_close = never"

# Built-in factories that take ``**options`` only to hand them to a configuration class.
_FORWARDED_TO: dict[Callable[..., object], Callable[..., object]] = {
    stale: StaleConfig,
    command: CommandConfig,
}
# What ``command`` gets from the command line's own flags and environment (the agent, the
# token, the trust policy, where its state lives): a settings file sets only its plain options.
_SET_BY_CALLER: dict[Callable[..., object], frozenset[str]] = {
    command: frozenset({"preset", "argv", "env", "git_token", "trust", "state_dir", "author"}),
}


class _WrongType(Exception):
    """A value that is not of an option's type; the argument says what the type takes."""


@dataclass(frozen=True, slots=True)
class _Declared:
    """The options a processor declares, and whether it takes undeclared ones as they are."""

    converters: dict[str, _Converter]
    open: bool


def option_names(name: str) -> list[str]:
    """The options processor ``name`` declares, sorted: the keys :func:`coerce_options` takes.

    ``name`` is looked up as :func:`~autoissue.processors.get_processor` does; an unknown one
    raises :class:`~autoissue.ConfigurationError`.
    """
    return sorted(_declared(name).converters)


def coerce_options(name: str, raw: Mapping[str, object]) -> dict[str, Any]:
    """``raw`` options for processor ``name``, checked by name and converted to declared types.

    Strings (from the command line) become the declared type: numbers; booleans from
    ``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``; ``None`` from ``none`` or
    ``never`` where an option may be ``None`` (``days_before_close=never``); sets and tuples
    of names from comma-separated text (``pinned,security``) or a TOML list. Values that
    already have the type pass through. The result is what ``get_processor(name, **result)``
    takes. A factory with ``**options`` and nothing to forward them to takes undeclared keys
    as they are.

    Raises :class:`~autoissue.ConfigurationError` for an unknown processor, for a key it does
    not declare (``processor stale has no option 'days_befor_stale' (known: ...)``) and for a
    value of the wrong type (``processor stale option days_before_stale: expected a number,
    got 'soon'``).
    """
    declared = _declared(name)
    coerced: dict[str, Any] = {}
    for key, value in raw.items():
        convert = declared.converters.get(key)
        if convert is not None:
            coerced[key] = _converted(name, key, value, convert)
        elif declared.open:
            coerced[key] = value
        else:
            raise ConfigurationError(_unknown(name, key, declared))
    return coerced


def _converted(name: str, key: str, value: object, convert: _Converter) -> object:
    try:
        return convert(value)
    except _WrongType as wrong:
        raise ConfigurationError(
            f"processor {name} option {key}: expected {wrong}, got {value!r}"
        ) from None


def _unknown(name: str, key: str, declared: _Declared) -> str:
    known = ", ".join(sorted(declared.converters))
    listed = f"known: {known}" if known else "it takes none"
    return f"processor {name} has no option {key!r} ({listed})"


# -- what a processor declares -------------------------------------------------------------------


def _declared(name: str) -> _Declared:
    target = processor_target(name)
    if is_processor_instance(target) or not callable(target):
        return _Declared({}, open=False)  # get_processor says what is wrong with options for it
    kinds, is_open = _parameters(target)
    forwarded = _builtin(_FORWARDED_TO, target)
    if forwarded is not None:
        kinds, is_open = {**kinds, **_parameters(forwarded)[0]}, False
    reserved = _builtin(_SET_BY_CALLER, target) or frozenset()
    converters = {key: _converter(kind) for key, kind in kinds.items() if key not in reserved}
    return _Declared({key: c for key, c in converters.items() if c is not None}, is_open)


def _builtin(table: dict[Callable[..., object], _T], target: object) -> _T | None:
    # By identity: a plugin's factory need not be hashable.
    return next((value for factory, value in table.items() if factory is target), None)


def _parameters(target: Callable[..., object]) -> tuple[dict[str, object], bool]:
    # The keyword parameters and their types, and whether it takes ``**options`` too.
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # no signature to read (a C callable): take keys as given
        return {}, True
    hints = _hints(target)
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    kinds = {
        parameter.name: hints.get(parameter.name, Any)
        for parameter in signature.parameters.values()
        if parameter.kind in keyword
    }
    is_open = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    return kinds, is_open


def _hints(target: Callable[..., object]) -> dict[str, object]:
    function = target.__init__ if inspect.isclass(target) else target
    try:
        return typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - annotations are plugin code; unreadable ones check nothing
        return {}


# -- converting a value to a declared type ------------------------------------------------------


def _as_is(value: object) -> object:
    return value


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise _WrongType("true or false")


def _to_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
    raise _WrongType("a whole number")


def _to_float(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value.strip())
    raise _WrongType("a number")


def _to_str(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _WrongType("a string")


def _to_path(value: object) -> Path:
    if isinstance(value, str | PurePath):
        return Path(value)
    raise _WrongType("a path")


_SCALARS: dict[object, _Converter] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
    Path: _to_path,
}
_ITEMS: dict[object, tuple[_Converter, str]] = {
    str: (_to_str, "names"),
    int: (_to_int, "whole numbers"),
    float: (_to_float, "numbers"),
}
_COLLECTIONS: dict[object, Callable[[Iterable[object]], object]] = {
    frozenset: frozenset,
    set: set,
    Set: frozenset,
    list: list,
    tuple: tuple,
    Sequence: tuple,
    Iterable: tuple,
}


def _converter(kind: object) -> _Converter | None:
    """How to turn a setting into a value of ``kind``, or ``None`` when no setting can be one."""
    if kind is Any or kind is object:
        return _as_is
    if kind in _SCALARS:
        return _SCALARS[kind]
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is types.UnionType or origin is typing.Union:
        return _optional(args)
    if origin is Literal:
        return _choice(args)
    if origin in _COLLECTIONS:
        return _collection(_COLLECTIONS[origin], args)
    return None


def _optional(members: tuple[object, ...]) -> _Converter | None:
    # ``X | None`` only: a union of several types would make text ambiguous.
    others = [member for member in members if member is not type(None)]
    convert = _converter(others[0]) if len(others) == 1 < len(members) else None
    if convert is None:
        return None
    words = others[0] is not str  # "none" is a perfectly good string

    def optional(value: object) -> object:
        if value is None or (
            words and isinstance(value, str) and value.strip().lower() in _NONE_WORDS
        ):
            return None
        return convert(value)

    return optional


def _choice(choices: tuple[object, ...]) -> _Converter:
    by_text = {str(choice): choice for choice in choices}

    def choice(value: object) -> object:
        if value in choices:
            return value
        if isinstance(value, str) and value.strip() in by_text:
            return by_text[value.strip()]
        raise _WrongType("one of " + ", ".join(by_text))

    return choice


def _collection(
    build: Callable[[Iterable[object]], object], args: tuple[object, ...]
) -> _Converter | None:
    item_kind = args[0] if args else str
    if len(args) > 1 and args[1:] != (Ellipsis,):
        return None  # a fixed-length tuple: (name, email) is no list
    if item_kind not in _ITEMS:
        return None
    convert, plural = _ITEMS[item_kind]

    def collection(value: object) -> object:
        items = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
        if not isinstance(items, list | tuple | set | frozenset):
            raise _WrongType(f"a list of {plural}")
        try:
            return build(convert(item) for item in items if item != "")
        except _WrongType:
            raise _WrongType(f"a list of {plural}") from None

    return collection
