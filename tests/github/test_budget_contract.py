"""The shared GitHub budget store contract, run against memory, SQLite and a real Redis.

Every store is opened the way the backend opens it, through ``budget_store`` and a parsed
DSN. A memory store lives in one object: stores opened from ``memory://`` share nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis

from autoissue import BackendUnavailableError, FakeClock
from autoissue.backend import BackendSpec
from autoissue.github import GovernorSettings, SharedGovernor, budget_key
from autoissue.github._budget_stores import SqliteBudgetStore, budget_store
from autoissue.github._shared import BudgetStore
from tests.github.test_shared_budget import COMMENT, book, pair
from tests.queue.conftest import BACKENDS, dsn_for

pytestmark = pytest.mark.timeout(30)

URL = "https://api.github.com"
TOKEN = "ghp_contractSecret0123456789"
DURABLE = BACKENDS[1:]  # the backends that outlive a store object: sqlite and redis

MakeStore = Callable[..., BudgetStore]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dsn(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return dsn_for(backend, request, tmp_path)


@pytest.fixture
async def make_store(dsn: str) -> AsyncIterator[MakeStore]:
    """Open stores on the parametrised backend's DSN; close them after the test."""
    opened: list[BudgetStore] = []

    def make(*, base_url: str = URL, token: str = TOKEN) -> BudgetStore:
        opened.append(budget_store(BackendSpec.from_dsn(dsn), base_url=base_url, token=token))
        return opened[-1]

    yield make
    for store in opened:
        await store.close()


def keep(blob: bytes | None) -> tuple[bytes, bytes | None]:
    """A change that writes nothing new and returns what it saw."""
    return blob or b"", blob


def write(state: bytes) -> Callable[[bytes | None], tuple[bytes, bytes | None]]:
    """A change that writes ``state`` and returns what it replaced."""
    return lambda blob: (state, blob)


def increment(blob: bytes | None) -> tuple[bytes, int]:
    """Add one to a counter kept as decimal digits; returns the new count."""
    value = int(blob or b"0")
    time.sleep(0)  # let another thread run between the read and the write
    return str(value + 1).encode(), value + 1


def stored_keys(backend: str, dsn: str, store: BudgetStore) -> list[str]:
    """Every key the backend holds now (a memory store has no keys)."""
    if backend == "sqlite":
        assert isinstance(store, SqliteBudgetStore)
        with contextlib.closing(sqlite3.connect(store.path)) as db:
            return [row[0] for row in db.execute("SELECT key FROM github_budget")]
    if backend == "redis":
        url, _, prefix = dsn.partition("?prefix=")
        with redis.Redis.from_url(url) as client:
            return sorted(key.decode() for key in client.scan_iter(match=f"{prefix}:*"))
    return []


async def counts(transactions: list[Awaitable[int]]) -> list[int]:
    return sorted(await asyncio.gather(*transactions))


async def test_a_first_transaction_sees_nothing_and_returns_what_change_returns(
    make_store: MakeStore,
) -> None:
    store = make_store()
    assert await store.transact(lambda blob: (b"one", ("seen", blob))) == ("seen", None)


async def test_each_transaction_sees_what_the_previous_one_wrote(make_store: MakeStore) -> None:
    store = make_store()
    assert await store.transact(write(b"one")) is None
    assert await store.transact(write(b"")) == b"one"
    assert await store.transact(write(b"\x00\xffthree")) == b""  # empty is not None
    assert await store.transact(keep) == b"\x00\xffthree"


async def test_concurrent_transactions_on_one_store_lose_no_increment(
    make_store: MakeStore,
) -> None:
    store = make_store()
    # Each transaction saw a different count: no two read the same state.
    assert await counts([store.transact(increment) for _ in range(50)]) == list(range(1, 51))
    assert await store.transact(keep) == b"50"


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
async def test_concurrent_transactions_on_two_stores_lose_no_increment(
    make_store: MakeStore,
) -> None:
    """Two store objects on one file or server: as two processes would hold them."""
    stores = [make_store(), make_store()]
    transactions = [store.transact(increment) for store in stores * 25]
    assert await counts(transactions) == list(range(1, 51))
    assert await stores[1].transact(keep) == b"50"


