"""The emulated repositories' git side: real bare repositories that clients can push to.

Pull-request creation asks them whether the head branch exists, as GitHub does. Every
repository starts from the same commit, so the first is made with git and the others copied.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from autoissue._exceptions import EmulatorError

__all__ = ["bare_paths", "branch_shas", "create_bare_repo", "create_bare_repos"]

_FILES = {
    "README.md": "# widgets\n\nA small library the emulator pretends to host.\n\n"
    "## Usage\n\n```python\nimport widgets\nwidgets.sync()\n```\n",
    "widgets/__init__.py": '"""Widgets."""\n\nfrom widgets.core import sync\n\n'
    '__all__ = ["sync"]\n',
    "widgets/core.py": '"""The core."""\n\n\ndef sync() -> int:\n    """Sync."""\n    return 0\n',
    "tests/test_core.py": "from widgets import sync\n\n\ndef test_sync():\n"
    "    assert sync() == 0\n",
}
#: Fixed identity and dates: the seeded repository's commit is the same on every start.
_ENV = {
    "GIT_AUTHOR_NAME": "Emulator",
    "GIT_AUTHOR_EMAIL": "emulator@example.invalid",
    "GIT_COMMITTER_NAME": "Emulator",
    "GIT_COMMITTER_EMAIL": "emulator@example.invalid",
    "GIT_AUTHOR_DATE": "2022-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2022-01-01T00:00:00Z",
}


def _git(*args: str | Path) -> str:
    command = ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    try:
        done = subprocess.run(
            [*command, *map(str, args)],
            capture_output=True,
            text=True,
            check=False,
            env=os.environ | _ENV,
        )
    except OSError as exc:
        raise EmulatorError(f"cannot run git: {exc}") from exc
    if done.returncode:
        raise EmulatorError(f"git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def bare_paths(root: Path, full_names: Sequence[str]) -> list[Path]:
    """Where each repository's bare git repository lives under ``root``.

    ``root/NAME.git``, or ``root/OWNER/NAME.git`` for a name that two owners share.
    """
    owners = Counter(full_name.split("/", 1)[1].lower() for full_name in full_names)
    paths = []
    for full_name in full_names:
        owner, name = full_name.split("/", 1)
        shared = owners[name.lower()] > 1
        paths.append((root / owner if shared else root) / f"{name}.git")
    return paths


def _create(bare: Path) -> Path:
    bare.parent.mkdir(parents=True, exist_ok=True)
    work = bare.with_suffix(".seed")
    for path in (bare, work):
        shutil.rmtree(path, ignore_errors=True)
    for relative, text in _FILES.items():
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    _git("init", "-q", "-b", "main", work)
    _git("-C", work, "add", "-A")
    _git("-C", work, "commit", "-q", "-m", "Initial commit")
    _git("clone", "-q", "--bare", work, bare)
    # GitHub never runs a collection in the pusher's time; here it would run on the same
    # two cores as everything measured, after any push.
    _git("-C", bare, "config", "receive.autogc", "false")
    shutil.rmtree(work)
    return bare


def _create_all(bares: Sequence[Path]) -> None:
    first, *others = bares
    _create(first)
    for bare in others:
        shutil.rmtree(bare, ignore_errors=True)
        shutil.copytree(first, bare)


async def create_bare_repo(root: Path, name: str) -> Path:
    """Create (or re-create) ``root/NAME.git`` with one commit on ``main``; return its path."""
    return await asyncio.to_thread(_create, root / f"{name}.git")


async def create_bare_repos(bares: Sequence[Path]) -> None:
    """Create (or re-create) each bare repository of ``bares`` with one commit on ``main``."""
    await asyncio.to_thread(_create_all, bares)


async def branch_shas(bare: Path, *branches: str) -> dict[str, str | None]:
    """The commit each of ``branches`` points at in the bare repository (``None``: absent).

    Read from the ref files as git keeps them (one file per loose ref, then ``packed-refs``),
    without starting a git process: the emulator shares the CPU with what is measured.
    """
    return await asyncio.to_thread(_read_refs, bare, branches)


def _read_refs(bare: Path, branches: tuple[str, ...]) -> dict[str, str | None]:
    heads = (bare / "refs" / "heads").resolve()
    found: dict[str, str | None] = dict.fromkeys(branches)
    packed: dict[str, str] | None = None
    for branch in branches:
        loose = (heads / branch).resolve()
        if not branch or not loose.is_relative_to(heads):
            continue
        if loose.is_file():
            found[branch] = loose.read_text(encoding="ascii", errors="replace").strip() or None
            continue
        packed = _packed_refs(bare) if packed is None else packed
        found[branch] = packed.get(f"refs/heads/{branch}")
    return found


def _packed_refs(bare: Path) -> dict[str, str]:
    try:
        lines = (bare / "packed-refs").read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return {}
    pairs = (line.split(" ", 1) for line in lines if line and line[0] not in "#^")
    return {ref: sha for sha, ref in (pair for pair in pairs if len(pair) == 2)}
