from __future__ import annotations

import logging
from pathlib import Path

import pytest

from autoissue.agent import GitCommandError, RepoMirror, git_env
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
    tmp_path: Path, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "repos" / "m.git"
    await RepoMirror(path, url=clone_url(emulator), base="main", env=ENV).fetch()
    again = RepoMirror(path, url=clone_url(emulator), base="main", env=ENV)
    await again.fetch()  # the mirror exists: fetched into, not re-created
    broken = RepoMirror(path, url=clone_url(emulator), base="gone", env=ENV)
    with caplog.at_level(logging.WARNING), pytest.raises(GitCommandError, match="worktree"):
        async with broken.checkout("autoissue/x/issue-1", number=1):
            pytest.fail("a worktree on a missing base must not be entered")
    assert "could not remove worktree" in caplog.text
    assert list((tmp_path / "work").iterdir()) == []
