"""Worktree folders of killed runs: marked while in use, deleted by the next run's sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoissue.agent._leftovers import IN_USE, STAGING, claimed_folder, sweep

HOLDER = """
import sys, time
from pathlib import Path
from autoissue.agent._leftovers import claimed_folder
with claimed_folder(Path(sys.argv[1]), "issue-2-") as folder:
    print(folder.name, flush=True)
    time.sleep(60)
"""


def folder(work: Path, name: str, *, age_s: float = 0.0, mark: bool = False) -> Path:
    path = work / name
    path.mkdir(parents=True)
    (path / "issue.json").write_text("{}")
    if mark:
        (path / IN_USE).touch()  # marked, and nobody holds it
    if age_s:
        then = time.time() - age_s
        os.utime(path, (then, then))
    return path


def test_a_folder_in_use_is_kept_and_a_released_one_is_deleted(tmp_path: Path) -> None:
    with claimed_folder(tmp_path, "issue-1-") as live:
        assert live.name.startswith("issue-1-")
        assert (live / IN_USE).exists()  # marked before it got its name
        assert [p.name for p in tmp_path.iterdir()] == [live.name]
        assert sweep(tmp_path, min_age_s=0) == 0
        assert live.exists()
    assert sweep(tmp_path, min_age_s=0) == 1
    assert not live.exists()


def test_the_folder_of_a_killed_process_is_deleted_at_once(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", HOLDER, str(tmp_path)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout is not None
            name = holder.stdout.readline().decode().strip()
            assert name.startswith("issue-2-")
            assert sweep(tmp_path) == 0  # another process holds it: in use
        finally:
            holder.send_signal(signal.SIGKILL)
    assert (tmp_path / name).exists()
    assert sweep(tmp_path) == 1  # the kernel dropped the dead process's lock: no waiting
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "mark", "age_s", "kept"),
    [
        ("issue-3-c", False, 0.0, True),  # unmarked and young: its owner may be marking it
        ("issue-3-c", False, 120.0, False),  # unmarked and old: its owner died unmarked
        (f"{STAGING}x", True, 0.0, True),  # staging and young: even marked, wait
        (f"{STAGING}x", True, 120.0, False),
        (f"{STAGING}x", False, 120.0, False),
    ],
)
def test_unmarked_and_staging_folders_wait_until_they_are_old(
    tmp_path: Path, name: str, mark: bool, age_s: float, kept: bool
) -> None:
    left = folder(tmp_path, name, age_s=age_s, mark=mark)
    (tmp_path / "stray-file").write_text("not a folder")  # never touched
    assert sweep(tmp_path, min_age_s=60) == (0 if kept else 1)
    assert left.exists() is kept
    assert (tmp_path / "stray-file").exists()


def test_a_marked_folder_nobody_holds_goes_however_young(tmp_path: Path) -> None:
    folder(tmp_path, "issue-4-d", mark=True)
    assert sweep(tmp_path, min_age_s=60) == 1


def test_no_work_folder_is_nothing_to_sweep(tmp_path: Path) -> None:
    assert sweep(tmp_path / "absent") == 0
