"""Fixtures: emulators on a fake clock, and a small JSON client for them."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
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
