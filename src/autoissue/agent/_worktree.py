"""Git for the command processor: one bare mirror per repository, worktrees kept between issues.

::

    <state_dir>/repos/acme__widgets.git      bare mirror, fetched once per run
    <state_dir>/work/worktree-XXXX/          per worktree: issue.json, issue.md, out/result.json
                    └ worktree-XXXX/         the worktree (detached HEAD)

Each worktree is detached: its commit is pushed to ``autoissue/<name>/issue-<n>`` and no
local branch is made. The commit is made from the staged worktree on the base, so whatever
the agent did to HEAD (its own commits) the pull request is one commit holding the
worktree's final state. Pushes of many issues share ``git push`` processes
(:class:`~autoissue.agent._push.BatchedPush`).

A worktree is made once and used for issue after issue: when an issue ends, its worktree is
put back at ``refs/remotes/origin/<base>`` (changed, new and ignored files undone, index and
HEAD reset) and kept for the next issue while other issues run: an issue gives its worktree
back once its commit is made, before the commit is pushed. One that cannot be put back
exactly is deleted, as are those kept when the last running issue ends, so a run leaves no
worktree behind, also on failure and cancellation. Those of a killed run are deleted by the
next run's fetch (each folder is marked in use by a lock the kernel drops with its
process); git's records of deleted worktrees are pruned every ``PRUNE_EVERY`` deletions and
at each fetch.

Staging, measuring and committing happen in-process through libgit2
(:mod:`autoissue.agent._libgit`): per issue, the only git process left is its share of a
push. Our git processes (fetch, worktree add, push) run with hooks and automatic
maintenance off: a hook the agent planted must never run as us, and a background ``gc``
must not take locks from under the many worktrees in use at the same time. The
worktree's ``.git`` file is the agent's to rewrite, so it is never read to find the git
folder: one pointing at a folder of the agent's making would have us run the filters its
configuration names, as us and outside any sandbox.

The mirror's configuration is ours alone: it is written anew at each fetch and must be
exactly that after every agent (the command processor checks) and before every push
(:meth:`RepoMirror.verify_untampered`). An agent that adds a ``url.*.insteadOf`` there (to
redirect our authenticated push), a credential helper, a filter or a hook fails its issue as a
trust violation, and the configuration is put back.
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
from autoissue.agent._leftovers import IN_USE, claimed_folder, sweep
from autoissue.agent._libgit import ChangeSet, commit_staged, reset_worktree, stage_worktree
from autoissue.agent._push import BatchedPush
from autoissue.agent._runner import Completed, run_command
from autoissue.agent._sandbox import Mount
from autoissue.agent._scratch import keep_folder, refresh_file, tidy

__all__ = ["ChangeSet", "RepoMirror", "Worktree"]

#: Deleted worktrees between two ``git worktree prune``.
PRUNE_EVERY = 16
_ADD_ATTEMPTS = 5
_RACED = "failed to read worktrees/"

logger = logging.getLogger(__name__)

#: The mirror's whole configuration: a URL is given on each command line, never stored.
CANONICAL_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
_TAMPER_SHOWN = 3
#: The files of a worktree's git folder that the agent gets its own copies of.
_AGENT_GIT_FILES = ("HEAD", "commondir", "gitdir", "index")
#: Beside each worktree, kept from issue to issue (see :mod:`autoissue.agent._scratch`): the
#: issue's files and the agent's copy of our configuration (both read-only to a sandboxed
#: agent), and the folders an agent writes in, emptied but for the files named.
_ISSUE_FILE, _PROMPT_FILE, _RESULT_FOLDER = "issue.json", "issue.md", "out"
_AGENT_CONFIG, _AGENT_GIT, _AGENT_OBJECTS = "git-config", "agent-git", "objects"
_KEPT = (IN_USE, _ISSUE_FILE, _PROMPT_FILE, _AGENT_CONFIG)
_EMPTIED = {_RESULT_FOLDER: (), _AGENT_GIT: _AGENT_GIT_FILES, _AGENT_OBJECTS: ()}

_SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "commit.gpgsign=false",
)
# Hooks and automatic maintenance off (see above), as ``-c`` options on each of our git commands.
_SAFE = tuple(arg for setting in _SAFE_CONFIG for arg in ("-c", setting))


@dataclass(slots=True)
class _Slot:
    """A worktree made for issue after issue, and the claim on its folder."""

    folder: Path
    tree: Path
    #: The worktree's git folder in the mirror, and what its ``.git`` file says: ours.
    admin: Path
    pointer: str
    claim: contextlib.ExitStack
    #: The index file as the last reset left it (at the base), or None: not yet reset.
    index_left: _FileKey | None = None

    def worktree(self, mirror: RepoMirror, branch: str) -> Worktree:
        """The worktree as one issue uses it, on ``branch``."""
        return Worktree(
            mirror=mirror,
            folder=self.folder,
            path=self.tree,
            branch=branch,
            admin=self.admin,
            pointer=self.pointer,
        )


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
        self._kept: list[_Slot] = []  # worktrees at the base, for the next issues
        self._out = 0  # worktrees in use now
        # ``git worktree prune`` deletes the records of an add still being written: adds run
        # side by side, a prune waits for them to end and holds new ones back meanwhile.
        self._pruning = asyncio.Lock()
        self._adding = 0
        self._no_adds = asyncio.Event()
        self._no_adds.set()

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
        return await run_command(
            ["git", *_SAFE, *args],
            cwd=cwd or self.path,
            env=env,
            timeout_s=self._timeout_s,
            output_limit=limit,
        )

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
    def author(self) -> tuple[str, str]:
        """The name and email our commits are made with (see :func:`~autoissue.agent.git_env`)."""
        return self._env["GIT_AUTHOR_NAME"], self._env["GIT_AUTHOR_EMAIL"]

    @property
    def work(self) -> Path:
        """Where the worktrees' folders are made: ``<state_dir>/work``."""
        return self.path.parent.parent / "work"

    async def fetch(self) -> None:
        """Create the mirror if needed, clear up after killed runs, fetch the base branch.

        Worktree folders that no live process holds are deleted, then git forgets them.

        Several runs (processes) may share a state directory: a lock file beside the mirror
        makes their fetches take turns, and each fetch waits for the worktree adds under way
        (which share the lock among themselves) and holds new ones back.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        async with _locked(self._lock_file):
            if not (self.path / "HEAD").exists():
                self.path.mkdir(exist_ok=True)
                await self.git("init", "-q", "--bare", "--template=")
            await asyncio.to_thread(self._restore)
            await asyncio.to_thread(sweep, self.work)
            await self.git("worktree", "prune")
            # The URL is given on the command line, never stored in the mirror's config.
            refspec = f"+refs/heads/{self.base}:{self.base_ref}"
            await self.git("fetch", "-q", "--no-tags", self.url, refspec, network=True)

    @property
    def _lock_file(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

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
    async def checkout(self, branch: str) -> AsyncIterator[Worktree]:
        """A worktree on ``branch`` at the base, kept or new; given back when the block ends."""
        slot = self._kept.pop() if self._kept else await self._new_slot()
        self._out += 1
        try:
            yield slot.worktree(self, branch)
        finally:
            self._out -= 1
            await self._give_back(slot)

    async def _new_slot(self) -> _Slot:
        self.work.mkdir(parents=True, exist_ok=True)
        claim = contextlib.ExitStack()
        folder = claim.enter_context(claimed_folder(self.work, "worktree-"))
        # git names a worktree's admin folder after the path's last part: concurrent adds
        # racing for the same name ("tree", "tree1"…) fail, so the part is unique already.
        tree = folder / folder.name
        try:
            # Detached: the branch exists only where it is pushed. A local branch would be
            # left checked out by a worktree whose process was killed, and refuse the rerun.
            await self._add(tree)
            # Read now, while the worktree is ours: later its .git file is the agent's.
            pointer = (tree / ".git").read_text()
        except BaseException:
            await self._delete(folder)
            claim.close()
            raise
        admin = (tree / pointer.removeprefix("gitdir:").strip()).resolve()
        return _Slot(folder, tree, admin, pointer, claim)

    async def _give_back(self, slot: _Slot) -> None:
        """Keep the worktree for the next issue while others run; otherwise delete it."""
        if self._out and await asyncio.to_thread(self._reset, slot):
            self._kept.append(slot)
        else:
            await self._discard(slot)
        while not self._out and self._kept:
            await self._discard(self._kept.pop())

    def _reset(self, slot: _Slot) -> bool:
        """Clear the issue's files, put the worktree back at the base; whether it may be reused."""
        try:
            tidy(slot.folder, keep=(*_KEPT, slot.tree.name), empty=_EMPTIED)
            refresh_file(slot.tree / ".git", slot.pointer.encode())
            return self._reset_tree(slot)
        except (OSError, GitCommandError) as exc:
            logger.info("a worktree could not be reset, and is deleted: %s", exc)
            return False

    def _reset_tree(self, slot: _Slot) -> bool:
        # A sandboxed agent stages in its own copy of the index, so ours stays as the last
        # reset left it: not written again, it spares a file made and one deleted per issue.
        # Anything that touched it (an unsandboxed agent's git) changes its inode or times.
        index = slot.admin / "index"
        untouched = slot.index_left is not None and slot.index_left == _file_key(index)
        clean = reset_worktree(slot.admin, slot.tree, self.base_ref, write_index=not untouched)
        slot.index_left = _file_key(index)
        return clean

    async def _discard(self, slot: _Slot) -> None:
        await self._delete(slot.folder)
        slot.claim.close()

    async def _add(self, tree: Path) -> None:
        async with self._pruning:
            self._adding += 1  # in the same step as the lock's release: no prune slips in
            self._no_adds.clear()
        try:
            # Shared with every other add, of any process; exclusive of a fetch and its prune,
            # which would read a half-written worktree or delete the folder an add writes in.
            async with _locked(self._lock_file, shared=True):
                await self._add_retrying(tree)
        finally:
            self._adding -= 1
            if not self._adding:
                self._no_adds.set()

    async def _add_retrying(self, tree: Path) -> None:
        # ``git worktree add`` reads the records of every other worktree, and fails on one
        # that a concurrent add is still writing: try again, as taking turns would make every
        # issue wait for every other's checkout.
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
        async with self._pruning:
            await self._no_adds.wait()
            try:
                # Exclusive of other processes' adds too (they hold the lock shared).
                async with _locked(self._lock_file):
                    await self.git("worktree", "prune")
            except GitCommandError as exc:
                logger.warning("could not prune deleted worktrees: %s", exc)


