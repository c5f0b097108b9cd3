"""The emulator's own API under ``/_emulator/``: state, stats, settings, edits, deliveries.

The contract is shared/EMULATOR.md, extended in docs/emulator.md. Never GitHub's API: no
latency, faults or limits apply.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from autoissue.emulator._common import apply_edit, find_issue, parse_edit
from autoissue.emulator._context import Context
from autoissue.emulator._http import Reject, error, json_body, read_json, validation_failed
from autoissue.emulator._webhooks import Delivery, WebhookSender

__all__ = ["AdminRoutes"]

_PREFIX = "/_emulator"
#: field -> validity check, for ``POST /_emulator/config``.
_SETTINGS: dict[str, Callable[[Any], bool]] = {
    "latency_ms": lambda v: _number(v) and v >= 0,
    "capacity": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "faults": lambda v: _number(v) and 0 <= v <= 1,
}
_HOOKS_OFF = "webhooks are off: start the emulator with a webhook URL (--webhook-url)"


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
        router.add_get(_PREFIX + "/deliveries", self.deliveries)
        router.add_get(_PREFIX + "/timeline", self.timeline)
        router.add_get(_PREFIX + "/deliveries/{id}", self.delivery)
        router.add_post(_PREFIX + "/deliveries/{id}/redeliver", self.redeliver)

    async def state(self, request: web.Request) -> web.Response:
        """``GET /_emulator/state``: every repository (or ``?repo=OWNER/NAME``'s) in full."""
        wanted = request.query.get("repo")
        repos = self.ctx.snapshot()
        if wanted is not None:
            repos = [repo for repo in repos if repo["full_name"].lower() == wanted.lower()]
            if not repos:
                raise Reject(error(404, f"no repository {wanted}"))
        return json_body({"repos": repos})

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /_emulator/stats``: requests, violations, duplicate writes, deliveries."""
        return json_body(self.ctx.statistics())

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
        """``POST /_emulator/issues/{owner}/{repo}/{n}``: edit as a human would.

        The webhook events name ``sender`` (a login) as who made the change; by default the
        item's author.
        """
        repo, rec = find_issue(self.ctx, request)
        body = await read_json(request)
        edit = parse_edit(body)
        sender = body.get("sender", rec.user)
        if not isinstance(sender, str) or not sender:
            raise validation_failed("Issue", "sender")
        watch = self.ctx.hooks.watch(repo, rec, sender)
        apply_edit(repo.store, rec, edit)
        watch.report()
        return web.Response(body=repo.store.issue(rec).body, content_type="application/json")

    async def reset(self, request: web.Request) -> web.Response:
        """``POST /_emulator/reset``: the seeded state again, counters at zero."""
        await self._reset()
        issues = sum(len(repo.store.records) for repo in self.ctx.repos)
        return json_body({"reset": True, "issues": issues})

    def _sender(self) -> WebhookSender:
        if self.ctx.webhooks is None:
            raise Reject(error(404, _HOOKS_OFF))
        return self.ctx.webhooks

    def _delivery(self, request: web.Request) -> tuple[WebhookSender, Delivery]:
        sender = self._sender()
        raw = request.match_info["id"]
        found = sender.find(int(raw)) if raw.isdigit() else None
        if found is None:
            raise Reject(error(404, f"no recent delivery {raw}"))
        return sender, found

    async def deliveries(self, request: web.Request) -> web.Response:
        """``GET /_emulator/deliveries``: the recent ones, newest first (``?repo=`` filters)."""
        found = self._sender().recent()
        wanted = request.query.get("repo")
        if wanted is not None:
            found = [item for item in found if item.repo.lower() == wanted.lower()]
        return json_body([item.summary() for item in found])

    async def timeline(self, request: web.Request) -> web.Response:
        """``GET /_emulator/timeline``: when items were opened and first labelled, by whom."""
        if self.ctx.timeline is None:
            raise Reject(error(404, _HOOKS_OFF))
        return json_body(self.ctx.timeline.snapshot())

    async def delivery(self, request: web.Request) -> web.Response:
        """``GET /_emulator/deliveries/{id}``: one delivery with the headers and payload sent."""
        sender, found = self._delivery(request)
        sent = {"headers": sender.headers(found), "payload": msgspec.Raw(found.body)}
        return json_body({**found.summary(), "request": sent})

    async def redeliver(self, request: web.Request) -> web.Response:
        """``POST /_emulator/deliveries/{id}/redeliver``: 202 and the new delivery (same GUID)."""
        sender, found = self._delivery(request)
        return json_body(sender.redeliver(found).summary(), 202)
