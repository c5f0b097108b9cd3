"""Pool fixtures: a checker that no process and no shared-memory segment outlives a test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from multiprocessing import resource_tracker

import psutil
import pytest

SHM = "/dev/shm"  # noqa: S108 - where POSIX shared memory lives on Linux: checked, not written


def shm_segments() -> set[str]:
    return {name for name in os.listdir(SHM) if name.startswith("autoissue-")}


def descendants() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    """Fail the test if it leaves a child process or a shared-memory segment behind."""
    # The interpreter-wide resource tracker (started by the first SharedMemory) is not ours.
    resource_tracker.ensure_running()
    processes, segments = descendants(), shm_segments()
    yield
    assert descendants() - processes == set(), "orphan processes after the test"
    assert shm_segments() - segments == set(), "shared memory leaked in /dev/shm"
