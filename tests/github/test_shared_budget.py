"""One budget for many workers: governors in several tasks, processes and machines share it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from autoissue import BackendUnavailableError, FakeClock
from autoissue.backend import BackendSpec
from autoissue.github import (
    GovernorSettings,
    RateLimitInfo,
    SharedGovernor,
    budget_key,
)
from autoissue.github._budget_stores import RedisBudgetStore, SqliteBudgetStore, budget_store
from autoissue.github._governor import RequestKind
from autoissue.github._shared import MemoryBudgetStore

COMMENT = RequestKind(
    "POST /repos/{owner}/{repo}/issues/{n}/comments", mutation=True, creates_content=True
)
READ = RequestKind("GET /repos/{owner}/{repo}/issues")


def pair(store: object, clock: FakeClock, **settings: object) -> list[SharedGovernor]:
    config = GovernorSettings(**settings)  # type: ignore[arg-type]
    return [SharedGovernor(store, config, clock=clock) for _ in range(2)]  # type: ignore[arg-type]


async def book(governor: SharedGovernor, kind: RequestKind) -> None:
    governor.release(await governor.acquire(kind))
    await governor.flush()


async def test_two_governors_share_the_content_budget() -> None:
    clock = FakeClock()
    first, second = pair(MemoryBudgetStore(), clock, content_per_minute=3, mutation_spacing_s=0)
    for governor in (first, second, first):
        await book(governor, COMMENT)
    assert clock.slept == []
    await book(second, COMMENT)  # the fourth in the minute, whoever sends it, waits
    assert clock.slept == [60.0]
    assert second.statistics().waits == {"content": 1}


async def test_mutation_spacing_is_kept_across_governors() -> None:
    clock = FakeClock()
    first, second = pair(MemoryBudgetStore(), clock, mutation_spacing_s=1.0)
    await book(first, COMMENT)
    await book(second, COMMENT)
    assert clock.slept == [1.0]


async def test_a_refusal_pauses_every_governor() -> None:
    clock = FakeClock()
    first, second = pair(MemoryBudgetStore(), clock)
    first.pause(30.0, "secondary")
    await first.flush()
    await book(second, READ)
    assert clock.slept == [30.0]


async def test_a_reading_seen_by_one_governor_paces_the_other() -> None:
    clock = FakeClock()
    first, second = pair(MemoryBudgetStore(), clock, reserve=0)
    first.observe(RateLimitInfo(5000, 0, 5000, clock.time() + 100))
    await first.flush()
    await book(second, READ)
    assert clock.slept == [101.0]


async def test_the_shared_cap_counts_every_process_and_a_lost_slot_expires() -> None:
    clock = FakeClock()
    first, second = pair(MemoryBudgetStore(), clock, max_concurrent=1)
    await first.acquire(READ)  # never released: its process died mid-request
    await book(second, READ)
    assert sum(clock.slept) >= 120.0  # the lease ran out
    assert second.statistics().waits["concurrency"] >= 1


async def test_an_unlimited_server_keeps_decisions_local() -> None:
    store = MemoryBudgetStore()
    (governor, _) = pair(store, FakeClock())
    governor.set_unlimited()
    await book(governor, COMMENT)
    assert store.state is None
    assert "unlimited" in repr(governor)


def test_processes_sharing_a_sqlite_file_stay_inside_one_budget(tmp_path: Path) -> None:
    db = tmp_path / "budget.db"
    worker = Path(__file__).with_name("_budget_worker.py")
    outs = [tmp_path / f"stamps-{n}.txt" for n in range(2)]
    procs = [
        subprocess.Popen([sys.executable, str(worker), str(db), "25", str(out)]) for out in outs
    ]
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    stamps = sorted(float(line) for out in outs for line in out.read_text().split())
    assert len(stamps) == 50
    # 10 content creations per minute, a minute being 0.4 s here: never 11 inside it.
    # (A margin for scheduling: a stamp is taken just after the booking, not at it.)
    busiest = max(sum(1 for t in stamps if s <= t < s + 0.35) for s in stamps)
    assert busiest <= 10


async def test_sqlite_store_round_trips_and_reports_a_bad_file(tmp_path: Path) -> None:
    store = SqliteBudgetStore(tmp_path / "b.db", "k")
    assert await store.transact(lambda blob: (b"one", blob)) is None
    assert await store.transact(lambda blob: (b"two", blob)) == b"one"
    await store.close()
    (tmp_path / "dir.db").mkdir()
    broken = SqliteBudgetStore(tmp_path / "dir.db", "k")
    with pytest.raises(BackendUnavailableError, match="GitHub budget in"):
        await broken.transact(lambda blob: (b"x", None))
    assert "dir.db" in repr(broken)


async def test_a_failing_change_leaves_the_sqlite_budget_as_it_was(tmp_path: Path) -> None:
    store = SqliteBudgetStore(tmp_path / "b.db", "k")
    await store.transact(lambda blob: (b"kept", None))

    def broken(blob: bytes | None) -> tuple[bytes, None]:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await store.transact(broken)
    assert await store.transact(lambda blob: (blob or b"", blob)) == b"kept"
    await store.close()


@pytest.fixture
async def redis_stores(redis_url: str) -> AsyncIterator[Callable[[], RedisBudgetStore]]:
    """Stores on separate connections to one budget key (deleted by the redis_url fixture)."""
    url, _, prefix = redis_url.partition("?prefix=")
    made: list[RedisBudgetStore] = []

    def make() -> RedisBudgetStore:
        made.append(RedisBudgetStore(aioredis.Redis.from_url(url), f"{prefix}:budget"))
        return made[-1]

    yield make
    for store in made:
        await store.close()


@pytest.mark.redis
async def test_redis_transactions_never_lose_an_update(
    redis_stores: Callable[[], RedisBudgetStore],
) -> None:
    stores = [redis_stores(), redis_stores()]

    def increment(blob: bytes | None) -> tuple[bytes, int]:
        value = int(blob or b"0") + 1
        return str(value).encode(), value

    await asyncio.gather(*(store.transact(increment) for store in stores * 25))
    assert await stores[0].transact(lambda blob: (blob or b"", int(blob or b"0"))) == 50


@pytest.mark.redis
async def test_governors_share_a_budget_through_redis(
    redis_stores: Callable[[], RedisBudgetStore],
) -> None:
    clock = FakeClock()
    settings = GovernorSettings(content_per_minute=2, mutation_spacing_s=0)
    first, second = (SharedGovernor(redis_stores(), settings, clock=clock) for _ in range(2))
    await book(first, COMMENT)
    await book(second, COMMENT)
    await book(first, COMMENT)
    assert clock.slept == [60.0]


def test_stores_open_from_dsns_and_never_hold_the_token(tmp_path: Path) -> None:
    key = budget_key("https://api.github.com", "ghp_secret")
    assert "ghp_secret" not in key
    assert key != budget_key("https://ghe.example.com/api/v3", "ghp_secret")
    assert isinstance(
        budget_store(BackendSpec.from_dsn("memory://"), base_url="u", token="t"), MemoryBudgetStore
    )
    sqlite = budget_store(
        BackendSpec.from_dsn(f"sqlite:///{tmp_path}/s.db"), base_url="u", token="t"
    )
    assert isinstance(sqlite, SqliteBudgetStore)
    redis = budget_store(
        BackendSpec.from_dsn("redis://127.0.0.1:6379/15?prefix=run1"), base_url="u", token="t"
    )
    assert isinstance(redis, RedisBudgetStore)
    assert redis.key.startswith("run1:github-budget:")


async def test_a_shared_governor_decides_nothing_alone_unless_the_server_is_unlimited() -> None:
    store = MemoryBudgetStore()
    (governor, _) = pair(store, FakeClock())
    assert governor.try_acquire(READ) is None  # the shared books decide: acquire() asks them
    governor.set_unlimited()
    permit = governor.try_acquire(READ)
    assert permit is not None
    governor.release(permit)
    assert store.state is None
