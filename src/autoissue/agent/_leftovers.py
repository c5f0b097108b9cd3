"""Worktree folders left behind by a run that was killed, found and deleted by the next one.

A folder in use holds an exclusive ``flock`` on its ``.in-use`` file for as long as its issue
runs. The kernel drops the lock when the process holding it ends, however it ends, so a
folder whose lock can be taken belongs to no one and is deleted.

A folder is made under a staging name (``.new-…``), marked, and only then given its own
name, so a folder under its own name is always marked. Several processes may share a state
directory: a staging folder, or one without the mark (made by an older version), is left
alone until it is ``min_age_s`` old, as its owner may be in the middle of marking it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["IN_USE", "STAGING", "claimed_folder", "sweep"]

logger = logging.getLogger(__name__)

IN_USE = ".in-use"
STAGING = ".new-"
#: Seconds a folder may take to be marked: from ``mkdtemp`` to the lock, microseconds.
MIN_AGE_S = 60.0


@contextlib.contextmanager
def claimed_folder(work: Path, prefix: str) -> Iterator[Path]:
    """A new folder in ``work`` named ``prefix`` + a random part, in use until the block ends."""
    staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=work))
    descriptor = os.open(staging / IN_USE, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: never contended
        folder = staging.rename(work / f"{prefix}{staging.name.removeprefix(STAGING)}")
        yield folder
    finally:
        os.close(descriptor)


def sweep(work: Path, *, min_age_s: float = MIN_AGE_S) -> int:
    """Delete the folders of ``work`` that no live process uses; return how many."""
    if not work.is_dir():
        return 0
    deleted = 0
    settled = time.time() - min_age_s
    for folder in work.iterdir():
        if folder.is_dir() and _unused(folder, young=folder.stat().st_mtime > settled):
            shutil.rmtree(folder, ignore_errors=True)
            deleted += 1
    if deleted:
        logger.info("deleted %d worktree folder(s) left by an earlier run in %s", deleted, work)
    return deleted


def _unused(folder: Path, *, young: bool) -> bool:
    if young and folder.name.startswith(STAGING):
        return False  # its owner may be marking it now
    try:
        descriptor = os.open(folder / IN_USE, os.O_RDWR)
    except FileNotFoundError:
        return not young
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True