async def test_a_failing_change_propagates_and_leaves_the_state_as_it_was(
    make_store: MakeStore,
) -> None:
    store = make_store()

    def broken(blob: bytes | None) -> tuple[bytes, None]:
        raise ValueError(f"refused {blob!r}")

    with pytest.raises(ValueError, match="refused None"):
        await store.transact(broken)
    assert await store.transact(write(b"kept")) is None  # the failure wrote nothing
    with pytest.raises(ValueError, match="refused b'kept'"):
        await store.transact(broken)
    assert await store.transact(keep) == b"kept"


async def test_two_tokens_do_not_share_a_budget(make_store: MakeStore) -> None:
    first, second = make_store(token="ghp_first"), make_store(token="ghp_second")
    await first.transact(write(b"first's"))
    assert await second.transact(write(b"second's")) is None
    assert await first.transact(keep) == b"first's"
    assert await make_store(token="ghp_third").transact(keep) is None


async def test_two_hosts_do_not_share_a_budget(make_store: MakeStore) -> None:
    github, enterprise = make_store(), make_store(base_url="https://ghe.example.com/api/v3")
    await github.transact(write(b"github.com"))
    assert await enterprise.transact(write(b"ghe")) is None
    assert await github.transact(keep) == b"github.com"


async def test_the_token_is_in_neither_the_key_nor_the_repr(
    make_store: MakeStore, backend: str, dsn: str
) -> None:
    store = make_store()
    await store.transact(write(b"state"))
    assert TOKEN not in repr(store)
    keys = stored_keys(backend, dsn, store)
    assert not any(TOKEN in key for key in keys)
    expected = {
        "memory": [],
        "sqlite": [budget_key(URL, TOKEN)],
        "redis": [f"{dsn.partition('?prefix=')[2]}:{budget_key(URL, TOKEN)}"],
    }[backend]
    assert keys == expected


async def test_a_store_opened_after_close_sees_the_state(
    make_store: MakeStore, backend: str
) -> None:
    first = make_store()
    await first.transact(write(b"before close"))
    await first.close()
    seen = await make_store().transact(keep)
    if backend == "memory":
        # Memory is per process, and per store object: a new store starts empty.
        assert seen is None
    else:
        assert seen == b"before close"


@pytest.mark.parametrize("backend", DURABLE, indirect=True)
async def test_an_unreachable_backend_raises_backend_unavailable(
    backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        (tmp_path / "file").write_text("not a folder", encoding="utf-8")
        dsn = f"sqlite:///{tmp_path / 'file' / 'db.sqlite'}"
    else:
        dsn = "redis://127.0.0.1:1/0"
    store = budget_store(BackendSpec.from_dsn(dsn), base_url=URL, token=TOKEN)
    try:
        with pytest.raises(BackendUnavailableError, match="GitHub budget in") as caught:
            await store.transact(write(b"never"))
        assert TOKEN not in str(caught.value)
    finally:
        await store.close()


async def test_two_governors_on_one_store_see_one_budget(make_store: MakeStore) -> None:
    clock = FakeClock()
    first, second = pair(make_store(), clock, content_per_minute=2, mutation_spacing_s=0)
    for governor in (first, second, first):
        await book(governor, COMMENT)
    assert clock.slept == [60.0]  # the third comment in the minute waits, whoever sends it


async def test_governors_on_stores_opened_from_one_dsn_share_a_durable_budget(
    make_store: MakeStore, backend: str
) -> None:
    clock = FakeClock()
    settings = GovernorSettings(content_per_minute=2, mutation_spacing_s=0)
    first, second = (SharedGovernor(make_store(), settings, clock=clock) for _ in range(2))
    for governor in (first, second, first):
        await book(governor, COMMENT)
    # Memory stores share nothing: each governor then keeps its own budget of two.
    assert clock.slept == ([] if backend == "memory" else [60.0])
