"""The state store contract (ledger, locks, artifacts, counters) on memory, SQLite and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from autoissue import BackendUnavailableError, ConfigurationError, CorruptItemError, FakeClock
from autoissue.state import PENDING, QueuedVersion, StateStore, open_state

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[StateStore]:
    dsn = {
        "memory": lambda: "memory://",
        "sqlite": lambda: f"sqlite:///{tmp_path / 'state.db'}",
        "redis": lambda: str(request.getfixturevalue("redis_url")),
    }[request.param]()
    async with await open_state(dsn, clock=clock) as opened:
        yield opened


async def test_record_then_lookup(store: StateStore, clock: FakeClock) -> None:
    assert await store.lookup(12, "triage") is None
    entry = await store.record(12, "triage", "2024-01-01T00:00:00Z", "done", ["label:bug"])
    assert await store.lookup("12", "triage") == entry
    assert entry.actions == ("label:bug",)
    assert entry.recorded_at == clock.now
    assert await store.lookup(12, "stale") is None


async def test_is_processed_needs_the_same_updated_at_and_a_finished_outcome(
    store: StateStore,
) -> None:
    await store.record("acme/w#1", "triage", "t1", "done")
    assert await store.is_processed("acme/w#1", "triage", "t1")
    assert not await store.is_processed("acme/w#1", "triage", "t2")
    assert not await store.is_processed("acme/w#2", "triage", "t1")
    await store.record("acme/w#1", "triage", "t2", PENDING)
    assert not await store.is_processed("acme/w#1", "triage", "t2")


async def test_applied_actions_accumulate_and_reset_when_the_issue_changes(
    store: StateStore, clock: FakeClock
) -> None:
    first = await store.applied(7, "triage", "t1", "label:bug")
    assert (first.outcome, first.actions, first.finished) == (PENDING, ("label:bug",), False)
    clock.advance(1)
    second = await store.applied(7, "triage", "t1", "comment:abc")
    assert second.actions == ("label:bug", "comment:abc")
    assert second.recorded_at == clock.now
    assert await store.lookup(7, "triage") == second
    fresh = await store.applied(7, "triage", "t2", "label:docs")
    assert fresh.actions == ("label:docs",)
    done = await store.record(7, "triage", "t2", "done", fresh.actions)
    assert (await store.lookup(7, "triage")) == done


async def test_a_lock_has_one_owner_until_it_expires(store: StateStore, clock: FakeClock) -> None:
    assert await store.acquire(5, "worker-a", ttl_s=10)
    assert not await store.acquire(5, "worker-b", ttl_s=10)
    assert await store.owner(5) == "worker-a"
    assert await store.acquire(5, "worker-a", ttl_s=10)
    clock.advance(10)
    assert await store.owner(5) is None
    assert await store.acquire(5, "worker-b", ttl_s=10)
    assert await store.owner(5) == "worker-b"


async def test_refresh_extends_only_a_live_lock_of_its_owner(
    store: StateStore, clock: FakeClock
) -> None:
    assert await store.acquire("9", "a", ttl_s=2)
    clock.advance(1.5)
    assert await store.refresh("9", "a", ttl_s=2)
    assert not await store.refresh("9", "b", ttl_s=2)
    clock.advance(1.5)
    assert await store.owner("9") == "a"
    clock.advance(1)
    assert not await store.refresh("9", "a", ttl_s=2)
    assert not await store.refresh("404", "a", ttl_s=2)


async def test_release_frees_only_the_owners_lock(store: StateStore) -> None:
    assert await store.acquire(1, "a", ttl_s=5)
    assert not await store.release(1, "b")
    assert await store.release(1, "a")
    assert not await store.release(1, "a")
    assert await store.owner(1) is None
    assert await store.acquire(1, "b", ttl_s=5)


async def test_statistics_and_repr(store: StateStore, clock: FakeClock) -> None:
    await store.record(1, "p", "t", "done")
    await store.applied(2, "p", "t", "x")
    await store.acquire(1, "a", ttl_s=5)
    await store.acquire(2, "a", ttl_s=1)
    clock.advance(2)
    stats = await store.statistics()
    assert (stats.entries, stats.locks) == (2, 1)
    assert type(store).__name__ in repr(store)


async def test_a_lock_ttl_must_be_positive(store: StateStore) -> None:
    with pytest.raises(ConfigurationError):
        await store.acquire(1, "a", ttl_s=0)


async def test_a_damaged_sqlite_ledger_row_is_a_clear_error(tmp_path: Path) -> None:
    dsn = f"sqlite:///{tmp_path / 's.db'}"
    async with await open_state(dsn) as store:
        await store.record(1, "p", "t", "done", ["a"])
        assert store.lookup is not None
        db = store.db  # type: ignore[attr-defined]
        await db.run(lambda conn: conn.execute("UPDATE ledger SET actions = 'not json'"))
        with pytest.raises(CorruptItemError, match="ledger entry 1/p"):
            await store.lookup(1, "p")


@pytest.mark.redis
async def test_a_damaged_redis_ledger_entry_is_a_clear_error(redis_url: str) -> None:
    async with await open_state(redis_url) as store:
        await store.record(1, "p", "t", "done")
        client, prefix = store.client, store.prefix  # type: ignore[attr-defined]
        await client.hset(f"{prefix}:ledger", "p\x001", b"{}")
        with pytest.raises(CorruptItemError):
            await store.lookup(1, "p")


async def test_an_unreachable_redis_state_store_is_a_clear_error() -> None:
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        await open_state("redis://127.0.0.1:1/0")


async def test_batched_ledger_writes_and_reads(store: StateStore, clock: FakeClock) -> None:
    entries = [store.entry(f"o/r#{n}", "triage", "t1", "done", [f"label:p{n}"]) for n in range(3)]
    await store.record_many(entries)
    await store.record_many([])
    found = await store.lookup_many(["o/r#0", "o/r#2", "o/r#9"], "triage")
    assert found == {"o/r#0": entries[0], "o/r#2": entries[2]}
    assert await store.lookup_many([], "triage") == {}
    assert await store.lookup_many(["o/r#0"], "stale") == {}
    assert entries[1].recorded_at == clock.now


async def test_batched_locks_follow_the_single_lock_rules(
    store: StateStore, clock: FakeClock
) -> None:
    assert await store.acquire("o/r#2", "other", 5)
    taken = await store.acquire_many(["o/r#1", "o/r#2", "o/r#3"], "me", 5)
    assert taken == {"o/r#1", "o/r#3"}
    assert await store.acquire_many([], "me", 5) == set()
    clock.advance(4)
    assert await store.refresh_many(["o/r#1", "o/r#2"], "me", 5) == {"o/r#1"}
    assert await store.refresh_many([], "me", 5) == set()
    clock.advance(3)  # o/r#3 expired, o/r#1 was extended
    assert await store.owner("o/r#1") == "me"
    assert await store.owner("o/r#3") is None
    await store.release_many(["o/r#1", "o/r#2"], "me")
    await store.release_many([], "me")
    assert await store.owner("o/r#1") is None
    assert await store.owner("o/r#2") is None  # expired meanwhile, and never ours
    with pytest.raises(ConfigurationError):
        await store.acquire_many(["o/r#1"], "me", 0)


async def test_an_artifact_is_saved_replaced_and_read_back(store: StateStore) -> None:
    assert await store.load_artifact("triage:acme/widgets") is None
    await store.save_artifact("triage:acme/widgets", b"\x00model\xff")
    assert await store.load_artifact("triage:acme/widgets") == b"\x00model\xff"
    await store.save_artifact("triage:acme/widgets", b"retrained")
    assert await store.load_artifact("triage:acme/widgets") == b"retrained"
    assert await store.load_artifact("triage:acme/other") is None


async def test_artifacts_are_not_ledger_entries(store: StateStore) -> None:
    await store.save_artifact("triage:acme/widgets", bytes(range(256)) * 4)
    assert (await store.statistics()).entries == 0
    assert await store.load_artifact("triage:acme/widgets") == bytes(range(256)) * 4


# -- counters ------------------------------------------------------------------------------


async def test_increments_add_up_to_the_total_they_return(store: StateStore) -> None:
    assert await store.increment("caps:o/r") == 1
    assert await store.increment("caps:o/r", 5) == 6
    assert await store.increment("caps:o/r", -2) == 4
    assert await store.counter("caps:o/r") == 4
    assert await store.increment("caps:other", 3) == 3  # each key its own total


async def test_the_counter_of_an_absent_key_is_zero(store: StateStore) -> None:
    assert await store.counter("never") == 0
    assert await store.counter("never") == 0  # reading creates nothing
    assert await store.increment("never", 0) == 0


async def test_concurrent_increments_lose_nothing(store: StateStore) -> None:
    totals = await asyncio.gather(*(store.increment("hits", 1, ttl_s=60) for _ in range(50)))
    assert sorted(totals) == list(range(1, 51))  # every step saw a distinct total
    assert await store.counter("hits") == 50


async def test_a_total_expires_ttl_after_its_first_increment(
    store: StateStore, clock: FakeClock
) -> None:
    await store.increment("hour", 2, ttl_s=10)
    clock.advance(6)
    assert await store.increment("hour", 3, ttl_s=10) == 5  # keeps the first expiry
    clock.advance(3.5)
    assert await store.counter("hour") == 5
    clock.advance(0.5)
    assert await store.counter("hour") == 0
    assert await store.increment("hour", 1, ttl_s=10) == 1  # starts afresh
    clock.advance(9)
    assert await store.counter("hour") == 1


async def test_a_total_without_expiry_takes_the_first_ttl_given(
    store: StateStore, clock: FakeClock
) -> None:
    await store.increment("k", 4)
    clock.advance(1000)
    assert await store.increment("k", 1, ttl_s=5) == 5
    clock.advance(4)
    assert await store.increment("k", 1) == 6
    clock.advance(1)
    assert await store.counter("k") == 0


async def test_add_member_is_idempotent(store: StateStore) -> None:
    assert await store.add_member("reopens:o/r#1", "t1") == 1
    assert await store.add_member("reopens:o/r#1", "t1") == 1
    assert await store.add_member("reopens:o/r#1", "t2") == 2
    assert await store.add_member("reopens:o/r#1", "t1") == 2
    assert await store.add_member("reopens:o/r#2", "t1") == 1  # each key its own set


async def test_add_member_returns_the_size_of_the_set(store: StateStore) -> None:
    members = [f"m{n % 20}" for n in range(60)]  # twenty members, each added three times
    sizes = await asyncio.gather(*(store.add_member("set", m) for m in members))
    assert max(sizes) == 20
    assert await store.add_member("set", "until") == 21  # no name is special
    assert await store.add_member("set", "+m1") == 22


async def test_a_member_set_expires_as_a_whole(store: StateStore, clock: FakeClock) -> None:
    assert await store.add_member("s", "a", ttl_s=10) == 1
    clock.advance(5)
    assert await store.add_member("s", "b", ttl_s=10) == 2  # keeps the set's expiry
    clock.advance(4)
    assert await store.add_member("s", "c") == 3
    clock.advance(1)
    assert await store.add_member("s", "a") == 1  # all three expired together
    clock.advance(1000)
    assert await store.add_member("s", "b", ttl_s=1) == 2  # no expiry since: takes this one
    clock.advance(1)
    assert await store.add_member("s", "b") == 1


async def test_totals_and_sets_are_apart_and_not_ledger_entries(store: StateStore) -> None:
    await store.increment("k", 7)
    assert await store.add_member("k", "x") == 1
    assert await store.counter("k") == 7
    assert await store.lookup("k", "x") is None
    assert (await store.statistics()).entries == 0


async def test_a_counter_ttl_must_be_positive(store: StateStore) -> None:
    with pytest.raises(ConfigurationError, match="ttl_s must be positive"):
        await store.increment("k", ttl_s=0)
    with pytest.raises(ConfigurationError):
        await store.add_member("k", "m", ttl_s=-1)
    assert await store.counter("k") == 0


@pytest.mark.redis
async def test_counters_of_stores_with_different_prefixes_do_not_collide(
    redis_url: str,
) -> None:
    # The second prefix extends the first, so the fixture deletes both stores' keys.
    async with await open_state(redis_url) as one, await open_state(f"{redis_url}:b") as two:
        await one.increment("k", 2)
        await one.add_member("k", "x")
        assert await two.counter("k") == 0
        assert await two.increment("k", 5) == 5
        assert await two.add_member("k", "y") == 1
        assert await one.counter("k") == 2
        assert await one.add_member("k", "z") == 2


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def shared_dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A backend two stores can open at once: a SQLite file, or the test Redis."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return str(request.getfixturevalue("redis_url"))


async def test_two_stores_on_one_backend_share_their_counters(
    shared_dsn: str, clock: FakeClock
) -> None:
    async with (
        await open_state(shared_dsn, clock=clock) as one,
        await open_state(shared_dsn, clock=clock) as two,
    ):
        adds = [store.increment("k", ttl_s=60) for store in (one, two) for _ in range(25)]
        await asyncio.gather(*adds)
        assert await one.counter("k") == await two.counter("k") == 50
        await asyncio.gather(one.add_member("s", "a"), two.add_member("s", "a"))
        assert await two.add_member("s", "b") == 2


# -- keys ----------------------------------------------------------------------------------


async def test_a_key_is_added_once(store: StateStore) -> None:
    assert not await store.is_present("delivery:1")
    assert await store.add_if_absent("delivery:1", ttl_s=60)
    assert await store.is_present("delivery:1")
    assert not await store.add_if_absent("delivery:1", ttl_s=60)
    assert not await store.add_if_absent("delivery:1")
    assert await store.add_if_absent("delivery:2")  # each key its own
    assert not await store.is_present("delivery:3")


async def test_concurrent_adds_of_one_key_let_exactly_one_win(store: StateStore) -> None:
    added = await asyncio.gather(*(store.add_if_absent("k", ttl_s=60) for _ in range(30)))
    assert added.count(True) == 1


async def test_a_key_expires_ttl_after_it_was_added(store: StateStore, clock: FakeClock) -> None:
    assert await store.add_if_absent("k", ttl_s=10)
    clock.advance(9)
    assert not await store.add_if_absent("k", ttl_s=10)  # keeps its first expiry
    assert await store.is_present("k")
    clock.advance(1)
    assert not await store.is_present("k")
    assert await store.add_if_absent("k", ttl_s=10)  # added afresh
    clock.advance(9.5)
    assert await store.is_present("k")


async def test_a_key_without_ttl_never_expires_and_adding_it_does_not_give_it_one(
    store: StateStore, clock: FakeClock
) -> None:
    assert await store.add_if_absent("forever")
    assert not await store.add_if_absent("forever", ttl_s=1)
    clock.advance(10**6)
    assert await store.is_present("forever")


async def test_expired_keys_are_swept_and_live_ones_kept(
    store: StateStore, clock: FakeClock
) -> None:
    for n in range(1100):  # past the memory store's first sweep
        assert await store.add_if_absent(f"old:{n}", ttl_s=5)
    assert await store.add_if_absent("kept", ttl_s=100)
    clock.advance(6)
    assert await store.add_if_absent("new", ttl_s=5)
    assert not await store.is_present("old:3")
    assert await store.is_present("kept")
    assert await store.add_if_absent("old:3", ttl_s=5)


async def test_keys_are_apart_from_counters_and_a_key_ttl_must_be_positive(
    store: StateStore,
) -> None:
    await store.increment("k", 3)
    await store.add_member("k", "k")
    assert not await store.is_present("k")
    assert await store.add_if_absent("k")
    assert await store.counter("k") == 3
    assert await store.add_member("k", "x") == 2
    with pytest.raises(ConfigurationError, match="a key's ttl_s must be positive"):
        await store.add_if_absent("other", ttl_s=0)
    assert not await store.is_present("other")


async def test_two_stores_on_one_backend_add_a_key_once(shared_dsn: str, clock: FakeClock) -> None:
    async with (
        await open_state(shared_dsn, clock=clock) as one,
        await open_state(shared_dsn, clock=clock) as two,
    ):
        adds = [store.add_if_absent(f"k{n}", ttl_s=60) for store in (one, two) for n in range(10)]
        assert sum(await asyncio.gather(*adds)) == 10
        assert await two.is_present("k3")
        assert not await one.is_present("k10")


async def test_sqlite_deletes_expired_keys_when_it_adds_one(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with await open_state(f"sqlite:///{tmp_path / 's.db'}", clock=clock) as store:
        for n in range(5):
            await store.add_if_absent(f"old:{n}", ttl_s=5)
        await store.add_if_absent("kept")
        clock.advance(5)
        await store.add_if_absent("new", ttl_s=5)
        db = store.db  # type: ignore[attr-defined]
        rows = await db.run(lambda conn: conn.execute("SELECT key FROM state_keys").fetchall())
        assert sorted(key for (key,) in rows) == ["kept", "new"]


# -- queued marks --------------------------------------------------------------------------


def v(issue: str, updated_at: str, processor: str = "triage") -> QueuedVersion:
    return QueuedVersion(issue, processor, updated_at)


async def test_a_mark_only_rises(store: StateStore) -> None:
    assert await store.queued_marks([("o/r#1", "triage")]) == {}
    await store.mark_queued([v("o/r#1", "2026-01-02T00:00:00Z")])
    await store.mark_queued([v("o/r#1", "2026-01-01T00:00:00Z")])  # older: changes nothing
    assert await store.queued_marks([("o/r#1", "triage")]) == {
        ("o/r#1", "triage"): "2026-01-02T00:00:00Z"
    }
    await store.mark_queued([v("o/r#1", "2026-01-03T00:00:00Z")])
    assert await store.queued_marks([("o/r#1", "triage")]) == {
        ("o/r#1", "triage"): "2026-01-03T00:00:00Z"
    }


async def test_marks_are_raised_and_read_in_batches_by_issue_and_processor(
    store: StateStore,
) -> None:
    await store.mark_queued(
        [
            v("o/r#1", "t2"),
            v("o/r#1", "t3"),  # two versions of one key in a batch: the newer wins
            v("o/r#1", "t1"),
            v("o/r#1", "t9", processor="stale"),  # each processor its own mark
            v("o/r#2", "t1"),
        ]
    )
    await store.mark_queued([])
    keys = [("o/r#1", "triage"), ("o/r#1", "stale"), ("o/r#2", "triage"), ("o/r#3", "triage")]
    assert await store.queued_marks(keys) == {
        ("o/r#1", "triage"): "t3",
        ("o/r#1", "stale"): "t9",
        ("o/r#2", "triage"): "t1",
    }
    assert await store.queued_marks([]) == {}


async def test_versions_compare_character_by_character(store: StateStore) -> None:
    # Not by the server's locale: in some, punctuation counts for less than digits.
    await store.mark_queued(
        [v("o/r#1", "2026-01-01T10:00:00Z"), v("o/r#1", "2026-01-01T09:59:59Z")]
    )
    await store.mark_queued([v("o/r#2", "a-b"), v("o/r#2", "ab"), v("o/r#2", "a")])
    await store.mark_queued([v("o/r#3", "t1"), v("o/r#3", "t10")])  # a longer string is later
    marks = await store.queued_marks(
        [("o/r#1", "triage"), ("o/r#2", "triage"), ("o/r#3", "triage")]
    )
    assert marks == {
        ("o/r#1", "triage"): "2026-01-01T10:00:00Z",
        ("o/r#2", "triage"): "ab",
        ("o/r#3", "triage"): "t10",
    }


async def test_a_finished_entry_drops_the_marks_its_version_reaches(store: StateStore) -> None:
    await store.mark_queued(
        [v("o/r#1", "t2"), v("o/r#2", "t2"), v("o/r#3", "t2"), v("o/r#4", "t2")]
    )
    await store.record("o/r#1", "triage", "t2", "done")  # at the mark: dropped
    await store.record("o/r#2", "triage", "t1", "done")  # older than the mark: kept
    await store.record("o/r#3", "triage", "t2", PENDING)  # not finished: kept
    await store.record("o/r#4", "stale", "t3", "done")  # another processor's entry: kept
    await store.record("o/r#5", "triage", "t3", "done")  # no mark at all
    keys = [(f"o/r#{n}", "triage") for n in range(1, 6)]
    assert await store.queued_marks(keys) == {
        ("o/r#2", "triage"): "t2",
        ("o/r#3", "triage"): "t2",
        ("o/r#4", "triage"): "t2",
    }
    assert (await store.lookup("o/r#1", "triage")) is not None  # the entry itself is written


async def test_a_batch_of_entries_drops_marks_as_one_entry_does(store: StateStore) -> None:
    await store.mark_queued([v("o/r#1", "t2"), v("o/r#2", "t2"), v("o/r#3", "t2")])
    await store.record_many(
        [
            store.entry("o/r#1", "triage", "t3", "done"),  # past the mark: dropped
            store.entry("o/r#2", "triage", "t1", "done"),
            store.entry("o/r#3", "triage", "t2", PENDING),
        ]
    )
    keys = [(f"o/r#{n}", "triage") for n in range(1, 4)]
    assert await store.queued_marks(keys) == {("o/r#2", "triage"): "t2", ("o/r#3", "triage"): "t2"}
    found = await store.lookup_many(["o/r#1", "o/r#2", "o/r#3"], "triage")
    assert [found[f"o/r#{n}"].updated_at for n in range(1, 4)] == ["t3", "t1", "t2"]


async def test_marks_are_not_ledger_entries(store: StateStore) -> None:
    await store.mark_queued([v("o/r#1", "t1")])
    assert await store.lookup("o/r#1", "triage") is None
    assert (await store.statistics()).entries == 0


async def test_two_stores_on_one_backend_share_their_marks(
    shared_dsn: str, clock: FakeClock
) -> None:
    async with (
        await open_state(shared_dsn, clock=clock) as one,
        await open_state(shared_dsn, clock=clock) as two,
    ):
        raises = [
            store.mark_queued([v("o/r#1", f"t{n:02d}")]) for store in (one, two) for n in range(20)
        ]
        await asyncio.gather(*raises)
        assert await two.queued_marks([("o/r#1", "triage")]) == {("o/r#1", "triage"): "t19"}
        await one.record("o/r#1", "triage", "t19", "done")
        assert await two.queued_marks([("o/r#1", "triage")]) == {}


async def test_two_stores_on_one_backend_write_at_once(shared_dsn: str, clock: FakeClock) -> None:
    # Many calls of each kind in flight on each store: its thread runs one while the event
    # loop is done with the one before, which ran the same statement.
    async with (
        await open_state(shared_dsn, clock=clock) as one,
        await open_state(shared_dsn, clock=clock) as two,
    ):
        for store in (one, two):
            await store.acquire_many([f"o/r#{n}" for n in range(30)], "me", 60)
        await asyncio.gather(
            *(store.release_many([f"o/r#{n}"], "me") for store in (one, two) for n in range(30)),
            *(store.save_artifact(f"a{n}", b"x") for store in (one, two) for n in range(30)),
            *(store.mark_queued([v(f"o/r#{n}", "t1")]) for store in (one, two) for n in range(30)),
        )
        assert await one.owner("o/r#0") is None
        keys = [(f"o/r#{n}", "triage") for n in range(30)]
        assert len(await two.queued_marks(keys)) == 30
        assert await one.load_artifact("a29") == b"x"
