"""Fixtures for agent tests: a real emulator (with its bare git repository) and a context."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.github import GitHubClient
from autoissue.model import Issue
from autoissue.model._issue import Label
from autoissue.processors import ProcessContext, ReadOnlyGitHub

REPO = "acme/widgets"
TOKEN = "agent-test-token"
#: The fake agent, fast and deterministic.
FAKE = (
    sys.executable,
    "-m",
    "autoissue.agent.fake",
    "--sleep-min",
    "0",
    "--sleep-max",
    "0",
    "--alloc-mb",
    "0",
    "--fail-rate",
    "0",
)


def admin(emulator: Emulator, what: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    method = "GET" if body is None and what in {"state", "stats"} else "POST"
    request = urllib.request.Request(f"{emulator.base_url}/_emulator/{what}", data, method=method)
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo=REPO, issues=30, seed=5)) as running:
        yield running


@pytest.fixture
def emulator(module_emulator: Emulator) -> Emulator:
    """The module's emulator, reset to its seeded state (store and git) for each test."""
    admin(module_emulator, "reset", {})
    return module_emulator


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(base_url=emulator.base_url, token=TOKEN) as github:
        yield github


@pytest.fixture
def context(client: GitHubClient) -> ProcessContext:
    return ProcessContext(repo=REPO, github=ReadOnlyGitHub(client))


def make_issue(
    number: int,
    title: str = "Widget breaks",
    body: str | None = "It breaks.",
    labels: tuple[str, ...] = (),
) -> Issue:
    return Issue(
        number=number,
        title=title,
        state="open",
        updated_at="2026-01-01T00:00:00Z",
        body=body,
        labels=tuple(Label(name) for name in labels),
    )


def pulls(emulator: Emulator) -> list[dict[str, Any]]:
    state = admin(emulator, "state")
    return list(state["repos"][0]["pulls"])


class Signal:
    """A loopback socket that a child process connects to when it is ready: no polling.

    ``code(message_expr)`` is Python that sends ``message_expr`` (evaluated in the child).
    """

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Signal:
        self._server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.received.put(await reader.read())
        writer.close()

    def code(self, message: str) -> str:
        return (
            f"import socket; s = socket.create_connection(('127.0.0.1', {self.port})); "
            f"s.sendall(str({message}).encode()); s.close()"
        )
