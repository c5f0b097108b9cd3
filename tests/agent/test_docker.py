"""The ``docker`` sandbox: the ``docker run`` command it gives, and a clear error without a daemon.

The argv is the contract (read-only root, no capabilities, no host PID namespace, the worktree
the only writable mount, variables named but never valued on the command line); the hostile
agents run through it, in real containers, in ``test_docker_sandbox.py``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from autoissue import AgentError
from autoissue.agent import Sandbox, SandboxKind
from autoissue.agent._contain import Containment
from autoissue.agent._sandbox import AgentView, docker_argv


def view(tmp_path: Path) -> AgentView:
    worktree, files = tmp_path / "worktree", tmp_path / "issue"
    return AgentView(
        worktree=Path("/work"),
        home=Path("/home/agent"),
        mounts=((worktree, Path("/work"), True), (files, Path("/issue"), False)),
        hidden=(),
    )


def test_the_docker_argv_is_the_sandbox_contract(tmp_path: Path) -> None:
    sandbox = Sandbox(kind=SandboxKind.DOCKER, image="agent:1", network=False)
    argv = docker_argv(
        sandbox, view(tmp_path), ["claude", "-p", "fix it"], name="issue-7", env=["API_KEY"]
    )
    assert argv[:4] == ["docker", "run", "--name", "issue-7"]
    for flag in ("--rm", "--read-only", "--init"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[argv.index("--security-opt") + 1] == "no-new-privileges"
    assert argv[argv.index("--network") + 1] == "none"
    assert argv[argv.index("--pids-limit") + 1] == str(sandbox.max_processes)
    assert argv[argv.index("--memory") + 1] == str(sandbox.memory_bytes)
    assert argv[argv.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    # No host PID namespace, no privileges.
    assert not {"--pid", "--privileged"} & set(argv)
    assert not any(arg.startswith(("--pid=", "--privileged=")) for arg in argv)
    # A variable is named, so its value comes from the client's environment, not argv.
    assert argv[argv.index("-e") + 1] == "API_KEY"
    volumes = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-v"]
    assert volumes == [f"{tmp_path / 'worktree'}:/work", f"{tmp_path / 'issue'}:/issue:ro"]
    tmpfs = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--tmpfs"]
    assert "/home/agent" in tmpfs
    assert argv[argv.index("-w") + 1] == "/work"
    assert argv[-4:] == ["agent:1", "claude", "-p", "fix it"]


def test_the_network_stays_on_unless_asked_off(tmp_path: Path) -> None:
    sandbox = Sandbox(kind=SandboxKind.DOCKER, image="agent:1")
    assert "--network" not in docker_argv(sandbox, view(tmp_path), ["true"], name="n", env=[])


def test_without_a_docker_client_the_sandbox_refuses_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker here
    sandbox = Sandbox(kind=SandboxKind.DOCKER, image="agent:1")
    containment = Containment(sandbox, state_dir=tmp_path, environ={"DOCKER_HOST": "unix:///x"})
    with pytest.raises(AgentError, match="needs a Docker daemon that answers") as raised:
        asyncio.run(containment.check())
    assert "\n" not in str(raised.value)
    assert containment.limits == "docker"
