"""The ``command`` processor's options for ``autoissue run``: which agent, and what it may do."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from autoissue._exceptions import ConfigurationError
from autoissue.agent import PRESETS, TrustPolicy
from autoissue.processors import Isolation, Processor

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option("--agent", type=click.Choice(sorted(PRESETS)), help="command: the agent preset."),
    click.option(
        "--agent-arg",
        "agent_args",
        multiple=True,
        help="command: one more argument for the agent (repeat; with no --agent, the argv).",
    ),
    click.option("--agent-timeout", type=click.FloatRange(min=1), help="command: seconds per run."),
    click.option(
        "--max-agents",
        type=click.IntRange(min=1),
        help="command: agents running at once (default 8); other issues' git work goes on.",
    ),
    click.option(
        "--agent-pass-env",
        multiple=True,
        help="command: pass this variable to the agent (e.g. its API key; repeat).",
    ),
    click.option("--pr-label", "pr_labels", multiple=True, help="command: label for its PRs."),
    click.option("--draft", is_flag=True, help="command: open pull requests as drafts."),
    click.option(
        "--allow-label", "allowed_labels", multiple=True, help="command: labels it may add."
    ),
    click.option(
        "--allow-path", "allowed_paths", multiple=True, help="command: globs it may change."
    ),
)
#: Each option's parameter name, and the flag a person types.
_FLAGS = {
    "agent": "--agent", "agent_args": "--agent-arg", "agent_timeout": "--agent-timeout",
    "max_agents": "--max-agents",
    "agent_pass_env": "--agent-pass-env", "pr_labels": "--pr-label", "draft": "--draft",
    "allowed_labels": "--allow-label", "allowed_paths": "--allow-path",
}  # fmt: skip


def agent_options(command: F) -> F:
    """Add the command processor's options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def spawns_processes(processors: list[Processor]) -> bool:
    """Whether any of ``processors`` starts processes per issue.

    The run's event loop depends on it (see :func:`autoissue._runtime.run`).
    """
    return any(processor.isolation is Isolation.COMMAND for processor in processors)


def processor_options(
    processor: str,
    options: dict[str, Any],
    token: str | None,
    state_dir: Path,
    *,
    base_url: str,
) -> dict[str, Any]:
    """The keyword options for ``get_processor``: the command processor's, or none at all.

    Without ``--agent`` or an argv the command processor would run the bundled fake agent,
    whose placeholder edits become real pull requests on a real server: that default holds
    only against a server on this machine (the emulator); elsewhere it is an error.
    """
    given = [flag for name, flag in _FLAGS.items() if options.get(name)]
    if processor != "command":
        if given:
            raise ConfigurationError(f"{given[0]} is for --processor command only")
        return {}
    if not options["agent"] and not options["agent_args"] and not is_local(base_url):
        raise ConfigurationError(
            f"--processor command needs --agent PRESET or --agent-arg ARGV against {base_url} "
            "(the bundled fake agent runs only against a local emulator, or as --agent fake)"
        )
    return _command_options(options, token, state_dir)


def is_local(base_url: str) -> bool:
    """Whether ``base_url`` is a server on this machine (the emulator, or a tunnel to one)."""
    host = urllib.parse.urlsplit(base_url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def _command_options(options: dict[str, Any], token: str | None, state_dir: Path) -> dict[str, Any]:
    trust = TrustPolicy(
        allowed_labels=frozenset(options["allowed_labels"]),
        allowed_paths=tuple(options["allowed_paths"]) or ("**",),
    )
    result: dict[str, Any] = {
        "preset": options["agent"] or ("" if options["agent_args"] else "fake"),
        "argv": tuple(options["agent_args"]),
        "pass_env": tuple(options["agent_pass_env"]),
        "pr_labels": tuple(options["pr_labels"]),
        "draft": options["draft"],
        "trust": trust,
        # The token reaches git (to push the branch), never the agent's environment.
        "git_token": token,
        "state_dir": state_dir,
    }
    if options["agent_timeout"]:
        result["timeout_s"] = options["agent_timeout"]
    if options["max_agents"]:
        result["max_agents"] = options["max_agents"]
    return result
