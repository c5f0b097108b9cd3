"""Git for the command processor: one bare mirror per repository, one worktree per issue.

::

    <state_dir>/repos/acme__widgets.git      bare mirror, fetched once per run
    <state_dir>/work/issue-7-XXXX/           per issue: issue.json, issue.md, result.json
                    └ issue-7-XXXX/          the worktree (detached HEAD)

Each worktree is detached: its commit is pushed to ``autoissue/<name>/issue-<n>`` and no
local branch is made. The commit is made with ``write-tree`` and ``commit-tree`` on the base,
so whatever the agent did to HEAD (its own commits) the pull request is one commit holding
the worktree's final state. Pushes of many issues share ``git push`` processes
(:class:`~autoissue.agent.BatchedPush`).

Every worktree starts from ``refs/remotes/origin/<base>`` and is deleted afterwards, also on
failure and cancellation; those of a killed run are deleted by the next run's fetch (each
folder is marked in use by a lock the kernel drops with its process). git's records of
deleted worktrees are pruned every ``PRUNE_EVERY`` deletions and at each fetch.

Each step is one git process, 2-20 ms of CPU that the agents could have used: the steps are
as few as the work allows (add, one diff giving both the paths and the diff's size,
write-tree, commit-tree, a share of a push).

Our git commands run with hooks and automatic maintenance off: a hook the agent planted in
the worktree must never run as us, and a background ``gc`` in one worktree must not take
locks from under the many others that run at the same time. In a worktree they name its
git folder themselves (``--git-dir``): the worktree's ``.git`` file is the agent's to
rewrite, and one pointing at a folder of its making would have our ``git add`` run the
filters its configuration names, as us and outside any sandbox.

The mirror's configuration is ours alone: it is written anew at each fetch and must be
exactly that before every push (:meth:`RepoMirror.verify_untampered`). An agent that
adds a ``url.*.insteadOf`` there (to redirect our authenticated push), a credential helper,
a filter or a hook fails as a trust violation, and the configuration is put back.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import shutil
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from autoissue._exceptions import GitCommandError, TrustViolationError
from autoissue.agent._env import without_credentials
from autoissue.agent._leftovers import claimed_folder, sweep
from autoissue.agent._push import BatchedPush
from autoissue.agent._runner import Completed, run_command
from autoissue.agent._sandbox import Mount

__all__ = ["ChangeSet", "RepoMirror", "Worktree"]

#: Deleted worktrees between two ``git worktree prune``.
PRUNE_EVERY = 16
_ADD_ATTEMPTS = 5
_RACED = "failed to read worktrees/"
#: Room in a diff's output for its list of paths, beyond the diff-size cap itself.
_PATHS_ROOM = 1 << 20

logger = logging.getLogger(__name__)

#: The mirror's whole configuration: a URL is given on each command line, never stored.
CANONICAL_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
_TAMPER_SHOWN = 3

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
        self._local_env = without_credentials(env)
        self._timeout_s = timeout_s
        runner = functools.partial(self.run_git, network=True)
        self.pusher = BatchedPush(runner, url, guard=self.verify_untampered)
        self._deleted = 0

    def __repr__(self) -> str:
        return f"<RepoMirror {self.path} base={self.base}>"

    @property
    def base_ref(self) -> str:
        """The ref the base branch is fetched into: every worktree and commit starts there."""
        return f"refs/remotes/origin/{self.base}"

    async def run_git(
        self, *args: str, cwd: Path | None = None, limit: int = 1 << 20, network: bool = False
    ) -> Completed:
        """Run ``git ARGS`` (in the mirror unless ``cwd``) and return how it ended.

        Only a ``network`` command (fetch, push) gets the credentials.
        """
        env = self._env if network else self._local_env
        return await run_command(["git", *_SAFE, *args], cwd=cwd or self.path, env=env,
                                 timeout_s=self._timeout_s, output_limit=limit)  # fmt: skip

    async def git(
        self, *args: str, cwd: Path | None = None, limit: int = 1 << 20, network: bool = False
    ) -> Completed:
        """Run ``git ARGS`` (in the mirror unless ``cwd``); raise GitCommandError on failure."""
        done = await self.run_git(*args, cwd=cwd, limit=limit, network=network)
        if done.returncode:
            command = next((arg for arg in args if not arg.startswith("-")), args[0])
            raise GitCommandError(f"git {command} failed ({done.returncode}): {done.tail()}")
        return done

    @property
    def work(self) -> Path:
        """Where the worktrees' folders are made: ``<state_dir>/work``."""
        return self.path.parent.parent / "work"

    async def fetch(self) -> None:
        """Create the mirror if needed, clear up after killed runs, fetch the base branch.

        Worktree folders that no live process holds are deleted, then git forgets them.

        Several runs (processes) may share a state directory: a lock file beside the mirror
        makes their fetches, and their changes to its worktrees, take turns.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        async with _locked(self.path.with_name(self.path.name + ".lock")):
            if not (self.path / "HEAD").exists():
                self.path.mkdir(exist_ok=True)
                await self.git("init", "-q", "--bare", "--template=")
            await asyncio.to_thread(self._restore)
            await asyncio.to_thread(sweep, self.work)
            await self.git("worktree", "prune")
            # The URL is given on the command line, never stored in the mirror's config.
            refspec = f"+refs/heads/{self.base}:{self.base_ref}"
            await self.git("fetch", "-q", "--no-tags", self.url, refspec, network=True)

    def verify_untampered(self) -> None:
        """Raise TrustViolationError, and put ours back, if the configuration or hooks changed."""
        config = self.path / "config"
        now = config.read_text(errors="replace") if config.exists() else ""
        hooks = self.path / "hooks"
        planted = sorted(p.name for p in hooks.iterdir()) if hooks.is_dir() else []
        if now == CANONICAL_CONFIG and not planted:
            return
        self._restore()
        theirs = [line.strip() for line in now.splitlines() if line not in CANONICAL_CONFIG]
        changes = [*theirs, *(f"hook {name}" for name in planted)][:_TAMPER_SHOWN]
        raise TrustViolationError(
            f"the mirror's git configuration was changed ({'; '.join(changes)[:200]}): "
            "nothing was pushed"
        )

    def _restore(self) -> None:
        """Write our configuration and remove any hooks: the mirror as we made it."""
        (self.path / "config").write_text(CANONICAL_CONFIG)
        shutil.rmtree(self.path / "hooks", ignore_errors=True)

    @contextlib.asynccontextmanager
    async def checkout(self, branch: str, *, number: int) -> AsyncIterator[Worktree]:
        """A fresh worktree on ``branch``, reset to the base; removed when the block ends."""
        self.work.mkdir(parents=True, exist_ok=True)
        with claimed_folder(self.work, f"issue-{number}-") as folder:
            async with self._worktree(folder, branch) as worktree:
                yield worktree

    @contextlib.asynccontextmanager
    async def _worktree(self, folder: Path, branch: str) -> AsyncIterator[Worktree]:
        # git names a worktree's admin folder after the path's last part: concurrent adds
        # racing for the same name ("tree", "tree1"…) fail, so the part is unique already.
        tree = folder / folder.name
        try:
            # Detached: the branch exists only where it is pushed. A local branch would be
            # left checked out by a worktree whose process was killed, and refuse the rerun.
            await self._add(tree)
            # Read now, while the worktree is ours: later its .git file is the agent's.
            pointer = (tree / ".git").read_text()
            admin = (tree / pointer.removeprefix("gitdir:").strip()).resolve()
            yield Worktree(
                mirror=self, folder=folder, path=tree, branch=branch, admin=admin, pointer=pointer
            )
        finally:
            await self._delete(folder)

    async def _add(self, tree: Path) -> None:
        # ``git worktree add`` reads the records of every other worktree, and fails on one
        # that a concurrent add is still writing or a prune is deleting: try again, as
        # taking turns would make every issue wait for every other's checkout.
        for attempt in range(_ADD_ATTEMPTS):
            try:
                await self.git(
                    "worktree", "add", "-q", "--force", "--detach", str(tree), self.base_ref
                )
                return
            except GitCommandError as exc:
                if _RACED not in str(exc) or attempt == _ADD_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))

    async def _delete(self, folder: Path) -> None:
        # Deleting the files is enough: git forgets a worktree whose folder is gone at the
        # next prune. Cleaning up must not hide the error that got us here, nor fail a
        # good result.
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
        self._deleted += 1
        if self._deleted % PRUNE_EVERY:
            return
        try:
            await self.git("worktree", "prune")
        except GitCommandError as exc:
            logger.warning("could not prune deleted worktrees: %s", exc)


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
    #: The worktree's git folder in the mirror (``worktrees/<name>``).
    admin: Path
    #: What its ``.git`` file said when it was made.
    pointer: str = ""

    async def _git(self, *args: str, limit: int = 1 << 20) -> Completed:
        located = (f"--git-dir={self.admin}", f"--work-tree={self.path}")
        return await self.mirror.git(*located, *args, cwd=self.path, limit=limit)

    async def stage(self, *, max_diff_bytes: int) -> ChangeSet:
        """Stage everything changed against the base, commits the agent made included.

        Raises TrustViolationError when the agent rewrote the worktree's ``.git`` file: our
        git never reads it, and an agent that points it elsewhere is trying to.
        """
        now = await asyncio.to_thread(_read_or_empty, self.path / ".git")
        if self.pointer and now != self.pointer:
            raise TrustViolationError("the agent rewrote the worktree's .git file")
        await self._git("add", "-A")
        # One diff, two answers: the --raw records name the paths, the patch after them is
        # the diff whose size the trust policy caps.
        options = ("--cached", "--no-renames", "--no-ext-diff", "--no-textconv", "--raw", "-z")
        diff = await self._git(
            "diff", *options, "--binary", self.mirror.base_ref, limit=max_diff_bytes + _PATHS_ROOM
        )
        paths, patch = _split_raw(diff.stdout)
        over = max_diff_bytes + 1 if diff.stdout_truncated else 0
        return ChangeSet(paths, min(max(len(patch), over), max_diff_bytes + 1))

    async def commit_and_push(self, message: str) -> None:
        """Commit what :meth:`stage` staged on the base and force-push it: idempotent."""
        tree = await self._git("write-tree")
        commit = await self._git(
            "commit-tree", tree.stdout.decode().strip(), "-p", self.mirror.base_ref, "-m", message
        )
        await self.mirror.pusher.push(commit.stdout.decode().strip(), self.branch)

    def agent_git(self) -> tuple[list[Mount], dict[str, str]]:
        """What a sandboxed agent sees of git here (as mounts), and the variables it needs.

        It sees the mirror's objects and refs read-only and our configuration's twin; its
        own copy of the worktree's git folder stands in for ours, so whatever it does to
        its index or HEAD, ours is untouched, and its commits go to an object folder of its
        own. Blocking file work: run it in a thread.
        """
        mirror, own, objects = self.mirror.path, self.folder / "agent-git", self.folder / "objects"
        shutil.copytree(self.admin, own)
        objects.mkdir()
        config = self.folder / "git-config"
        config.write_text(CANONICAL_CONFIG)
        mounts = [
            (own, self.admin, True),
            (objects, objects, True),
            (config, mirror / "config", False),
        ]
        mounts += [(path, path, False) for path in _shared(mirror) if path.exists()]
        env = {
            "GIT_OBJECT_DIRECTORY": str(objects),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(mirror / "objects"),
        }
        return mounts, env


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:  # gone, or made a folder
        return ""


def _shared(mirror: Path) -> tuple[Path, ...]:
    """The parts of the mirror a worktree's git reads: its objects, refs and HEAD."""
    return (mirror / "objects", mirror / "refs", mirror / "HEAD", mirror / "packed-refs")


def _split_raw(output: bytes) -> tuple[tuple[str, ...], bytes]:
    """``diff --raw -z -p`` output: its paths, and the patch after them.

    With ``--no-renames`` each raw record is ``:<modes> <ids> <status>`` NUL ``<path>`` NUL; an
    empty field ends the records. Output cut off among the records has no patch to give.
    """
    paths: list[str] = []
    position = 0
    while output.startswith(b":", position):
        meta_end = output.find(b"\0", position)
        path_end = output.find(b"\0", meta_end + 1)
        if meta_end < 0 or path_end < 0:
            return tuple(paths), b""
        paths.append(output[meta_end + 1 : path_end].decode("utf-8", "surrogateescape"))
        position = path_end + 1
    return tuple(paths), output[position + 1 :]
