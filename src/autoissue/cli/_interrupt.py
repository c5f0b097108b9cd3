"""Ctrl-C or SIGTERM during a run: stop intake and let what is in flight finish; again aborts.

SIGTERM is what containers and service managers send, so it gets the same graceful stop as
a first Ctrl-C: the summary and the report are written, and the command exits with the
shell's status for the signal (130 for SIGINT, 143 for SIGTERM) so that scripts see the run
did not finish. Either way nothing is lost: what was not claimed stays queued, what was
claimed and not finished comes back when its lease expires, and the next run (or a worker)
carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Protocol

import click

__all__ = ["exit_status", "graceful_interrupt"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stoppable(Protocol):
    """What a signal asks to stop: an engine, or anything that drains like one."""

    def request_stop(self, reason: str = ...) -> None:
        """Stop taking new work and finish what is in flight; ``reason`` names the signal."""


def exit_status(interrupted: str | None) -> int:
    """The shell's status for a run a signal stopped (128 + its number); 0 if none did."""
    if interrupted is None or interrupted not in signal.Signals.__members__:
        return 0
    return 128 + int(signal.Signals[interrupted])


@contextlib.contextmanager
def graceful_interrupt(engine: Stoppable) -> Iterator[None]:
    """Within the block, a first SIGINT or SIGTERM asks ``engine`` to stop; the next interrupts."""
    loop = asyncio.get_running_loop()

    def first(received: signal.Signals) -> None:
        for number in _SIGNALS:
            loop.remove_signal_handler(number)  # the next signal interrupts at once
        name = "Ctrl-C" if received is signal.SIGINT else received.name
        click.echo(f"stopping ({name}): finishing the issues in flight (again to abort)", err=True)
        engine.request_stop(received.name)

    try:
        for number in _SIGNALS:
            loop.add_signal_handler(number, first, number)
    except (NotImplementedError, RuntimeError, ValueError):  # no signals here (not main thread)
        yield
        return
    try:
        yield
    finally:
        for number in _SIGNALS:
            loop.remove_signal_handler(number)
