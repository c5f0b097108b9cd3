from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any, Literal

import pygit2
import pytest

from autoissue import GitCommandError
from autoissue.agent import Completed, RepoMirror, git_env
from autoissue.agent._libgit import reset_worktree, stage_worktree
from autoissue.agent._worktree import PRUNE_EVERY, _locked
from autoissue.emulator import Emulator
from tests.agent._emulated import admin

ENV = git_env({"PATH": "/usr/bin:/bin"}, author=("t", "t@example.invalid"))


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


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
        async with broken.checkout("autoissue/x/issue-1"):
            pytest.fail("a worktree on a missing base must not be entered")
    assert list((tmp_path / "work").iterdir()) == []


class RacingMirror(RepoMirror):
    """A mirror whose first ``worktree add`` meets a concurrent add's half-written records."""

    raced = 0

    async def git(
        self, *args: str, cwd: Path | None = None, limit: int = 1 << 20, network: bool = False
    ) -> Completed:
        if args[:2] == ("worktree", "add") and self.raced < 2:
            self.raced += 1
            raise GitCommandError(
                "git worktree failed (128): fatal: failed to read "
                "worktrees/issue-2-x/commondir: Success"
            )
        return await super().git(*args, cwd=cwd, limit=limit, network=network)


async def racing_mirror(tmp_path: Path, emulator: Emulator) -> RacingMirror:
    mirror = RacingMirror(
        tmp_path / "repos" / "m.git", url=clone_url(emulator), base="main", env=ENV
    )
    await mirror.fetch()
    return mirror


