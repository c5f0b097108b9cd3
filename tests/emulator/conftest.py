"""Fixtures: emulators on a fake clock, a small JSON client, and a webhook receiver."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from autoissue.emulator import Emulator, EmulatorConfig, FakeClock

Start = Callable[..., Awaitable[Emulator]]


class Api:
    """A thin aiohttp client: returns (status, headers, decoded JSON or None)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __call__(
        self, method: str, url: str, **kwargs: Any
    ) -> tuple[int, CIMultiDict[str], Any]:
        async with self.session.request(method, url, **kwargs) as response:
            text = await response.text()
            body = await response.json(content_type=None) if text else None
            return response.status, response.headers.copy(), body


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Start emulators (120 items and a fake clock unless told otherwise); close them after."""
    started: list[Emulator] = []

    async def make(clock: FakeClock | None = None, **options: Any) -> Emulator:
        config = EmulatorConfig(**{"issues": 120, **options})
        emulator = Emulator(config, clock=clock or FakeClock())
        await emulator.start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        await emulator.close()


@pytest.fixture
async def emulator(start: Start) -> Emulator:
    """A default emulator: 120 items, no limits, no latency."""
    return await start()


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    """A client sending ``Authorization: token t0k3n``."""
    async with aiohttp.ClientSession(headers={"Authorization": "token t0k3n"}) as session:
        yield Api(session)


@pytest.fixture
async def anon() -> AsyncIterator[Api]:
    """A client without credentials."""
    async with aiohttp.ClientSession() as session:
        yield Api(session)


def push_branch(clone_url: str, branch: str, workdir: Path) -> None:
    """Clone the emulator's bare repository, commit on ``branch`` and push it, with real git."""
    env_args = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]
    work = workdir / f"clone-{branch.replace('/', '-')}"
    subprocess.run(["git", "clone", "-q", clone_url, str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "checkout", "-q", "-b", branch], check=True)
    (work / "fix.txt").write_text("fixed\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(work), "add", "fix.txt"], check=True)
    subprocess.run(["git", "-C", str(work), *env_args, "commit", "-q", "-m", "fix"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", branch], check=True)


class Received:
    """One webhook delivery as the receiver got it."""

    def __init__(self, headers: CIMultiDict[str], body: bytes) -> None:
        self.headers = headers
        self.body = body
        self.payload: dict[str, Any] = json.loads(body)

    @property
    def kind(self) -> tuple[str, str]:
        """``(X-GitHub-Event, action)``."""
        return self.headers["X-GitHub-Event"], self.payload["action"]


class Receiver:
    """A webhook receiver on loopback: keeps every delivery and answers ``status``.

    While ``gate`` is set and not open, answers wait for it; ``arrived`` is set by each one.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        return self.url

    async def close(self) -> None:
        if self.gate is not None:
            self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.headers.copy(), await request.read()))
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        return web.Response(status=self.status, text="thanks")

    def kinds(self) -> list[tuple[str, str]]:
        return [item.kind for item in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A started webhook receiver at ``receiver.url``."""
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.close()
