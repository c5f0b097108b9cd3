"""Scaling history: what the controller learned, kept so a restart starts near the optimum.

The store contract is deliberately small (``save`` a whole snapshot, ``load`` the last one),
and synchronous: the controller loads when it is built and saves when a run ends. A run keeps
the snapshot in a :class:`MemoryHistoryStore` and the backend keeps that between runs
(:meth:`autoissue.backend.Backend.scaling_history`), on every machine that shares it.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

__all__ = [
    "MemoryHistoryStore",
    "ScalingEvent",
    "ScalingHistory",
    "ScalingHistoryStore",
]


class ScalingEvent(msgspec.Struct, frozen=True):
    """The limit moved from ``old`` to ``new`` at ``time`` (epoch seconds), for ``reason``."""

    time: float
    old: int
    new: int
    reason: str


class ScalingHistory(msgspec.Struct, frozen=True):
    """A snapshot: the last limit, recent (concurrency, throughput) windows, recent events."""

    limit: int | None = None
    observations: tuple[tuple[float, float], ...] = ()
    events: tuple[ScalingEvent, ...] = ()
    saved_at: float = 0.0


class ScalingHistoryStore(Protocol):
    """Where history lives. ``save`` replaces the snapshot atomically; ``load`` returns it.

    ``load`` returns None when nothing was saved, or when what was saved cannot be read (a
    damaged history must never stop a run: the controller then starts from its defaults).
    """

    def save(self, history: ScalingHistory) -> None:
        """Replace the stored snapshot with ``history``."""
        ...

    def load(self) -> ScalingHistory | None:
        """Return the stored snapshot, or None."""
        ...


class MemoryHistoryStore:
    """Keeps the snapshot in memory: for tests and for runs that should not remember."""

    def __init__(self, history: ScalingHistory | None = None) -> None:
        self.history = history

    def save(self, history: ScalingHistory) -> None:
        """Keep ``history``."""
        self.history = history

    def load(self) -> ScalingHistory | None:
        """Return the kept snapshot."""
        return self.history

    def __repr__(self) -> str:
        return f"<MemoryHistoryStore saved={self.history is not None}>"
