"""The files beside a worktree, kept from one issue to the next and rewritten only when changed.

Each issue of a kept worktree needs the same few files and folders beside it: the issue's
files, the agent's result folder, its private git folder and object folder, its copy of the
mirror's configuration. Made anew for every issue and deleted after it, they cost a dozen
file creations and deletions per issue, and on ext4 creating a file right after many were
deleted is dear: the allocator scans past every recently freed inode (measured on the agent
bench: about a quarter of the engine's own CPU). So they are kept: a file whose content is
already right is not written, and only what an agent added is deleted.

What an agent could write (its result, git and object folders) is never trusted to be what
it was: anything that is not a regular file where a file is kept, or not a real folder where
a folder is kept, is deleted and made again, so nothing written here ever follows a link.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Collection, Mapping
from pathlib import Path

__all__ = ["empty_folder", "keep_folder", "refresh_file", "remove", "tidy"]


def remove(path: Path) -> None:
    """Delete a file, a link or a folder, whichever it is; nothing if it is not there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _mode(path: Path) -> int:
    try:
        return path.lstat().st_mode
    except FileNotFoundError:
        return 0


def refresh_file(path: Path, data: bytes, *, in_place: bool = False) -> None:
    """Make ``path`` a regular file holding ``data``, writing nothing if it already does.

    A file that differs is deleted and made anew, never written through: an agent that can
    write there may have left a link, or a file it then made unreadable. ``in_place`` is for
    files only we write (an agent sees them read-only): those are overwritten in place.
    Nothing is ever opened through a link.
    """
    mode = _mode(path)
    if stat.S_ISREG(mode) and _holds(path, data):
        return
    if in_place and stat.S_ISREG(mode):
        flags = os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW
    else:
        if mode:
            remove(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(path, flags, 0o644), "wb") as file:
        file.write(data)


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:  # unreadable: replaced
        return False


def keep_folder(path: Path) -> None:
    """Make ``path`` a real folder (not a link to one), keeping it if it is one."""
    mode = _mode(path)
    if stat.S_ISDIR(mode):
        return
    if mode:
        remove(path)
    path.mkdir()


def empty_folder(path: Path, *, keep_files: Collection[str] = ()) -> None:
    """Delete everything in the folder ``path`` but the regular files named in ``keep_files``."""
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name in keep_files and entry.is_file(follow_symlinks=False):
                continue
            remove(Path(entry.path))


def tidy(folder: Path, *, keep: Collection[str], empty: Mapping[str, Collection[str]]) -> None:
    """Delete what ``folder`` holds but the entries named in ``keep`` and the folders in ``empty``.

    Each folder of ``empty`` is kept if it is a real folder, and emptied but for the regular
    files ``empty`` names for it. Entries of ``keep`` are left as they are, whatever they are:
    what is written to them later goes through :func:`refresh_file` or :func:`keep_folder`.
    """
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name in keep:
                continue
            path = Path(entry.path)
            if entry.name in empty and entry.is_dir(follow_symlinks=False):
                empty_folder(path, keep_files=empty[entry.name])
            else:
                remove(path)
