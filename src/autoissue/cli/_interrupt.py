"""Ctrl-C during a run: the first stops intake and lets what is in flight finish; the next aborts.

Either way nothing is lost: what was not claimed stays queued, what was claimed and not
finished comes back when its lease expires, and the next run (or a worker) carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import click

from autoissue.engine import Engine


@contextlib.contextmanager
def graceful_interrupt(engine: Engine) -> Iterator[None]:
    """Within the block, a first SIGINT asks ``engine`` to stop; the next one interrupts."""
    loop = asyncio.get_running_loop()

    def first() -> None:
        loop.remove_signal_handler(signal.SIGINT)  # the next Ctrl-C interrupts at once
        click.echo("stopping: finishing the issues in flight (Ctrl-C again to abort)", err=True)
        engine.request_stop()

    try:
        loop.add_signal_handler(signal.SIGINT, first)
    except (NotImplementedError, RuntimeError, ValueError):  # no signals here (not main thread)
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
