"""When items were opened through the API and first labelled, by whom: the referee's clock.

Kept only while webhooks are on (it lives beside the :class:`~autoissue.emulator._events.Notifier`,
which sees every ``opened`` and ``labeled`` event anyway), so an emulator without a webhook URL
pays nothing for it. ``GET /_emulator/timeline`` serves it; ``autoissue bench live`` reads its
creation-to-label latencies and each repository's share of the label writes from it.

Times are epoch seconds of the emulator's real clock (``time.time``, not the possibly
fake or compressed clock of the API): a latency is the difference of two of them. An item is
recorded as opened once, by the first ``opened`` event; it is recorded as labelled once per
login, at the first ``labeled`` event that login's write caused (a write adding two labels
records one time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["Timeline"]


class Timeline:
    """Opening and first-labelling times of items, per repository and login.

    ``now`` is the clock the times are read from (epoch seconds).
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._opened: dict[tuple[str, int], tuple[str, float]] = {}
        self._labelled: dict[tuple[str, int, str], float] = {}

    def __repr__(self) -> str:
        return f"Timeline(opened={len(self._opened)}, labelled={len(self._labelled)})"

    def opened(self, repo: str, number: int, login: str) -> None:
        """``login`` opened item ``number`` of ``repo`` just now (the first time counts)."""
        key = (repo, number)
        if key not in self._opened:
            self._opened[key] = (login, self._now())

    def labelled(self, repo: str, number: int, login: str) -> None:
        """``login`` added a label to item ``number`` of ``repo`` just now (the first counts)."""
        key = (repo, number, login)
        if key not in self._labelled:
            self._labelled[key] = self._now()

    def clear(self) -> None:
        """Forget everything recorded (the emulator's reset)."""
        self._opened.clear()
        self._labelled.clear()

    def snapshot(self) -> dict[str, Any]:
        """Everything recorded, oldest first: ``{"opened": [...], "labelled": [...]}``.

        Each entry has ``repo``, ``number``, ``login`` and ``at``.
        """
        return {
            "opened": [
                {"repo": repo, "number": number, "login": login, "at": at}
                for (repo, number), (login, at) in self._opened.items()
            ],
            "labelled": [
                {"repo": repo, "number": number, "login": login, "at": at}
                for (repo, number, login), at in self._labelled.items()
            ],
        }
