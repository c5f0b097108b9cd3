"""A queue factory parametrised over the three backends, all on one fake clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from autoissue import FakeClock
from autoissue.queue import PriorityPolicy, Queue, RetryPolicy, open_queue

MakeQueue = Callable[..., Awaitable[Queue]]
BACKENDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def dsn_for(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_queue(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[MakeQueue]:
    """Open queues on the parametrised backend (all on ``clock``); close them after the test."""
    opened: list[Queue] = []
    dsn = dsn_for(backend, request, tmp_path)

    async def make(**options: Any) -> Queue:
        options.setdefault("clock", clock)
        options.setdefault("retry", RetryPolicy(max_attempts=3, rng=random.Random(7)))
        options.setdefault("priorities", PriorityPolicy(lower_share=0))
        queue = await open_queue(dsn, **options)
        opened.append(queue)
        return queue

    yield make
    for queue in opened:
        await queue.close()


@pytest.fixture
async def queue(make_queue: MakeQueue) -> Queue:
    return await make_queue()
