"""One backend per DSN: the queue and the state store share one database or one client."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoissue import BackendUnavailableError, ConfigurationError, FakeClock
from autoissue.backend import Backend, fresh_backend, open_backend
from autoissue.queue import Message
from autoissue.state import MemoryStateStore
from tests.queue.conftest import BACKENDS, dsn_for


@pytest.fixture(params=BACKENDS)
def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return dsn_for(str(request.param), request, tmp_path)


async def test_every_part_works_on_the_one_backend(dsn: str) -> None:
    clock = FakeClock()
    async with open_backend(dsn, max_depth=10, clock=clock) as backend:
        assert isinstance(backend, Backend)
        assert backend.spec.describe() in repr(backend)
        await backend.queue.purge()
        assert await backend.queue.put_many([Message(b"one", key="k1")]) != [None]
        (lease,) = await backend.queue.claim_many(1, lease_s=30)
        assert await backend.state.acquire_many(["o/r#1"], "me", ttl_s=30) == {"o/r#1"}
        await backend.state.record("o/r#1", "triage", "t1", "done")
        assert await backend.state.increment("backend-test", 2) >= 2
        await backend.queue.ack(lease.id)
        assert backend.queue.max_depth == 10
        assert backend.state.clock is clock


async def test_sqlite_parts_share_one_connection_and_its_thread(tmp_path: Path) -> None:
    async with open_backend(f"sqlite:///{tmp_path / 'state.db'}") as backend:
        queue_db = backend.queue.db  # type: ignore[attr-defined]
        assert queue_db is backend.state.db  # type: ignore[attr-defined]
        await backend.queue.close()  # a part never closes what it shares
        await backend.state.record("o/r#2", "triage", "t", "done")
    with pytest.raises(BackendUnavailableError, match="closed"):
        await queue_db.run(lambda conn: conn.execute("SELECT 1"))
    async with open_backend(f"sqlite:///{tmp_path / 'state.db'}") as again:
        assert (await again.state.lookup("o/r#2", "triage")) is not None


@pytest.mark.redis
async def test_redis_parts_share_one_client(redis_url: str) -> None:
    async with open_backend(redis_url) as backend:
        client = backend.queue.client  # type: ignore[attr-defined]
        assert client is backend.state.client  # type: ignore[attr-defined]
        await backend.state.close()  # a part never closes what it shares
        await backend.queue.close()
        assert await client.ping()


async def test_memory_is_this_process_only_and_a_bad_dsn_says_why() -> None:
    async with open_backend("memory://") as backend:
        assert isinstance(backend.state, MemoryStateStore)
    with pytest.raises(ConfigurationError, match="unknown scheme"):
        async with open_backend("mysql://h/db"):
            pass


async def test_a_fresh_backend_starts_empty_in_a_file_of_its_own() -> None:
    async with fresh_backend() as backend:
        assert backend.spec.kind == "sqlite"
        assert (await backend.queue.statistics()).waiting == 0


async def test_the_github_budget_lives_in_the_backend_too(dsn: str) -> None:
    async with open_backend(dsn) as backend:
        store = backend.budget_store("https://api.github.com", "a-token")
        try:
            await store.transact(lambda blob: (b"booked", None))
            seen = await store.transact(lambda blob: (blob or b"", blob))
        finally:
            await store.close()
        assert seen == b"booked"
        if backend.redis is not None:  # shared, so the store left it open
            assert await backend.redis.ping()
        other = backend.budget_store("https://api.github.com", "another-token")
        try:
            assert await other.transact(lambda blob: (b"", blob)) is None
        finally:
            await other.close()