async def test_a_worktree_add_that_meets_another_is_tried_again(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await racing_mirror(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1") as tree:
        assert (tree.path / "README.md").exists()
    assert mirror.raced == 2


async def test_a_worktree_add_that_keeps_failing_says_why(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await racing_mirror(tmp_path, emulator)
    mirror.raced = -10  # more races than attempts
    with pytest.raises(GitCommandError, match="failed to read worktrees/"):
        async with mirror.checkout("autoissue/x/issue-1"):
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
        async with mirror.checkout("autoissue/x/issue-1"):
            pass
    assert "could not prune deleted worktrees: git worktree failed (128)" in caplog.text


async def fetched(tmp_path: Path, emulator: Emulator) -> RepoMirror:
    mirror = RepoMirror(tmp_path / "repos" / "m.git", url=clone_url(emulator), base="main", env=ENV)
    await mirror.fetch()
    return mirror


def work(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "work").iterdir())


async def test_a_worktree_is_put_back_at_the_base_and_used_again_while_others_run(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await fetched(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1"):  # another issue, running throughout
        async with mirror.checkout("autoissue/x/issue-2") as first:
            readme = (first.path / "README.md").read_text()
            (first.path / "README.md").write_text("changed")
            (first.path / ".gitignore").write_text("*.log\n")
            (first.path / "build.log").write_text("ignored")
            (first.path / "widgets" / "new.py").write_text("new")
            (first.folder / "issue.json").write_text("{}")  # kept: the next one overwrites it
            (first.folder / "left-by-agent").write_text("x")
            (first.folder / "out").mkdir()
            (first.folder / "out" / "result.json").write_text("{}")
            (first.path / ".git").write_text("gitdir: /elsewhere\n")
        async with mirror.checkout("autoissue/x/issue-3") as second:
            assert second.folder == first.folder
            assert second.branch == "autoissue/x/issue-3"
            assert (second.path / "README.md").read_text() == readme
            assert not (second.path / "build.log").exists()
            assert not (second.path / ".gitignore").exists()
            assert not (second.path / "widgets" / "new.py").exists()
            assert not (second.folder / "left-by-agent").exists()
            assert list((second.folder / "out").iterdir()) == []
            assert (second.path / ".git").read_text() == first.pointer
            changes = await second.stage(max_diff_bytes=1 << 20)
            assert changes.paths == ()
    assert work(tmp_path) == []  # the last issue's end deletes the kept worktrees


async def test_a_worktree_that_cannot_be_put_back_is_deleted(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await fetched(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1") as running:
        async with mirror.checkout("autoissue/x/issue-2") as tainted:
            # A repository of the agent's inside the worktree: libgit2 leaves it there.
            nested = tainted.path / "vendor"
            nested.mkdir()
            (nested / ".git").mkdir()
            (nested / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        assert not tainted.folder.exists()
        assert work(tmp_path) == [running.folder]
        async with mirror.checkout("autoissue/x/issue-3") as fresh:
            assert fresh.folder not in {tainted.folder, running.folder}


async def test_a_worktree_whose_git_folder_is_gone_is_not_reused(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await fetched(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1"):
        async with mirror.checkout("autoissue/x/issue-2") as broken:
            shutil.rmtree(broken.admin)
        assert not broken.folder.exists()


async def test_staging_reports_paths_and_the_diff_size_up_to_its_cap(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await fetched(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1") as tree:
        (tree.path / "README.md").unlink()
        (tree.path / "b c.md").write_text("spaced\n")
        small = await tree.stage(max_diff_bytes=1 << 20)
        assert small.paths == ("README.md", "b c.md")
        assert 0 < small.diff_bytes < 1 << 20
        # Many small files together over the cap, then one file alone over it.
        assert (
            await tree.stage(max_diff_bytes=small.diff_bytes - 1)
        ).diff_bytes == small.diff_bytes
        (tree.path / "big.bin").write_bytes(bytes(range(256)) * 64)
        assert (await tree.stage(max_diff_bytes=1000)).diff_bytes == 1001


async def test_a_repository_inside_the_worktree_cannot_be_staged(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await fetched(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1") as tree:
        nested = tree.path / "vendor"
        nested.mkdir()
        (nested / ".git").mkdir()
        (nested / "x.py").write_text("x")
        with pytest.raises(GitCommandError, match="cannot stage the worktree"):
            await tree.stage(max_diff_bytes=1 << 20)


def test_libgit_names_a_missing_git_folder_and_a_missing_base(tmp_path: Path) -> None:
    with pytest.raises(GitCommandError, match="cannot open the worktree's git folder"):
        stage_worktree(tmp_path / "absent", tmp_path, "refs/heads/main", max_diff_bytes=10)
    bare = tmp_path / "bare.git"
    pygit2.init_repository(str(bare), bare=True)
    with pytest.raises(GitCommandError, match="cannot find the base refs/heads/gone"):
        reset_worktree(bare, tmp_path, "refs/heads/gone")


async def test_a_commit_holds_the_staged_tree_and_is_pushed_after_the_worktree_went_back(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await fetched(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1") as tree:
        index_before = (tree.admin / "index").read_bytes()
        (tree.path / "widgets" / "new.py").write_text("new\n")
        changes = await tree.stage(max_diff_bytes=1 << 20)
        assert (tree.admin / "index").read_bytes() == index_before  # staged in memory only
        commit = await tree.commit("Resolve #1", changes)
    # Pushed after the worktree went back (and, the last one out, was deleted).
    assert not tree.folder.exists()
    await mirror.pusher.push(commit, "autoissue/x/issue-1")
    remote = pygit2.Repository(clone_url(emulator))
    pushed = remote.revparse_single("refs/heads/autoissue/x/issue-1").peel(pygit2.Commit)
    assert str(pushed.id) == commit
    assert str(pushed.tree_id) == changes.tree
    assert pushed.tree["widgets"]["new.py"].data == b"new\n"
    assert [str(parent) for parent in pushed.parent_ids] == [
        str(remote.revparse_single("refs/heads/main").id)
    ]


async def test_a_reset_moves_head_back_only_when_it_moved(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await fetched(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-1") as tree:
        repo = pygit2.Repository(str(tree.admin))
        base = repo.revparse_single(mirror.base_ref).peel(pygit2.Commit)
        signature = pygit2.Signature("t", "t@example.invalid")
        other = repo.create_commit(None, signature, signature, "x", base.tree_id, [base.id])
        repo.set_head(other)  # an unsandboxed agent's own commit
        assert reset_worktree(tree.admin, tree.path, mirror.base_ref)
        assert repo.head.target == base.id
        logged = (tree.admin / "logs" / "HEAD").read_text()
        assert reset_worktree(tree.admin, tree.path, mirror.base_ref)
        assert (tree.admin / "logs" / "HEAD").read_text() == logged  # not written again
        (tree.admin / "HEAD").write_text("ref: refs/heads/unborn\n")
        assert reset_worktree(tree.admin, tree.path, mirror.base_ref)
        assert repo.head_is_detached
        assert repo.head.target == base.id


async def test_a_reset_writes_the_index_only_when_something_touched_it(
    tmp_path: Path, emulator: Emulator
) -> None:
    mirror = await fetched(tmp_path, emulator)
    async with mirror.checkout("autoissue/x/issue-0"):  # keeps the worktrees from issue to issue
        async with mirror.checkout("autoissue/x/issue-1") as first:
            index = first.admin / "index"
        left = index.stat()  # the first reset writes it: the worktree was never reset
        async with mirror.checkout("autoissue/x/issue-2") as second:
            assert second.folder == first.folder
            (second.path / "README.md").write_text("changed, not staged")
        assert (index.stat().st_ino, index.stat().st_mtime_ns) == (left.st_ino, left.st_mtime_ns)
        async with mirror.checkout("autoissue/x/issue-3") as third:
            assert (third.path / "README.md").read_text() != "changed, not staged"
            # An unsandboxed agent hides a file from staging in our own index.
            git("-C", str(third.path), "update-index", "--skip-worktree", "README.md")
        async with mirror.checkout("autoissue/x/issue-4") as fourth:
            (fourth.path / "README.md").write_text("this issue's change")
            changes = await fourth.stage(max_diff_bytes=1 << 20)
            assert changes.paths == ("README.md",)  # the flag went with the rewritten index


class NoAdds(asyncio.Event):
    """The mirror's "no add in progress" event, telling when a prune starts to wait on it."""

    def __init__(self, waiting: asyncio.Event) -> None:
        super().__init__()
        self.set()
        self.waiting = waiting

    async def wait(self) -> Literal[True]:
        self.waiting.set()
        return await super().wait()


class HeldAdds(RepoMirror):
    """A mirror whose ``git worktree add`` waits for a go-ahead: the order of git commands shows."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, url="unused", base="main", env=ENV)
        self.commands: list[str] = []
        self.go = asyncio.Event()
        self.prune_waiting = asyncio.Event()
        self._no_adds = NoAdds(self.prune_waiting)

    async def git(self, *args: str, **_: object) -> Any:
        if args[:2] == ("worktree", "add"):
            self.commands.append("add starts")
            await self.go.wait()
        self.commands.append(" ".join(args[:2]))


async def test_a_prune_waits_for_the_adds_in_progress_and_holds_new_ones_back(
    tmp_path: Path,
) -> None:
    mirror = HeldAdds(tmp_path / "m.git")
    mirror._deleted = PRUNE_EVERY - 1  # the next deletion prunes
    adding = asyncio.create_task(mirror._add(tmp_path / "a"))
    await asyncio.sleep(0)
    deleting = asyncio.create_task(mirror._delete(tmp_path / "gone"))
    # The deletion's files go in a thread, however long a busy machine makes that take; then
    # the prune takes its lock and waits for the add in progress.
    await asyncio.wait_for(mirror.prune_waiting.wait(), timeout=30)
    late = asyncio.create_task(mirror._add(tmp_path / "b"))
    # The add in progress takes the mirror's lock (shared) in a thread: wait till it starts.
    for _ in range(3000):
        if mirror.commands:
            break
        await asyncio.sleep(0.01)
    for _ in range(5):
        await asyncio.sleep(0)
    assert mirror.commands == ["add starts"]  # the prune waits, and the late add behind it
    mirror.go.set()
    await asyncio.gather(adding, deleting, late)
    assert mirror.commands == [
        "add starts",
        "worktree add",
        "worktree prune",
        "add starts",
        "worktree add",
    ]


async def test_a_fetch_waits_for_a_worktree_add_of_another_process(
    tmp_path: Path, emulator: Emulator
) -> None:
    # Another process's add holds the mirror's lock shared: our fetch (and its prune, which
    # would delete the folder the add writes in) waits for it, and adds share it meanwhile.
    path = tmp_path / "repos" / "m.git"
    mirror = RepoMirror(path, url=clone_url(emulator), base="main", env=ENV)
    await mirror.fetch()
    async with _locked(path.with_name("m.git.lock"), shared=True):
        fetching = asyncio.create_task(mirror.fetch())
        async with mirror.checkout("autoissue/x/issue-1") as tree:  # shared: not held back
            assert (tree.path / "README.md").exists()
        await asyncio.sleep(0.3)
        assert not fetching.done()
    await asyncio.wait_for(fetching, 10)
