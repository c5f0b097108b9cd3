"""What the ``command`` processor is built from: agent runs, worktrees, trust checks, presets.

An agent is any command - an AI coding CLI, a script - run once per issue as its own
process group, in a fresh git worktree of the repository, with a scrubbed environment:

=========================  ================================================================
stdin                      the issue as JSON: ``{"repository", "branch", "issue": {...}}``
``AUTOISSUE_ISSUE_FILE``   the same JSON in a file; ``AUTOISSUE_PROMPT_FILE``: as Markdown
``AUTOISSUE_RESULT_FILE``  where it may write ``{"labels", "title", "body", "comment"}``
``AUTOISSUE_REPO``,        the repository, the issue number, the branch and the worktree
``AUTOISSUE_ISSUE_NUMBER``,
``AUTOISSUE_BRANCH``,
``AUTOISSUE_WORKTREE``
=========================  ================================================================

argv items may hold the placeholders ``{issue_file}``, ``{prompt_file}``, ``{result_file}``,
``{worktree}`` and ``{number}``. ``python -m autoissue.agent.fake`` is a bundled stand-in agent.
"""

from __future__ import annotations

from autoissue.agent._config import CommandConfig, branch_name
from autoissue.agent._contain import Containment
from autoissue.agent._env import git_env, scrubbed_env
from autoissue.agent._presets import PRESETS, expand_argv, preset_argv
from autoissue.agent._pulls import OpenPullIndex, closing_references, load_open_pulls
from autoissue.agent._runner import Completed, run_command
from autoissue.agent._sandbox import (
    DEFAULT_MEMORY_BYTES,
    DEFAULT_PROCESSES,
    Sandbox,
    SandboxKind,
    default_sandbox_kind,
)
from autoissue.agent._trust import TrustPolicy
from autoissue.agent._worktree import ChangeSet, RepoMirror, Worktree

__all__ = [
    "DEFAULT_MEMORY_BYTES",
    "DEFAULT_PROCESSES",
    "PRESETS",
    "ChangeSet",
    "CommandConfig",
    "Completed",
    "Containment",
    "OpenPullIndex",
    "RepoMirror",
    "Sandbox",
    "SandboxKind",
    "TrustPolicy",
    "Worktree",
    "branch_name",
    "closing_references",
    "default_sandbox_kind",
    "expand_argv",
    "git_env",
    "load_open_pulls",
    "preset_argv",
    "run_command",
    "scrubbed_env",
]
