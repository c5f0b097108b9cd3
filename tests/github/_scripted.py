"""A scripted HTTP server for client tests: answers each route from a queue of responses.

It is a real aiohttp server on a loopback port, so the client's real connection code runs.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "octokit"


@dataclass
class Scripted:
    """One canned answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # drop the connection instead of answering


class ScriptedServer:
    """Serves queued answers by ``METHOD path`` and records every request it got.

    A route added with its query (``/repositories/1/issues?page=2``) answers that exact URL
    only, ahead of a route for the bare path: the way to script each page of a list.
    """

    def __init__(self) -> None:
        self.answers: dict[str, deque[Scripted]] = defaultdict(deque)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    def add(self, method: str, path: str, *answers: Scripted) -> None:
        self.answers[f"{method} {path}"].extend(answers)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request.method, request.path_qs, dict(request.headers), body))
        queue = self.route(request)
        if not queue:
            return web.json_response({"message": "Not Found"}, status=404)
        answer = queue[0] if len(queue) == 1 else queue.popleft()
        if answer.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        text = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        headers = {"content-type": "application/json", **answer.headers}
        return web.Response(status=answer.status, text=text, headers=headers)

    def route(self, request: web.Request) -> deque[Scripted] | None:
        """The answers queued for ``request``: by its path and query, else by its path."""
        exact = self.answers.get(f"{request.method} {request.path_qs}")
        return exact or self.answers.get(f"{request.method} {request.path}")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def octokit(name: str) -> list[dict[str, Any]]:
    """The recorded interactions of one octokit fixture file."""
    data: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def replay(server: ScriptedServer, name: str) -> None:
    """Serve every interaction of an octokit fixture, with its URLs pointed at ``server``."""
    for interaction in octokit(name):
        path = interaction["path"].split("?")[0]
        headers = {
            key: str(value).replace("https://api.github.com", server.base_url)
            for key, value in interaction["headers"].items()
            if key in {"link", "etag", "location", "retry-after"} or key.startswith("x-ratelimit")
        }
        answer = Scripted(interaction["status"], interaction["response"], headers)
        server.add(interaction["method"].upper(), path, answer)
