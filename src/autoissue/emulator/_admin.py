"""The emulator's own API under ``/_emulator/``: state, stats, live settings, edits, reset.

The contract is shared/EMULATOR.md. Never GitHub's API: no latency, faults or limits apply.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from autoissue.emulator._common import apply_edit, find_issue, parse_edit
from autoissue.emulator._context import Context
from autoissue.emulator._http import Reject, error, json_body, read_json

__all__ = ["AdminRoutes"]

_PREFIX = "/_emulator"
#: field -> validity check, for ``POST /_emulator/config``.
_SETTINGS: dict[str, Callable[[Any], bool]] = {
    "latency_ms": lambda v: _number(v) and v >= 0,
    "capacity": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "faults": lambda v: _number(v) and 0 <= v <= 1,
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class AdminRoutes:
    """Handlers of the admin API; ``reset`` restores the seeded state (store and git)."""

    def __init__(self, ctx: Context, reset: Callable[[], Awaitable[None]]) -> None:
        self.ctx = ctx
        self._reset = reset

    def __repr__(self) -> str:
        return f"AdminRoutes({self.ctx.config.repo})"

    def register(self, router: web.UrlDispatcher) -> None:
        """Add every admin route to ``router``."""
        router.add_get(_PREFIX + "/state", self.state)
        router.add_get(_PREFIX + "/stats", self.stats)
        router.add_post(_PREFIX + "/config", self.configure)
        router.add_post(_PREFIX + "/issues/{owner}/{repo}/{n}", self.edit_issue)
        router.add_post(_PREFIX + "/reset", self.reset)

    async def state(self, request: web.Request) -> web.Response:
        """``GET /_emulator/state``: every repository with its issues, comments and pulls."""
        return json_body({"repos": [self.ctx.store.snapshot()]})

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /_emulator/stats``: requests, violations, duplicate and redundant writes."""
        return json_body(self.ctx.stats.snapshot())

    async def configure(self, request: web.Request) -> web.Response:
        """``POST /_emulator/config``: change ``latency_ms``, ``capacity``, ``faults`` live."""
        body = await read_json(request)
        if not isinstance(body, dict) or not body:
            raise Reject(error(400, "expected an object with latency_ms, capacity or faults"))
        for key, value in body.items():
            if key not in _SETTINGS or not _SETTINGS[key](value):
                raise Reject(error(422, f"invalid setting {key}: {value!r}"))
        self.ctx.latency.configure(**body)
        return json_body(self.ctx.latency.settings())

    async def edit_issue(self, request: web.Request) -> web.Response:
        """``POST /_emulator/issues/{owner}/{repo}/{n}``: edit as a human would."""
        rec = find_issue(self.ctx, request)
        apply_edit(self.ctx.store, rec, parse_edit(await read_json(request)))
        return web.Response(body=self.ctx.store.issue(rec).body, content_type="application/json")

    async def reset(self, request: web.Request) -> web.Response:
        """``POST /_emulator/reset``: the seeded state again, counters at zero."""
        await self._reset()
        return json_body({"reset": True, "issues": len(self.ctx.store.records)})
