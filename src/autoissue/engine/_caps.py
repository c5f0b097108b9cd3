"""Caps on how many issues are admitted: per run, and per clock hour across runs.

The hourly count lives in the state store, so it holds across runs and restarts (and, on
Redis, across machines — read then written, so two runs admitting in the same instant may
overshoot by one page). Issues over a cap are not enqueued: a later run picks them up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from autoissue.state import StateStore


class AdmissionCaps:
    """How many more issues may be admitted now: ``None`` means no cap applies."""

    def __init__(
        self,
        state: StateStore,
        scope: str,
        *,
        per_run: int | None = None,
        per_hour: int | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.state, self.scope = state, f"@caps:{scope}"
        self.per_run, self.per_hour, self._now = per_run, per_hour, now
        self.admitted = 0

    def __repr__(self) -> str:
        return f"<AdmissionCaps {self.scope} run={self.per_run} hour={self.per_hour}>"

    async def room(self) -> int | None:
        """Issues that may still be admitted under every cap."""
        rooms = []
        if self.per_run is not None:
            rooms.append(self.per_run - self.admitted)
        if self.per_hour is not None:
            rooms.append(self.per_hour - await self._this_hour())
        return max(0, min(rooms)) if rooms else None

    async def spend(self, count: int) -> None:
        """Count ``count`` more admitted issues."""
        if count <= 0:
            return
        self.admitted += count
        if self.per_hour is not None:
            total = await self._this_hour() + count
            await self.state.record(self.scope, self._hour(), "", str(total))

    async def _this_hour(self) -> int:
        entry = await self.state.lookup(self.scope, self._hour())
        return int(entry.outcome) if entry is not None else 0

    def _hour(self) -> str:
        return time.strftime("hour-%Y%m%dT%H", time.gmtime(self._now()))
