"""Fixtures shared by every test package: a real Redis, isolated by a per-test key prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from autoissue.state import StateStore, open_state

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A redis:// DSN with a unique ``prefix``; its keys (and only they) are deleted afterwards.

    Without a reachable server the test is skipped, unless ``AUTOISSUE_REQUIRE_REDIS=1`` (set
    by CI), which makes it fail instead.
    """
    url = os.environ.get("AUTOISSUE_TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=5.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        message = f"no Redis at {url}: {exc}"
        if os.environ.get("AUTOISSUE_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    prefix = f"autoissue-test:{uuid.uuid4().hex}"
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}prefix={prefix}"
    finally:
        # Never FLUSHDB on a shared server: delete exactly this test's keys.
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
        client.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def each_state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    """A state store of each backend in turn: memory, SQLite, and Redis."""
    dsn = {
        "memory": lambda: "memory://",
        "sqlite": lambda: f"sqlite:///{tmp_path / 'state.db'}",
        "redis": lambda: str(request.getfixturevalue("redis_url")),
    }[request.param]()
    async with await open_state(dsn) as opened:
        yield opened
