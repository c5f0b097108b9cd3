"""The command processor's configuration: one frozen, keyword-only value object."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from autoissue._exceptions import ConfigurationError
from autoissue.agent._presets import preset_argv
from autoissue.agent._sandbox import Sandbox
from autoissue.agent._trust import TrustPolicy

__all__ = ["CommandConfig", "branch_name"]

# A processor's name becomes part of a branch name: keep it to what git and URLs take as is.
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# Names a child must never receive from us through ``env``: they would redirect its git.
_RESERVED_PREFIXES = ("AUTOISSUE_", "GIT_")


def branch_name(processor: str, number: int) -> str:
    """The deterministic branch of one issue: ``autoissue/<processor>/issue-<n>``."""
    if not _NAME.match(processor):
        raise ConfigurationError(
            "processor name must be lowercase letters, digits and inner hyphens "
            f"(got {processor!r})"
        )
    if number < 1:
        raise ConfigurationError(f"issue number must be positive (got {number})")
    return f"autoissue/{processor}/issue-{number}"


@dataclass(frozen=True, kw_only=True)
class CommandConfig:
    """How the command processor runs its agent and turns the result into a plan.

    ``argv`` runs in each issue's worktree (placeholders: see :mod:`autoissue.agent`).
    ``name`` names the processor and its branches. ``timeout_s`` bounds one run; the process
    group then has ``kill_grace_s`` before SIGKILL; ``output_limit`` caps each captured stream.
    ``pass_env`` names variables copied from our environment into the agent's (its API key);
    ``env`` adds fixed values. ``git_token`` reaches git only, never the agent. ``clone_url``
    and ``base`` default to the repository's own. ``pr_labels`` and ``draft`` shape the pull
    request; ``comment_when_unchanged`` turns an agent's analysis into a comment when it
    changed nothing. ``sandbox`` is where the agent runs (bubblewrap by default: see
    :mod:`autoissue.agent`). ``state_dir`` holds the mirrors and the worktrees.
    ``max_agents`` bounds
    the agents running at once: an agent is the dear part (memory, API spend), while the git
    work before and after it is cheap and runs beside the agents of other issues (twice
    ``max_agents`` worktrees at most).
    """

    argv: tuple[str, ...]
    name: str = "command"
    timeout_s: float = 1800.0
    max_agents: int = 8
    kill_grace_s: float = 5.0
    output_limit: int = 1 << 20
    pass_env: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    git_token: str | None = field(default=None, repr=False)
    clone_url: str = ""
    base: str = ""
    pr_labels: tuple[str, ...] = ()
    draft: bool = False
    comment_when_unchanged: bool = True
    trust: TrustPolicy = field(default_factory=TrustPolicy)
    sandbox: Sandbox = field(default_factory=Sandbox)
    state_dir: Path = Path(".autoissue")
    author: tuple[str, str] = ("autoissue", "autoissue@users.noreply.github.com")

    def __post_init__(self) -> None:
        object.__setattr__(self, "argv", tuple(self.argv))
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        branch_name(self.name, 1)  # validates the name
        problem = _first_problem(self)
        if problem:
            raise ConfigurationError(f"invalid command configuration: {problem}")

    @classmethod
    def preset(cls, preset: str, *extra: str, **options: Any) -> CommandConfig:
        """A configuration running preset ``preset`` (``claude``, ``aider``, ``codex``, ``fake``).

        ``extra`` arguments are appended to the preset's argv; ``options`` set the other fields.
        """
        return cls(argv=preset_argv(preset, *extra), **options)


def _first_problem(config: CommandConfig) -> str:
    reserved = [n for n in config.env if n.upper().startswith(_RESERVED_PREFIXES)]
    checks = (
        (bool(config.argv) and all(config.argv), "argv must be a non-empty list of arguments"),
        (math.isfinite(config.timeout_s) and config.timeout_s > 0, "timeout_s must be > 0"),
        (config.max_agents >= 1, "max_agents must be >= 1"),
        (config.kill_grace_s >= 0, "kill_grace_s must be >= 0"),
        (config.output_limit > 0, "output_limit must be > 0"),
        (not reserved, f"env must not set {', '.join(reserved)}"),
    )
    return next((message for ok, message in checks if not ok), "")
