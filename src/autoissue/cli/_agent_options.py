"""The ``command`` processor's options for ``autoissue run``: which agent, and what it may do."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from autoissue._exceptions import ConfigurationError
from autoissue.agent import (
    DEFAULT_MEMORY_BYTES,
    DEFAULT_PROCESSES,
    PRESETS,
    Containment,
    Sandbox,
    SandboxKind,
    TrustPolicy,
    default_sandbox_kind,
)
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
_SANDBOX_OPTIONS = (
    click.option(
        "--sandbox",
        type=click.Choice([kind.value for kind in SandboxKind]),
        help="command: where agents run (default bwrap; none runs them as you, unprotected).",
    ),
    click.option(
        "--sandbox-network",
        type=click.Choice(["on", "none"]),
        help="command: the agents' network (default on: an agent reaches its model's API).",
    ),
    click.option(
        "--sandbox-memory",
        type=click.IntRange(min=16),
        help="command: MiB one agent run may use, all its processes together (default 4096).",
    ),
    click.option(
        "--sandbox-processes",
        type=click.IntRange(min=1),
        help="command: processes one agent run may have at once (default 512).",
    ),
    click.option(
        "--sandbox-read-only",
        "sandbox_read_only",
        multiple=True,
        type=click.Path(exists=True, file_okay=True, path_type=Path),
        help="command: a path agents may read (a program in your home; repeat).",
    ),
    click.option("--sandbox-image", help="command: the image of the docker sandbox."),
)
_SANDBOX_FLAGS = {
    "sandbox": "--sandbox",
    "sandbox_network": "--sandbox-network",
    "sandbox_memory": "--sandbox-memory",
    "sandbox_processes": "--sandbox-processes",
    "sandbox_read_only": "--sandbox-read-only",
    "sandbox_image": "--sandbox-image",
}
#: Each option's parameter name, and the flag a person types.
_FLAGS = {
    "agent": "--agent",
    "agent_args": "--agent-arg",
    "agent_timeout": "--agent-timeout",
    "max_agents": "--max-agents",
    "agent_pass_env": "--agent-pass-env",
    "pr_labels": "--pr-label",
    "draft": "--draft",
    "allowed_labels": "--allow-label",
    "allowed_paths": "--allow-path",
}


def agent_options(command: F) -> F:
    """Add the command processor's options, its sandbox's included, to a click command."""
    for option in reversed((*_OPTIONS, *_SANDBOX_OPTIONS)):
        command = option(command)
    return command


def sandbox_options(command: F) -> F:
    """Add the sandbox's options to a click command (``scan`` says which is in force)."""
    for option in reversed(_SANDBOX_OPTIONS):
        command = option(command)
    return command


def sandbox_from(options: dict[str, Any]) -> Sandbox:
    """The sandbox the options ask for; bubblewrap where none is named.

    Raises ConfigurationError where bubblewrap is missing and no sandbox was named, and
    where ``--sandbox-image`` is given to a sandbox other than docker.
    """
    kind = options.get("sandbox") or default_sandbox_kind()
    if kind is None:
        raise ConfigurationError(
            "agents run in the bwrap sandbox, and bubblewrap is not installed: install it "
            "(Debian and Ubuntu: apt install bubblewrap), or choose --sandbox docker, or "
            "--sandbox none to run agents unsandboxed"
        )
    if options.get("sandbox_image") and kind != SandboxKind.DOCKER:
        raise ConfigurationError("--sandbox-image is for --sandbox docker only")
    memory = options.get("sandbox_memory")
    return Sandbox(
        kind=SandboxKind(kind),
        network=options.get("sandbox_network") != "none",
        memory_bytes=(memory << 20) if memory else DEFAULT_MEMORY_BYTES,
        max_processes=options.get("sandbox_processes") or DEFAULT_PROCESSES,
        read_only=tuple(p.resolve() for p in options.get("sandbox_read_only") or ()),
        image=options.get("sandbox_image") or "",
    )


def sandbox_line(sandbox: Sandbox, state_dir: Path) -> str:
    """The sandbox in force, its limits included, as ``scan`` shows it."""
    return Containment(sandbox, state_dir=state_dir, environ={}).describe()


def warn_if_unsandboxed(sandbox: Sandbox) -> None:
    """Say so on stderr when agents are to run unsandboxed: whatever the log level."""
    if not sandbox.contained:
        click.echo(
            "warning: --sandbox none: agents run as you, and can read your files, your "
            "environment and this run's token",
            err=True,
        )


def command_chosen(
    processor: str, options: dict[str, Any], flags: dict[str, str] = _SANDBOX_FLAGS
) -> bool:
    """Whether ``processor`` is ``command``; ConfigurationError if not and one of ``flags`` is set.

    ``flags`` maps each option's parameter name to the flag a person types.
    """
    if processor == "command":
        return True
    given = [flag for name, flag in flags.items() if options.get(name)]
    if given:
        raise ConfigurationError(f"{given[0]} is for --processor command only")
    return False


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
    if not command_chosen(processor, options, {**_FLAGS, **_SANDBOX_FLAGS}):
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


def _trust(options: dict[str, Any]) -> TrustPolicy:
    return TrustPolicy(
        allowed_labels=frozenset(options["allowed_labels"]),
        allowed_paths=tuple(options["allowed_paths"]) or ("**",),
    )


def _sandbox(options: dict[str, Any]) -> Sandbox:
    sandbox = sandbox_from(options)
    warn_if_unsandboxed(sandbox)
    return sandbox


def _command_options(options: dict[str, Any], token: str | None, state_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "preset": options["agent"] or ("" if options["agent_args"] else "fake"),
        "argv": tuple(options["agent_args"]),
        "pass_env": tuple(options["agent_pass_env"]),
        "pr_labels": tuple(options["pr_labels"]),
        "draft": options["draft"],
        "trust": _trust(options),
        "sandbox": _sandbox(options),
        # The token reaches git (to push the branch), never the agent's environment.
        "git_token": token,
        "state_dir": state_dir,
    }
    if options["agent_timeout"]:
        result["timeout_s"] = options["agent_timeout"]
    if options["max_agents"]:
        result["max_agents"] = options["max_agents"]
    return result
