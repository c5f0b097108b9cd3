"""What crosses the pipe between the pool and a worker: calls, outcomes and remote errors.

Task functions travel as ``module:qualname`` references, never as pickled code, so a worker
imports them (once, cached by ``sys.modules``) the way the template preloaded them. An exception
raised by a task is sent back with its worker-side traceback, which the pool attaches as the
exception's ``__cause__`` (after CPython's ``concurrent.futures.process``).
"""

from __future__ import annotations

import importlib
import pickle
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autoissue._exceptions import ConfigurationError, PoolError

__all__ = ["Beat", "Call", "Outcome", "Ready", "RemoteTraceback", "callable_ref", "capture"]


def callable_ref(fn: Callable[..., Any] | str) -> str:
    """The ``module:qualname`` a worker imports ``fn`` by; ``ConfigurationError`` if it has none.

    Lambdas, nested functions and functions defined in ``__main__`` cannot be imported by a
    worker, so they are refused here, in the caller, rather than failing later in the worker.
    """
    if isinstance(fn, str):
        module, sep, name = fn.partition(":")
        if not (sep and module and name):
            raise ConfigurationError(f"a task reference is 'module:callable', not {fn!r}")
        return fn
    owner = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not owner or not qualname or "<" in qualname or owner == "__main__":
        raise ConfigurationError(
            f"task functions must be importable top-level callables (module:callable): {fn!r}"
        )
    return f"{owner}:{qualname}"


def resolve(ref: str) -> Callable[..., Any]:
    """Import the callable a ``module:qualname`` reference names."""
    module, _, qualname = ref.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Call:
    """Pool to worker: run ``ref(*args)`` as task ``task_id``."""

    task_id: int
    ref: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Ready:
    """Worker to pool: worker ``pid`` can take a task; ``rss`` is its baseline after GC."""

    pid: int
    rss: int


@dataclass(frozen=True, slots=True)
class Beat:
    """Worker to pool, while busy: still alive and running ``task_id``, at ``rss`` bytes."""

    task_id: int
    rss: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """Worker to pool: task ``task_id`` returned ``value`` (``ok``) or raised it.

    ``rss`` is measured after ``gc.collect()``, so growth means memory the task kept.
    """

    task_id: int
    ok: bool
    value: Any
    rss: int


class RemoteTraceback(Exception):
    """The worker-side traceback of a task's exception, attached as that exception's cause."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


class _ExceptionWithTraceback:
    """An exception and its formatted traceback, pickled together, rebuilt as exc + cause."""

    def __init__(self, exc: BaseException, tb: str) -> None:
        self.exc = exc
        self.tb = tb

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_exc, (self.exc, self.tb))


def _rebuild_exc(exc: BaseException, tb: str) -> BaseException:
    exc.__cause__ = RemoteTraceback(tb)
    return exc


def capture(exc: BaseException) -> object:
    """Wrap a task's exception for the trip to the pool, with its traceback as text.

    An exception that does not pickle is replaced by a :class:`PoolError` saying what it was,
    so a strange exception type can never break the pipe.
    """
    text = "".join(traceback.format_exception(exc))
    tb = f'\n"""\n{text}"""'
    exc.__traceback__ = None  # frames hold locals that need not (and may not) pickle
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - any pickling failure means: send a stand-in
        exc = PoolError(f"the task raised an unpicklable {type(exc).__name__}: {exc}")
    return _ExceptionWithTraceback(exc, tb)
