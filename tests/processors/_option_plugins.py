"""User processors declaring options of every kind a settings file can spell, and some it cannot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from autoissue import Clock
from tests.processors._plugins import Echo

if TYPE_CHECKING:
    from decimal import Decimal


class Tuned(Echo):
    """A processor class whose keyword parameters are its options."""

    def __init__(
        self,
        *,
        level: int = 1,
        ratio: float = 0.5,
        verbose: bool = False,
        tags: tuple[str, ...] = (),
        ids: frozenset[int] = frozenset(),
        weights: Sequence[float] = (),
        mode: Literal["fast", "slow"] = "fast",
        limit: int | None = None,
        label: str | None = None,
        out: Path = Path("out"),
        extra: Any = None,
        untyped=None,  # no annotation: any value
        clock: Clock | None = None,
        pair: tuple[str, str] = ("a", "b"),
        either: int | str = 0,
    ) -> None:
        super().__init__(name="tuned")
        self.level, self.tags, self.out = level, tags, out


def make_loose(*, level: int = 1, **options: object) -> Echo:
    """A factory declaring one option and taking any other."""
    return Echo(name=f"loose-{level}-{len(options)}")


def make_unreadable(*, amount: Decimal | None = None) -> Echo:
    """A factory whose annotation names a type only a type checker imports."""
    return Echo(name=f"amount-{amount}")
