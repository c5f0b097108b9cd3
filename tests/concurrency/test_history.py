from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from autoissue.backend import Backend, open_backend
from autoissue.concurrency import MemoryHistoryStore, ScalingHistory
from autoissue.concurrency._history import ScalingEvent


@pytest.fixture(params=["memory", "sqlite"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    dsn = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'state.db'}"
    async with open_backend(dsn) as opened:
        yield opened


HISTORY = ScalingHistory(
    limit=42,
    observations=((10.0, 99.5), (20.0, 180.25)),
    events=(ScalingEvent(1.5, 20, 42, "gradient2: p95 51 ms, 0 drops"),),
    saved_at=1_800_000_000.0,
)


def test_memory_store_round_trips() -> None:
    store = MemoryHistoryStore()
    assert store.load() is None
    store.save(HISTORY)
    assert store.load() == HISTORY
    assert "saved=True" in repr(store)


async def test_the_backend_keeps_the_history_between_runs(backend: Backend) -> None:
    assert (await backend.scaling_history("host:triage")).load() is None
    store = MemoryHistoryStore()
    await backend.keep_scaling_history("host:triage", store)  # nothing saved: nothing kept
    assert (await backend.scaling_history("host:triage")).load() is None
    store.save(HISTORY)
    await backend.keep_scaling_history("host:triage", store)
    assert (await backend.scaling_history("host:triage")).load() == HISTORY
    assert (await backend.scaling_history("host:stale")).load() is None


async def test_a_damaged_history_is_ignored(backend: Backend) -> None:
    await backend.state.save_artifact("scaling-history:host:triage", b"{not json")
    assert (await backend.scaling_history("host:triage")).load() is None
    await backend.state.save_artifact("scaling-history:host:triage", b'{"limit": "many"}')
    assert (await backend.scaling_history("host:triage")).load() is None
