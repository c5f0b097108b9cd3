"""Hostile agents, as real processes in real containers (``--sandbox docker``): each is contained.

These need a Docker daemon that answers (Docker, or Podman's Docker-compatible service, which
is what CI starts): without one they are skipped with the reason, and with
``AUTOISSUE_REQUIRE_DOCKER=1`` (CI) they fail instead. The image is built here, from this
machine's own Python interpreter and standard library, so nothing is pulled from a registry.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from autoissue import AgentError
from autoissue.agent import CommandConfig, Sandbox, SandboxKind
from autoissue.agent._contain import Containment
from autoissue.model import OpenPullRequest
from autoissue.processors import CommandProcessor, ProcessContext
from tests.agent import _hostile as hostile
from tests.agent._emulated import client, context, emulator, make_issue, module_emulator
from tests.agent._hostile import witness

__all__ = ["client", "context", "emulator", "module_emulator", "witness"]

REQUIRED = os.environ.get("AUTOISSUE_REQUIRE_DOCKER") == "1"
IMAGE = "localhost/autoissue-test-agent:1"
PYTHON = os.path.realpath(sys.executable)
#: What of the standard library the hostile agents never use: left out of the image.
_UNUSED = ("site-packages", "test", "idlelib", "tkinter", "ensurepip", "lib2to3", "__pycache__")


def _why_not_here() -> str | None:
    """Why the docker sandbox cannot start here (the product's own check), or None if it can."""
    sandbox = Sandbox(kind=SandboxKind.DOCKER, image=IMAGE)
    containment = Containment(sandbox, state_dir=Path.cwd(), environ=os.environ)
    try:
        asyncio.run(containment.check())
    except AgentError as refusal:
        return str(refusal)
    return None


WHY_NOT = _why_not_here()
if WHY_NOT is not None:
    if REQUIRED:
        raise RuntimeError(f"AUTOISSUE_REQUIRE_DOCKER=1, but {WHY_NOT}")
    pytest.skip(WHY_NOT, allow_module_level=True)


def _libraries(program: str) -> list[str]:
    """The shared libraries ``program`` loads, as ``ldd`` lists them."""
    listed = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    return [word for word in listed.split() if word.startswith("/")]


def _keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if set(Path(info.name).parts) & set(_UNUSED) else info


def _root_filesystem() -> bytes:
    """This interpreter, its standard library and the libraries they load, as a tar archive."""
    stdlib = Path(os.__file__).parent
    files = [PYTHON, *_libraries(PYTHON), *_libraries("/bin/sh"), "/bin/sh"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in dict.fromkeys(files):
            archive.add(os.path.realpath(path), arcname=path.lstrip("/"))
        archive.add(stdlib, arcname=str(stdlib).lstrip("/"), filter=_keep)
        for folder in ("tmp", "proc", "dev", "work"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777
            archive.addfile(info)
    return buffer.getvalue()


@pytest.fixture(scope="module", autouse=True)
def image() -> str:
    """The agents' image, imported once from this machine's Python (no registry is reached)."""
    inspect = ["docker", "image", "inspect", IMAGE]
    if subprocess.run(inspect, capture_output=True, check=False).returncode != 0:
        archive = _root_filesystem()
        subprocess.run(["docker", "import", "-", IMAGE], input=archive, check=True)
    return IMAGE


def docker(**limits: Any) -> Sandbox:
    return Sandbox(kind=SandboxKind.DOCKER, image=IMAGE, **limits)


def processor(
    state: Path, code: str, *, environ: dict[str, str] | None = None, **options: Any
) -> CommandProcessor:
    options.setdefault("sandbox", docker())
    argv = (PYTHON, "-c", textwrap.dedent(code))
    config = CommandConfig(argv=argv, state_dir=state, git_token=hostile.TOKEN, **options)
    return CommandProcessor(config, environ=environ)


async def test_an_agent_reading_our_environment_from_proc_finds_nothing(
    tmp_path: Path, context: ProcessContext, witness: subprocess.Popen[bytes]
) -> None:
    plan = await processor(tmp_path / "state", hostile.SNOOP).process(make_issue(3), context)
    found = hostile.said(plan)
    assert hostile.TOKEN not in json.dumps(found)
    # Its own PID namespace: the container's init and the agent, none of the host's.
    assert witness.pid not in found["pids"]
    assert len(found["pids"]) <= 3
    assert found["environ"]  # it could read its own: /proc works, ours is just not there
    assert "GIT_CONFIG_VALUE_0" not in found["env"]


async def test_an_agent_reads_no_home_secret_and_no_state(
    tmp_path: Path, context: ProcessContext
) -> None:
    home, state = tmp_path / "home", tmp_path / "state"
    planted = hostile.secrets(home, state)
    environ = {"PATH": os.environ["PATH"], "HOME": str(home)}
    code = hostile.READER.replace("sys.argv[1]", repr(json.dumps(list(planted))))
    plan = await processor(state, code, environ=environ).process(make_issue(5), context)
    read = hostile.said(plan)
    for path, text in planted.items():
        assert read[path] != text, path
    assert read["home"] == []  # a private, empty home


async def test_an_agent_writes_nothing_outside_its_worktree(
    tmp_path: Path, context: ProcessContext
) -> None:
    state = tmp_path / "state"
    targets = [tmp_path / "outside.txt", state / "planted.txt", Path.home() / uuid.uuid4().hex]
    code = hostile.writer([*targets, Path("/etc/escaped"), Path("/usr/escaped")])
    plan = await processor(state, code).process(make_issue(6), context)
    assert [target for target in targets if target.exists()] == []
    assert any(isinstance(action, OpenPullRequest) for action in plan.actions)


async def test_no_process_an_agent_leaves_running_outlives_its_issue(
    tmp_path: Path, context: ProcessContext
) -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    await processor(tmp_path / "state", hostile.daemon(marker)).process(make_issue(9), context)
    assert hostile.processes_with(marker) == []


async def test_a_fork_bomb_stops_at_the_process_limit(
    tmp_path: Path, context: ProcessContext
) -> None:
    command = processor(tmp_path / "state", hostile.FORK_BOMB, sandbox=docker(max_processes=40))
    assert 10 < hostile.forks(await command.process(make_issue(10), context)) < 40


async def test_an_agent_over_its_memory_limit_is_killed(
    tmp_path: Path, context: ProcessContext
) -> None:
    sandbox = docker(memory_bytes=64 << 20)
    command = processor(tmp_path / "state", hostile.MEMORY_HOG, sandbox=sandbox)
    with pytest.raises(AgentError, match="exited with"):
        await command.process(make_issue(11), context)
