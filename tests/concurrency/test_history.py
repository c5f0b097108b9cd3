from __future__ import annotations

from pathlib import Path

from autoissue.concurrency import JsonFileHistoryStore
from autoissue.concurrency._history import MemoryHistoryStore, ScalingEvent, ScalingHistory

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


def test_json_store_round_trips(tmp_path: Path) -> None:
    store = JsonFileHistoryStore(tmp_path / "state" / "scaling.json")
    assert store.load() is None
    store.save(HISTORY)
    assert JsonFileHistoryStore(store.path).load() == HISTORY
    assert not store.path.with_name("scaling.json.tmp").exists()
    assert "scaling.json" in repr(store)


def test_json_store_ignores_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "scaling.json"
    path.write_text("{not json", encoding="utf-8")
    assert JsonFileHistoryStore(path).load() is None
    path.write_text('{"limit": "many"}', encoding="utf-8")
    assert JsonFileHistoryStore(path).load() is None
