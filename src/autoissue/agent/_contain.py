"""One agent run in its sandbox: what it sees, how it is bounded, and the clean-up after it.

:class:`Containment` turns the agent's argv and environment into the command that runs it
contained (``bwrap`` inside its control groups, or ``docker run``), and afterwards kills
what the run left behind and removes its groups or its container. Once per run,
:meth:`Containment.check` makes sure the sandbox starts on this machine at all, so a
missing or disabled one is one clear error, not a failure per issue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

from autoissue._exceptions import AgentError
from autoissue.agent._limits import (
    ControlGroups,
    limit_mechanism,
    limited_argv,
    sweep_groups,
)
from autoissue.agent._runner import run_command
from autoissue.agent._sandbox import (
    AgentView,
    Mount,
    Sandbox,
    SandboxKind,
    bwrap_argv,
    docker_argv,
    program_paths,
)
from autoissue.agent._worktree import Worktree

__all__ = ["Containment"]

logger = logging.getLogger(__name__)

_PROBE_TIMEOUT_S = 30.0
_BWRAP_PROBE = ("bwrap", "--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "--", "true")
_DOCKER_PROBE = ("docker", "info", "--format", "{{.ServerVersion}}")
_FALLBACK_HOME = Path("/home/agent")


class Containment:
    """Runs agents in ``sandbox``; ``state_dir`` (ours) is hidden from them.

    ``environ`` is our environment: the Docker client's own variables (``DOCKER_HOST``…)
    are taken from it, and never reach the agent.
    """

    def __init__(self, sandbox: Sandbox, *, state_dir: Path, environ: Mapping[str, str]) -> None:
        self.sandbox = sandbox
        self._state_dir = state_dir.resolve()
        self._docker_env = {k: v for k, v in environ.items() if k.startswith("DOCKER_")}
        self._checked = False
        #: Processes that agents left behind and that were killed after them.
        self.killed = 0

    def __repr__(self) -> str:
        return f"<Containment {self.sandbox.kind}>"

    @functools.cached_property
    def limits(self) -> str:
        """How each run's processes and memory are bounded here (``cgroup v1``, ``rlimit``…)."""
        if self.sandbox.kind is not SandboxKind.BWRAP:
            return "docker" if self.sandbox.contained else "none"
        return limit_mechanism()

    def describe(self) -> str:
        """One line: the sandbox in force and its limits."""
        return self.sandbox.describe(self.limits if self.sandbox.contained else "")

    async def check(self) -> None:
        """Raise AgentError unless the sandbox starts here; clear groups of runs that died."""
        if self._checked or not self.sandbox.contained:
            return
        probe = _BWRAP_PROBE if self.sandbox.kind is SandboxKind.BWRAP else _DOCKER_PROBE
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self._docker_env}
        try:
            done = await run_command(probe, cwd=Path("/"), env=env, timeout_s=_PROBE_TIMEOUT_S)
        except AgentError as exc:
            raise AgentError(f"{_unavailable(self.sandbox.kind)}: {exc}") from None
        if done.returncode:
            raise AgentError(f"{_unavailable(self.sandbox.kind)}: {done.tail(200)}")
        await asyncio.to_thread(sweep_groups)
        self._checked = True

    @contextlib.asynccontextmanager
    async def around(
        self, argv: Sequence[str], env: Mapping[str, str], tree: Worktree, files: Sequence[Mount]
    ) -> AsyncIterator[tuple[list[str], dict[str, str]]]:
        """The contained command and environment of ``argv`` in ``tree``; cleaned up after."""
        if not self.sandbox.contained:
            yield list(argv), dict(env)
            return
        git_mounts, git_env = await asyncio.to_thread(tree.agent_git)
        contained = self.contain(
            argv,
            {**env, **git_env},
            workdir=tree.path,
            folder=tree.folder,
            mounts=(*files, *git_mounts),
        )
        async with contained as command:
            yield command

    @contextlib.asynccontextmanager
    async def contain(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        workdir: Path,
        folder: Path,
        mounts: Sequence[Mount] = (),
    ) -> AsyncIterator[tuple[list[str], dict[str, str]]]:
        """``argv`` contained, writing only in ``workdir`` and seeing ``mounts`` besides.

        ``folder`` names the run's control groups or container. :meth:`around` runs an agent
        in its worktree through this; the agent bench's spawn loop runs its agents in plain
        folders through it, in the same sandbox.
        """
        if not self.sandbox.contained:
            yield list(argv), dict(env)
            return
        home = _home(env)
        view = AgentView(
            worktree=workdir,
            home=home,
            mounts=((workdir, workdir, True), *mounts),
            hidden=(self._state_dir,),
        )
        inside = {**env, "HOME": str(home), "TMPDIR": "/tmp"}  # noqa: S108 - private
        if self.sandbox.kind is SandboxKind.DOCKER:
            async with self._docker(view, argv, inside, folder) as command:
                yield command
        else:
            async with self._bwrap(view, argv, inside, folder.name) as command:
                yield command

    @contextlib.asynccontextmanager
    async def _bwrap(
        self, view: AgentView, argv: Sequence[str], env: dict[str, str], name: str
    ) -> AsyncIterator[tuple[list[str], dict[str, str]]]:
        sandbox = self.sandbox
        inner = bwrap_argv(sandbox, view, argv, program_paths(argv[0], sandbox.read_only))
        memory, processes = sandbox.memory_bytes, sandbox.max_processes
        groups = None
        if self.limits.startswith("cgroup"):
            groups = ControlGroups.create(name, memory_bytes=memory, max_processes=processes)
        if groups is not None:
            command = groups.enter_argv(inner)
        else:
            command = limited_argv(inner, memory_bytes=memory, max_processes=processes)
        try:
            yield command, env
        finally:
            if groups is not None:
                self.killed += await groups.close()

    @contextlib.asynccontextmanager
    async def _docker(
        self, view: AgentView, argv: Sequence[str], env: dict[str, str], folder: Path
    ) -> AsyncIterator[tuple[list[str], dict[str, str]]]:
        name = f"autoissue-{os.getpid()}-{folder.name}"
        command = docker_argv(self.sandbox, view, argv, name=name, env=sorted(env))
        client_env = {**env, **self._docker_env}
        try:
            yield command, client_env
        finally:
            # Killing the client leaves its container running: remove it by name.
            with contextlib.suppress(AgentError):
                await run_command(
                    ("docker", "rm", "-f", name), cwd=folder, env=client_env, timeout_s=60.0
                )


def _home(env: Mapping[str, str]) -> Path:
    home = Path(env.get("HOME", ""))
    return home if home.is_absolute() and home.parent != home else _FALLBACK_HOME


def _unavailable(kind: SandboxKind) -> str:
    if kind is SandboxKind.BWRAP:
        return (
            "the bwrap sandbox does not start here (install bubblewrap, with user namespaces "
            "allowed, or choose --sandbox docker, or --sandbox none)"
        )
    return "the docker sandbox needs a Docker daemon that answers (or choose --sandbox bwrap)"
