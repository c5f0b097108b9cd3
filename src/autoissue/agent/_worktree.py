"""Git for the command processor: one bare mirror per repository, one worktree per issue.

::

    <state_dir>/repos/acme__widgets.git      bare mirror, fetched once per run
    <state_dir>/work/issue-7-XXXX/           per issue: issue.json, issue.md, result.json
                    └ issue-7-XXXX/          the worktree (detached HEAD)

Each worktree is detached: its commit is pushed to ``autoissue/<name>/issue-<n>`` and no
local branch is made.

Every worktree starts from ``refs/remotes/origin/<base>`` and is removed afterwards, also on
failure and cancellation. Our git commands run with hooks and automatic maintenance off: a
hook the agent planted in the worktree must never run as us, and a background ``gc`` in one
worktree must not take locks from under the many others that run at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from autoissue._exceptions import GitCommandError
from autoissue.agent._runner import Completed, run_command

__all__ = ["ChangeSet", "RepoMirror", "Worktree"]

logger = logging.getLogger(__name__)

_SAFE = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "gc.auto=0",
         "-c", "maintenance.auto=false", "-c", "commit.gpgsign=false")  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What a worktree changed against its base: paths, and the binary diff's size in bytes.

    ``diff_bytes`` is at most the cap it was measured with plus one: enough to say "over".
    """

    paths: tuple[str, ...]
    diff_bytes: int


class RepoMirror:
    """A local bare mirror of one repository, and worktrees made from it.

    ``url`` is fetched from and pushed to; ``env`` is the environment of every git command
    (see :func:`~autoissue.agent.git_env`: the only place a token may be).
    """

    def __init__(
        self, path: Path, *, url: str, base: str, env: Mapping[str, str], timeout_s: float = 600.0
    ) -> None:
        self.path, self.url, self.base = path, url, base
        self._env = dict(env)
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"<RepoMirror {self.path} base={self.base}>"

    async def git(self, *args: str, cwd: Path | None = None, limit: int = 1 << 20) -> Completed:
        """Run ``git ARGS`` (in the mirror unless ``cwd``); raise GitCommandError on failure."""
        where = cwd or self.path
        done = await run_command(["git", *_SAFE, *args], cwd=where, env=self._env,
                                 timeout_s=self._timeout_s, output_limit=limit)  # fmt: skip
        if done.returncode:
            raise GitCommandError(f"git {args[0]} failed ({done.returncode}): {done.tail()}")
        return done

    async def fetch(self) -> None:
        """Create the mirror if needed, forget stale worktrees, fetch the base branch.

        Several runs (processes) may share a state directory: a lock file beside the mirror
        makes their fetches take turns.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        async with _locked(self.path.with_name(self.path.name + ".lock")):
            if not (self.path / "HEAD").exists():
                self.path.mkdir(exist_ok=True)
                await self.git("init", "-q", "--bare")
            await self.git("worktree", "prune")
            # The URL is given on the command line, never stored in the mirror's config.
            refspec = f"+refs/heads/{self.base}:refs/remotes/origin/{self.base}"
            await self.git("fetch", "-q", "--no-tags", self.url, refspec)

    @contextlib.asynccontextmanager
    async def checkout(self, branch: str, *, number: int) -> AsyncIterator[Worktree]:
        """A fresh worktree on ``branch``, reset to the base; removed when the block ends."""
        work = self.path.parent.parent / "work"
        work.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"issue-{number}-", dir=work))
        # git names a worktree's admin folder after the path's last part: concurrent adds
        # racing for the same name ("tree", "tree1"…) fail, so the part is unique already.
        tree = folder / folder.name
        try:
            start = f"refs/remotes/origin/{self.base}"
            # Detached: the branch exists only where it is pushed. A local branch would be
            # left checked out by a worktree whose process was killed, and refuse the rerun.
            await self.git("worktree", "add", "-q", "--force", "--detach", str(tree), start)
            yield Worktree(mirror=self, folder=folder, path=tree, branch=branch)
        finally:
            await self._remove(tree)
            shutil.rmtree(folder, ignore_errors=True)

    async def _remove(self, tree: Path) -> None:
        # Cleaning up must not hide the error that got us here, nor fail a good result.
        try:
            await self.git("worktree", "remove", "--force", "--force", str(tree))
        except GitCommandError as exc:
            logger.warning("could not remove worktree %s: %s", tree, exc)


@contextlib.asynccontextmanager
async def _locked(path: Path) -> AsyncIterator[None]:
    """Hold an exclusive ``flock`` on ``path``; waiting happens in a thread, not on the loop."""
    with path.open("a") as file:
        await asyncio.to_thread(fcntl.flock, file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True, kw_only=True)
class Worktree:
    """One issue's worktree: ``path`` is the checkout, ``folder`` holds it and the issue files."""

    mirror: RepoMirror
    folder: Path
    path: Path
    branch: str

    async def stage(self, *, max_diff_bytes: int) -> ChangeSet:
        """Stage everything changed against the base, commits the agent made included."""
        git = self.mirror.git
        await git("reset", "-q", "--soft", f"refs/remotes/origin/{self.mirror.base}", cwd=self.path)
        await git("add", "-A", cwd=self.path)
        names = await git("diff", "--cached", "--no-renames", "--name-only", "-z", cwd=self.path)
        paths = tuple(p for p in names.stdout.decode("utf-8", "surrogateescape").split("\0") if p)
        if not paths:
            return ChangeSet((), 0)
        diff = await git("diff", "--cached", "--no-renames", "--binary", cwd=self.path,
                         limit=max_diff_bytes + 1)  # fmt: skip
        return ChangeSet(paths, len(diff.stdout))

    async def commit_and_push(self, message: str) -> None:
        """Commit what :meth:`stage` staged and force-push it to the branch: idempotent."""
        await self.mirror.git("commit", "-q", "--no-verify", "-m", message, cwd=self.path)
        refspec = f"+HEAD:refs/heads/{self.branch}"
        await self.mirror.git("push", "-q", "--no-verify", self.mirror.url, refspec, cwd=self.path)
