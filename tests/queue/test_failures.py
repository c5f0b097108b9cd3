"""Bad input and bad backends: clear errors of our own types, nothing lost, the run resumable."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from autoissue import BackendUnavailableError, ConfigurationError, CorruptItemError, QueueError
from autoissue.queue import Message, SqliteQueue, open_queue
from autoissue.queue._redis import RedisQueue, _dead_letter, _lease

pytestmark = pytest.mark.timeout(30)


async def test_a_corrupt_sqlite_row_is_dead_lettered_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    async with await open_queue(f"sqlite:///{path}") as queue:
        ids = await queue.put_many([Message(b"a"), Message(b"b"), Message(b"c")])
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE queue_items SET payload = 'oops' WHERE id = ?", (int(ids[1]),))
        assert [lease.payload for lease in await queue.claim_many(5)] == [b"a", b"c"]
        [dead] = await queue.dead_letters()
        assert (dead.id, dead.reason, dead.payload) == (ids[1], "corrupt item", b"oops")


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    path.write_bytes(b"this is not sqlite" * 100)
    queue = SqliteQueue(path)
    with pytest.raises(BackendUnavailableError, match="not a usable SQLite database"):
        await queue.open()
    await queue.close()


async def test_an_unopenable_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(BackendUnavailableError, match="readable and writable"):
        await open_queue(f"sqlite:///{tmp_path / 'dir.db'}")


async def test_a_locked_database_fails_clearly_then_resumes(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    queue = await SqliteQueue(path, busy_timeout_s=0.05).open()
    await queue.put(b"before")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(BackendUnavailableError, match="write lock"):
        await queue.put(b"during")
    blocker.execute("ROLLBACK")
    blocker.close()
    await queue.put(b"after")
    assert [lease.payload for lease in await queue.claim_many(5)] == [b"before", b"after"]
    await queue.close()


async def test_an_unreachable_redis_is_a_clear_error() -> None:
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        await open_queue("redis://127.0.0.1:1/0?prefix=nowhere")


class Proxy:
    """A TCP relay to Redis that the test can cut and restore: Redis "going away"."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        await self.server.wait_closed()
        self.writers.clear()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[Proxy]:
    parts = urlsplit(redis_url)
    relay = Proxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    await relay.start()
    yield relay
    with contextlib.suppress(AssertionError):
        await relay.cut()


@pytest.mark.redis
async def test_redis_going_away_mid_run_loses_nothing(redis_url: str, proxy: Proxy) -> None:
    through = redis_url.replace(redis_url.split("/")[2], f"127.0.0.1:{proxy.port}", 1)
    queue = await open_queue(through)
    await queue.put_many([Message(b"%d" % i) for i in range(10)])
    first = await queue.claim_many(3)
    await proxy.cut()
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        await queue.claim_many(3)
    with pytest.raises(BackendUnavailableError):
        await queue.ack([lease.id for lease in first])
    await proxy.start()
    assert await queue.ack([lease.id for lease in first]) == 3
    rest = await queue.claim_many(20)
    assert sorted(lease.payload for lease in first + rest) == sorted(b"%d" % i for i in range(10))
    await queue.close()


@pytest.mark.redis
async def test_a_damaged_redis_item_is_dead_lettered(redis_url: str) -> None:
    queue = await open_queue(redis_url)
    assert isinstance(queue, RedisQueue)
    ids = await queue.put_many([Message(b"a"), Message(b"b")])
    await queue.client.hdel(f"{queue.prefix}:item:{ids[0]}", "d")
    assert [lease.payload for lease in await queue.claim_many(5)] == [b"b"]
    [dead] = await queue.dead_letters()
    assert (dead.id, dead.reason, dead.last_error) == (ids[0], "corrupt item", "missing fields")
    await queue.close()


@pytest.mark.redis
async def test_a_script_error_is_a_queue_error(redis_url: str) -> None:
    queue = await open_queue(redis_url)
    assert isinstance(queue, RedisQueue)
    await queue.client.set(f"{queue.prefix}:delayed", b"not a zset")
    with pytest.raises(QueueError, match="refused"):
        await queue.claim()
    await queue.close()


def test_undecodable_redis_fields_are_corrupt_item_errors() -> None:
    with pytest.raises(CorruptItemError):
        _lease([b"1", b"9 1 0 ", b"", b"x"], 0.0)
    with pytest.raises(CorruptItemError):
        _lease([b"1", b"2 1", b"", b"x"], 0.0)
    with pytest.raises(CorruptItemError):
        _dead_letter("1", [b"x", b"1", b"", b"", b"0", b"", b"", b""])


async def test_a_bad_dsn_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        await open_queue("postgres://x")
