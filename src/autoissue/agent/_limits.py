"""Kernel limits on one agent run: at most N processes and M bytes, whatever it forks.

A control group of its own per run holds the agent and everything it starts: ``pids.max``
stops a fork bomb at N processes, the memory limit has the kernel kill what allocates past M
bytes. Both cgroup layouts are used as found: v2 (one folder with ``pids.max`` and
``memory.max``) and v1 (one folder in the ``pids`` and one in the ``memory`` hierarchy,
``memory.limit_in_bytes``). Each group is made inside the cgroup we run in, so a user whose
session has delegated controllers (or root) gets it; where neither works the limits fall
back to resource limits set by ``prlimit`` (``RLIMIT_NPROC``, ``RLIMIT_DATA``), which bound
less well: the process count is per user, and root is exempt from it.

The agent joins its groups before it starts: a small ``sh`` wrapper writes its own PID into
each group's ``cgroup.procs`` and then executes the agent's argv (passed as arguments, never
as a script). Groups are named ``autoissue-<our pid>-<folder>``; a group left by a process
that has gone is removed by the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CGROUP_ROOT", "ControlGroups", "limit_mechanism", "limited_argv", "sweep_groups"]

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
_SELF = Path("/proc/self/cgroup")
_PREFIX = "autoissue-"
# Joins each group named before "--", then becomes the command after it.
_ENTER = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
#: (file, limit) per layout: which file bounds processes and which bounds memory.
_PIDS, _MEMORY_V2, _MEMORY_V1 = "pids.max", "memory.max", "memory.limit_in_bytes"
_REMOVE_ATTEMPTS = 200
_POLL_S = 0.005
_SETTLE_S = 2.0


@dataclass(frozen=True, slots=True)
class _Hierarchy:
    base: Path  # the cgroup we run in, in this hierarchy
    limits: tuple[str, ...]  # the limit files that may be written in a group made here


def _hierarchies(root: Path = CGROUP_ROOT, own: Path = _SELF) -> list[_Hierarchy]:
    """Where groups of ours may be made: our cgroup in each layout that offers a limit."""
    try:
        lines = own.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if not controllers and (root / "cgroup.controllers").exists():
            found.append(_Hierarchy(root / relative, (_PIDS, _MEMORY_V2)))
        for name, limit in (("pids", _PIDS), ("memory", _MEMORY_V1)):
            if name in controllers.split(",") and (root / name).is_dir():
                found.append(_Hierarchy(root / name / relative, (limit,)))
    return found


@dataclass(slots=True)
class ControlGroups:
    """The control groups of one agent run; :meth:`close` kills what is left and removes them."""

    folders: tuple[Path, ...]
    layout: str

    @classmethod
    def create(
        cls,
        name: str,
        *,
        memory_bytes: int,
        max_processes: int,
        root: Path = CGROUP_ROOT,
        own: Path = _SELF,
    ) -> ControlGroups | None:
        """Groups named ``name`` with both limits set, or ``None`` where that cannot be done."""
        values = {_PIDS: max_processes, _MEMORY_V2: memory_bytes, _MEMORY_V1: memory_bytes}
        folders, set_limits = [], set()
        for hierarchy in _hierarchies(root, own):
            folder = hierarchy.base / f"{_PREFIX}{os.getpid()}-{name}"
            written = _make(folder, {f: values[f] for f in hierarchy.limits})
            if written:
                folders.append(folder)
                set_limits |= {"pids" if f == _PIDS else "memory" for f in written}
        groups = cls(tuple(folders), _layout(folders))
        if set_limits != {"pids", "memory"}:
            groups.remove()
            return None
        return groups

    def enter_argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside these groups, joined before its first instruction."""
        procs = [str(folder / "cgroup.procs") for folder in self.folders]
        return ["/bin/sh", "-c", _ENTER, "sh", *procs, "--", *argv]

    def members(self) -> set[int]:
        """The processes in the groups now."""
        pids: set[int] = set()
        for folder in self.folders:
            with contextlib.suppress(OSError):
                pids |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
        return pids

    async def close(self) -> int:
        """Wait for the groups to empty, kill what stays, remove them; the processes killed.

        A sandbox's processes die with its PID namespace, but the kernel tears that down
        after the sandbox has reported its exit: moments, which are waited for, so that no
        process of an issue outlives it. What is still there after ``_SETTLE_S`` is killed.
        """
        left = await self._settled()
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for _ in range(_REMOVE_ATTEMPTS):
            # A killed process leaves its group once it is reaped.
            if self.remove():
                break
            await asyncio.sleep(_POLL_S)
        else:
            logger.warning("could not remove control groups %s", ", ".join(map(str, self.folders)))
        return len(left)

    async def _settled(self) -> set[int]:
        # Polled: a v1 group has no event that says it emptied.
        for _ in range(round(_SETTLE_S / _POLL_S)):
            left = self.members()
            if not left:
                return left
            await asyncio.sleep(_POLL_S)
        return self.members()

    def remove(self) -> bool:
        """Remove the (empty) groups; whether all are gone."""
        gone = True
        for folder in self.folders:
            try:
                folder.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                gone = False
        return gone


def _make(folder: Path, limits: dict[str, int]) -> list[str]:
    """Make ``folder`` and write its limits; the limit files written (none: it is removed)."""
    try:
        folder.mkdir()
    except OSError:
        return []
    written = []
    for file, value in limits.items():
        with contextlib.suppress(OSError):
            (folder / file).write_text(str(value))
            written.append(file)
    if not written:
        with contextlib.suppress(OSError):
            folder.rmdir()
    return written


def _layout(folders: Sequence[Path]) -> str:
    return "cgroup v1" if any(f.parent.name in {"pids", "memory"} for f in folders) else "cgroup v2"


def sweep_groups(root: Path = CGROUP_ROOT, own: Path = _SELF) -> int:
    """Remove the groups of processes that have gone; how many were removed."""
    removed = 0
    for hierarchy in _hierarchies(root, own):
        with contextlib.suppress(OSError):
            for folder in hierarchy.base.glob(f"{_PREFIX}*"):
                owner = folder.name.removeprefix(_PREFIX).split("-", 1)[0]
                if owner.isdigit() and not _alive(int(owner)):
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def limit_mechanism(root: Path = CGROUP_ROOT, own: Path = _SELF) -> str:
    """How agent runs are bounded here: ``cgroup v1``/``cgroup v2``, ``rlimit``, or ``none``."""
    groups = ControlGroups.create(
        "probe", memory_bytes=1 << 30, max_processes=64, root=root, own=own
    )
    if groups is not None:
        groups.remove()
        return groups.layout
    return "rlimit" if shutil.which("prlimit") else "none"


def limited_argv(argv: Sequence[str], *, memory_bytes: int, max_processes: int) -> list[str]:
    """``argv`` under ``prlimit``'s resource limits, where no control group can be had."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return list(argv)
    limits = [f"--nproc={max_processes}", f"--data={memory_bytes}"]
    return [prlimit, *limits, "--", *argv]
