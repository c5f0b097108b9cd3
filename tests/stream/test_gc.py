"""GC tuning applies and undoes; the meter counts collections and their pauses."""

from __future__ import annotations

import gc

from autoissue.stream._gc import GcMeter, GcPolicy, restore_gc, tune_gc


def test_tune_gc_freezes_sets_thresholds_and_restore_undoes_it() -> None:
    before = gc.get_threshold()
    state = tune_gc(GcPolicy(freeze=True, thresholds=(50_000, 20, 20)))
    try:
        assert gc.get_threshold() == (50_000, 20, 20)
        assert gc.get_freeze_count() > 0
    finally:
        restore_gc(state)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_default_policy_freezes_and_makes_young_collections_rarer() -> None:
    before = gc.get_threshold()
    state = tune_gc()
    try:
        assert gc.get_threshold() == (10_000, 10, 10)
        assert gc.get_freeze_count() > 0
    finally:
        restore_gc(state)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_policy_without_thresholds_keeps_them() -> None:
    before = gc.get_threshold()
    state = tune_gc(GcPolicy(thresholds=None))
    assert gc.get_threshold() == before
    restore_gc(state)


def test_the_meter_counts_a_collection_and_its_pause() -> None:
    with GcMeter() as meter:
        gc.collect(1)
        gc.collect()
    stats = meter.statistics()
    assert stats.collections[1] >= 1
    assert stats.collections[2] >= 1
    assert stats.pause_seconds >= stats.longest_pause > 0
    gc.collect()  # after exit: not counted
    assert meter.statistics() == stats
    assert repr(meter).startswith("<GcMeter collections=")


def test_the_meter_ignores_a_collection_it_saw_only_the_end_of() -> None:
    meter = GcMeter()
    meter._callback("stop", {"generation": 0, "collected": 0})  # entered mid-collection
    assert meter.statistics().collections == (0, 0, 0)


def test_thresholds_alone_leave_nothing_frozen() -> None:
    before = gc.get_threshold()
    state = tune_gc(GcPolicy(freeze=False, thresholds=(1000, 15, 15)))
    assert gc.get_freeze_count() == 0
    restore_gc(state)
    assert gc.get_threshold() == before
