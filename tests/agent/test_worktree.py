from __future__ import annotations

import logging
from pathlib import Path

import pytest

from autoissue.agent import Completed, GitCommandError, RepoMirror, git_env
from autoissue.agent._worktree import PRUNE_EVERY, _split_raw
from autoissue.emulator import Emulator
from tests.agent._emulated import admin

ENV = git_env({"PATH": "/usr/bin:/bin"}, author=("t", "t@example.invalid"))


def clone_url(emulator: Emulator) -> str:
    return str(admin(emulator, "state")["repos"][0]["clone_url"])


async def test_a_failed_fetch_is_a_git_command_error(tmp_path: Path) -> None:
    mirror = RepoMirror(tmp_path / "m.git", url=str(tmp_path / "absent.git"), base="main", env=ENV)
    assert "m.git" in repr(mirror)
    with pytest.raises(GitCommandError, match="git fetch failed"):
        await mirror.fetch()


async def test_a_mirror_is_reused_and_a_bad_base_cleans_up(
    tmp_path: Path, emulator: Emulator
) -> None:
    path = tmp_path / "repos" / "m.git"
    await RepoMirror(path, url=clone_url(emulator), base="main", env=ENV).fetch()
    again = RepoMirror(path, url=clone_url(emulator), base="main", env=ENV)
    await again.fetch()  # the mirror exists: fetched into, not re-created
    broken = RepoMirror(path, url=clone_url(emulator), base="gone", env=ENV)
    with pytest.raises(GitCommandError, match="worktree"):
        async with broken.checkout("autoissue/x/issue-1", number=1):
            pytest.fail("a worktree on a missing base must not be entered")
    assert list((tmp_path / "work").iterdir()) == []


def test_one_raw_diff_gives_the_paths_and_the_patch() -> None:
    raw = (
        b":000000 100644 0000000 87ae6b6 A\0b c.md\0"
        b":100644 100644 366f17f b12182a M\0f1.txt\0\0diff --git a/b c.md b/b c.md\n"
    )
    assert _split_raw(raw) == (("b c.md", "f1.txt"), b"diff --git a/b c.md b/b c.md\n")
    assert _split_raw(b"") == ((), b"")
    # Cut off by the output limit inside a record: the records read so far, no patch.
    assert _split_raw(b":000000 100644 0 1 A\0a\0:000000 100644 0 1 A\0b") == (("a",), b"")


class RacingMirror(RepoMirror):
    """A mirror whose first ``worktree add`` meets a concurrent add's half-written records."""

    raced = 0

    async def git(
        self, *args: str, cwd: Path | None = None, limit: int = 1 << 20, network: bool = False
    ) -> Completed:
        if args[:2] == ("worktree", "add") and self.raced < 2:
            self.raced += 1
            raise GitCommandError("git worktree failed (128): fatal: failed to read "
                                  "worktrees/issue-2-x/commondir: Success")  # fmt: skip
        return await super().git(*args, cwd=cwd, limit=limit, network=network)


async def racing_mirror(tmp_path: Path, emulator: Emulator) -> RacingMirror:
    mirror = RacingMirror(tmp_path / "repos" / "m.git", url=clone_url(emulator), base="main",
                          env=ENV)  # fmt: skip
    await mirror.fetch()
    return mirror


async def test_a_worktree_add_that_meets_another_is_tried_again(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await racing_mirror(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1", number=1) as tree:
        assert (tree.path / "README.md").exists()
    assert mirror.raced == 2


async def test_a_worktree_add_that_keeps_failing_says_why(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await racing_mirror(tmp_path, emulator)
    mirror.raced = -10  # more races than attempts
    with pytest.raises(GitCommandError, match="failed to read worktrees/"):
        async with mirror.checkout("autoissue/x/issue-1", number=1):
            pytest.fail("never entered")
    assert list((tmp_path / "work").iterdir()) == []


class UnprunableMirror(RepoMirror):
    async def git(
        self, *args: str, cwd: Path | None = None, limit: int = 1 << 20, network: bool = False
    ) -> Completed:
        if args == ("worktree", "prune"):
            raise GitCommandError("git worktree failed (128): fatal: cannot lock")
        return await super().git(*args, cwd=cwd, limit=limit, network=network)


async def test_a_failed_prune_is_a_warning_not_a_failure(
    tmp_path: Path, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    await RepoMirror(tmp_path / "m.git", url=clone_url(emulator), base="main", env=ENV).fetch()
    mirror = UnprunableMirror(tmp_path / "m.git", url=clone_url(emulator), base="main", env=ENV)
    mirror._deleted = PRUNE_EVERY - 1
    with caplog.at_level(logging.WARNING):
        async with mirror.checkout("autoissue/x/issue-1", number=1):
            pass
    assert "could not prune deleted worktrees: git worktree failed (128)" in caplog.text
