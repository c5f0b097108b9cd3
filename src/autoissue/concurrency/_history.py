"""Scaling history: what the controller learned, kept so a restart starts near the optimum.

The store contract is deliberately small (``save`` a whole snapshot, ``load`` the last one):
the in-memory store serves tests, the JSON file store a single machine, and the state store
can back it later without the controller noticing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import msgspec

__all__ = [
    "JsonFileHistoryStore",
    "MemoryHistoryStore",
    "ScalingEvent",
    "ScalingHistory",
    "ScalingHistoryStore",
]

logger = logging.getLogger(__name__)


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


class JsonFileHistoryStore:
    """One JSON file, replaced atomically (written beside it, then renamed over it)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def save(self, history: ScalingHistory) -> None:
        """Write ``history``; a crash mid-write leaves the previous file intact."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_bytes(msgspec.json.encode(history))
        os.replace(partial, self.path)

    def load(self) -> ScalingHistory | None:
        """Read the file; None when it is missing or unreadable."""
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=ScalingHistory)
        except FileNotFoundError:
            return None
        except (OSError, msgspec.DecodeError) as error:
            logger.warning("ignoring unreadable scaling history %s: %s", self.path, error)
            return None

    def __repr__(self) -> str:
        return f"<JsonFileHistoryStore {self.path}>"
