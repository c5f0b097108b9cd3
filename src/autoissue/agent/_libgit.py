"""A worktree's local git work done in-process, through libgit2: reset, stage, commit.

Each of these steps was a git process: 2-12 ms of CPU apiece that the agents could have
used. Through libgit2 (``pygit2``) they cost a fraction of a millisecond, and only a push
still starts a git process. The functions block: run them in a thread.

A worktree is opened from its git folder in the mirror (``admin``), with its working
directory named, never found: the worktree's ``.git`` file is the agent's to rewrite.
libgit2 runs no hook, no file-system monitor and no filter program that a configuration
names, so nothing the agent planted in the worktree runs as us. As our git processes
read no system configuration (``GIT_CONFIG_NOSYSTEM``), neither does libgit2 here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import CheckoutStrategy, ConfigLevel, DiffOption

from autoissue._exceptions import GitCommandError

__all__ = ["ChangeSet", "commit_staged", "reset_worktree", "stage_worktree"]

#: Back to the base, whatever the agent left: changed, new and ignored files alike.
_RESET = (
    CheckoutStrategy.FORCE | CheckoutStrategy.REMOVE_UNTRACKED | CheckoutStrategy.REMOVE_IGNORED
)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What a worktree changed against its base: paths, diff size, and the staged tree.

    ``tree`` is the id of the tree holding the staged worktree: what a commit of it holds.
    ``diff_bytes``, the binary diff's size in bytes, is at most the cap it was measured with
    plus one: enough to say "over".
    """

    paths: tuple[str, ...]
    diff_bytes: int
    tree: str


@functools.cache
def _without_system_config() -> None:
    # Set once for the process: where libgit2 looks for the system-wide configuration.
    pygit2.settings.search_path[ConfigLevel.SYSTEM] = ""


def _open(admin: Path, tree: Path) -> pygit2.Repository:
    _without_system_config()
    try:
        repo = pygit2.Repository(str(admin), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, KeyError) as exc:
        raise GitCommandError(f"cannot open the worktree's git folder {admin}: {exc}") from None
    repo.workdir = str(tree)
    return repo


def _base(repo: pygit2.Repository, base_ref: str) -> pygit2.Commit:
    try:
        return repo.revparse_single(base_ref).peel(pygit2.Commit)
    except (KeyError, pygit2.GitError) as exc:
        raise GitCommandError(f"git cannot find the base {base_ref}: {exc}") from None


def reset_worktree(admin: Path, tree: Path, base_ref: str, *, write_index: bool = True) -> bool:
    """Put the worktree, its index and its HEAD back at ``base_ref``; whether it is clean.

    Not clean (what libgit2 leaves, such as a repository the agent made inside it) means
    the worktree must not be used again. ``write_index=False`` when the index file is known to
    be as a reset left it, at the base: then it is not written again (its cached file times
    may be stale, which only makes git compare those files' content).
    """
    repo = _open(admin, tree)
    base = _base(repo, base_ref)
    strategy = _RESET
    try:
        if write_index:
            repo.index.read_tree(base.tree)  # the checkout writes the index too: one write
        else:
            strategy |= CheckoutStrategy.DONT_WRITE_INDEX
        repo.checkout_tree(base.tree, strategy=strategy)  # type: ignore[no-untyped-call]
        if not _detached_at(repo, base.id):
            repo.set_head(base.id)
        return not repo.status(untracked_files="all", ignored=True)
    except (pygit2.GitError, OSError):
        return False


def _detached_at(repo: pygit2.Repository, commit: pygit2.Oid) -> bool:
    """Whether HEAD already points at ``commit``: then it is not written (nor logged) again.

    A sandboxed agent moves its own copy of HEAD, never ours, so this is the usual case.
    """
    try:
        return repo.head_is_detached and repo.head.target == commit
    except (pygit2.GitError, KeyError):  # unborn or broken: written anew
        return False


def stage_worktree(admin: Path, tree: Path, base_ref: str, *, max_diff_bytes: int) -> ChangeSet:
    """Stage everything in the worktree; the paths changed against ``base_ref``, the diff's size.

    The staged index is written as a tree, not to the index file: the commit needs only the
    tree, and the reset puts the index back at the base anyway. Raises GitCommandError when
    the worktree cannot be staged (a repository inside it).
    """
    repo = _open(admin, tree)
    base = _base(repo, base_ref)
    index = repo.index
    try:
        index.read(force=True)
        index.add_all()
    except pygit2.GitError as exc:
        raise GitCommandError(f"git cannot stage the worktree: {exc}") from None
    diff = index.diff_to_tree(base.tree, flags=DiffOption.SHOW_BINARY)
    paths = tuple(delta.new_file.path for delta in diff.deltas)
    staged = index.write_tree() if paths else base.tree_id
    return ChangeSet(paths, _diff_size(diff, max_diff_bytes), str(staged))


def _diff_size(diff: pygit2.Diff, cap: int) -> int:
    """The patch's size, up to ``cap + 1``; a file bigger than the cap is not read at all."""
    if any(delta.new_file.size > cap for delta in diff.deltas):
        return cap + 1
    total = 0
    for size in _patch_sizes(diff):
        total += size
        if total > cap:
            return cap + 1
    return total


def _patch_sizes(diff: pygit2.Diff) -> Iterator[int]:
    for patch in diff:
        yield len(patch.data) if patch is not None else 0


def commit_staged(
    admin: Path,
    tree: Path,
    base_ref: str,
    changes: ChangeSet,
    *,
    message: str,
    author: tuple[str, str],
) -> str:
    """Commit the tree :func:`stage_worktree` staged, on ``base_ref`` as its only parent; its id.

    The commit touches no ref: it exists to be pushed.
    """
    repo = _open(admin, tree)
    base = _base(repo, base_ref)
    signature = pygit2.Signature(*author)
    staged = pygit2.Oid(hex=changes.tree)
    commit = repo.create_commit(None, signature, signature, message, staged, [base.id])
    return str(commit)