@contextlib.asynccontextmanager
async def _locked(path: Path, *, shared: bool = False) -> AsyncIterator[None]:
    """Hold a ``flock`` on ``path``, exclusive or ``shared``; waiting happens in a thread."""
    with path.open("a") as file:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        await asyncio.to_thread(fcntl.flock, file.fileno(), mode)
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

    @property
    def issue_file(self) -> Path:
        """The issue as JSON, beside (never inside) the worktree."""
        return self.folder / _ISSUE_FILE

    @property
    def prompt_file(self) -> Path:
        """The issue as Markdown, beside the worktree."""
        return self.folder / _PROMPT_FILE

    @property
    def result_file(self) -> Path:
        """Where the agent may leave its result: in a folder of its own, the one it may write."""
        return self.folder / _RESULT_FOLDER / "result.json"

    def write_issue(self, payload: bytes, prompt: str) -> None:
        """Write the issue's files and make the result's folder ready (blocking file work)."""
        # Read-only to a sandboxed agent: rewritten in place.
        refresh_file(self.issue_file, payload, in_place=True)
        refresh_file(self.prompt_file, prompt.encode("utf-8", "replace"), in_place=True)
        keep_folder(self.result_file.parent)

    async def stage(self, *, max_diff_bytes: int) -> ChangeSet:
        """Stage everything changed against the base, commits the agent made included.

        Raises TrustViolationError when the agent rewrote the worktree's ``.git`` file: our
        git never reads it, and an agent that points it elsewhere is trying to.
        """
        return await asyncio.to_thread(self._stage, max_diff_bytes)

    def _stage(self, max_diff_bytes: int) -> ChangeSet:
        # One thread hop for the check and the staging: both are a few file operations.
        if self.pointer and _read_or_empty(self.path / ".git") != self.pointer:
            raise TrustViolationError("the agent rewrote the worktree's .git file")
        return stage_worktree(
            self.admin, self.path, self.mirror.base_ref, max_diff_bytes=max_diff_bytes
        )

    async def commit(self, message: str, changes: ChangeSet) -> str:
        """Commit what :meth:`stage` staged (``changes``) on the base; the commit's id.

        The commit touches no ref, so the worktree may be given back before it is pushed
        (through the mirror's :attr:`RepoMirror.pusher`).
        """
        mirror = self.mirror
        return await asyncio.to_thread(
            commit_staged,
            self.admin,
            self.path,
            mirror.base_ref,
            changes,
            message=message,
            author=mirror.author,
        )

    def agent_git(self) -> tuple[list[Mount], dict[str, str]]:
        """What a sandboxed agent sees of git here (as mounts), and the variables it needs.

        It sees the mirror's objects and refs read-only and our configuration's twin; its
        own copy of the worktree's git folder stands in for ours, so whatever it does to
        its index or HEAD, ours is untouched, and its commits go to an object folder of its
        own. Blocking file work: run it in a thread.
        """
        mirror, own = self.mirror.path, self.folder / _AGENT_GIT
        objects, config = self.folder / _AGENT_OBJECTS, self.folder / _AGENT_CONFIG
        keep_folder(own)
        # What git needs of a worktree's folder; our reflog and ORIG_HEAD are not the agent's.
        for name in _AGENT_GIT_FILES:
            refresh_file(own / name, (self.admin / name).read_bytes())
        keep_folder(objects)
        refresh_file(config, CANONICAL_CONFIG.encode(), in_place=True)  # read-only to it
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


#: What tells a file apart from itself rewritten: its inode, size and times.
_FileKey = tuple[int, int, int, int]


def _file_key(path: Path) -> _FileKey | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:  # gone, or made a folder
        return ""


def _shared(mirror: Path) -> tuple[Path, ...]:
    """The parts of the mirror a worktree's git reads: its objects, refs and HEAD."""
    return (mirror / "objects", mirror / "refs", mirror / "HEAD", mirror / "packed-refs")
