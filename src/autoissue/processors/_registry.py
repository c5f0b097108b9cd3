"""Built-in processors by name."""

from __future__ import annotations

from collections.abc import Callable

from autoissue._exceptions import ConfigurationError
from autoissue.processors._base import Processor
from autoissue.processors._triage import Triage

BUILTIN_PROCESSORS: dict[str, Callable[[], Processor]] = {"triage": Triage}


def get_processor(name: str) -> Processor:
    """A new instance of the built-in processor called ``name``."""
    try:
        factory = BUILTIN_PROCESSORS[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_PROCESSORS))
        raise ConfigurationError(f"unknown processor {name!r} (known: {known})") from None
    return factory()
