"""Hostile agents, as real processes in the real bubblewrap sandbox: each is contained.

Each attack is also shown to work unsandboxed where that is safe to show, so that a test
passing means the sandbox stopped it, not that the attack was never real.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from autoissue import AgentError, TrustViolationError
from autoissue.agent import CommandConfig, Sandbox, SandboxKind
from autoissue.agent._limits import limit_mechanism
from autoissue.emulator import Emulator
from autoissue.model import Comment, OpenPullRequest, Plan
from autoissue.processors import CommandProcessor, ProcessContext
from tests.agent._emulated import admin, client, context, emulator, make_issue, module_emulator
from tests.agent._hostile import (
    FORK_BOMB,
    MEMORY_HOG,
    READER,
    SNOOP,
    TOKEN,
    daemon,
    forks,
    processes_with,
    said,
    secrets,
    witness,
    writer,
)

__all__ = ["client", "context", "emulator", "module_emulator", "witness"]

REQUIRED = os.environ.get("AUTOISSUE_REQUIRE_SANDBOX") == "1"
if shutil.which("bwrap") is None:
    if REQUIRED:
        raise RuntimeError("AUTOISSUE_REQUIRE_SANDBOX=1 and bubblewrap is not installed")
    pytest.skip("bubblewrap (bwrap) is not installed", allow_module_level=True)

NONE = Sandbox(kind=SandboxKind.NONE)


def needs_limits() -> None:
    if limit_mechanism().startswith("cgroup"):
        return
    if REQUIRED:
        pytest.fail("the sandbox tests must run where control groups can be made")
    pytest.skip("no control group can be made here: kernel limits are not enforced")


def agent(code: str) -> tuple[str, ...]:
    """An agent written for one test: Python, run as an argv list."""
    return (sys.executable, "-c", textwrap.dedent(code))


def processor(
    state: Path, code: str, *, environ: dict[str, str] | None = None, **options: Any
) -> CommandProcessor:
    config = CommandConfig(argv=agent(code), state_dir=state, git_token=TOKEN, **options)
    return CommandProcessor(config, environ=environ)


def bare(emulator: Emulator) -> str:
    return str(admin(emulator, "state")["repos"][0]["clone_url"])


def pushed(emulator: Emulator, branch: str, path: str) -> str:
    """A file as the branch holds it on the remote."""
    show = ["git", "-C", bare(emulator), "show", f"{branch}:{path}"]
    return subprocess.run(show, capture_output=True, text=True, check=True).stdout


def init_bare(path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)


def bare_refs(path: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), "for-each-ref"], capture_output=True, text=True, check=True
    )
    return done.stdout


async def test_an_agent_reading_our_environment_from_proc_finds_nothing(
    tmp_path: Path, context: ProcessContext, witness: subprocess.Popen[bytes]
) -> None:
    plan = await processor(tmp_path / "state", SNOOP).process(make_issue(3), context)
    found = said(plan)
    assert TOKEN not in json.dumps(found)
    # Its own PID namespace: bwrap's processes and its own, none of the host's.
    assert max(found["pids"]) < 10
    assert len(found["pids"]) <= 3
    assert found["environ"]  # it could read its own: /proc works, ours is just not there
    assert "GIT_CONFIG_VALUE_0" not in found["env"]


async def test_unsandboxed_the_same_agent_finds_the_token(
    tmp_path: Path, context: ProcessContext, witness: subprocess.Popen[bytes]
) -> None:
    # The attack is real: as a plain process, the agent reads a process of ours.
    command = processor(tmp_path / "state", SNOOP, sandbox=NONE)
    found = said(await command.process(make_issue(3), context))
    assert witness.pid in found["pids"]
    assert any(TOKEN in environ for environ in found["environ"])


async def read_planted(
    tmp_path: Path, context: ProcessContext, **options: Any
) -> tuple[dict[str, str], dict[str, Any]]:
    """The secrets planted in a home and a state directory, and what the reader agent saw."""
    home, state = tmp_path / "home", tmp_path / "state"
    planted = secrets(home, state)
    environ = {"PATH": os.environ["PATH"], "HOME": str(home)}
    code = READER.replace("sys.argv[1]", repr(json.dumps(list(planted))))
    command = processor(state, code, environ=environ, **options)
    return planted, said(await command.process(make_issue(5), context))


async def test_an_agent_reads_no_home_secret_no_state_and_no_other_worktree(
    tmp_path: Path, context: ProcessContext
) -> None:
    state = tmp_path / "state"
    # Another issue's worktree exists while this one runs.
    other = state / "work" / "issue-99-busy"
    other.mkdir(parents=True)
    (other / "issue.json").write_text("other-canary")
    planted, read = await read_planted(tmp_path, context)
    for path, text in planted.items():
        assert read[path] != text, path
    assert read["home"] == []
    # Its own folder only: the other issue's is hidden.
    (own,) = read["worktrees"]
    assert own.startswith("worktree-")


async def test_unsandboxed_the_same_agent_reads_them(
    tmp_path: Path, context: ProcessContext
) -> None:
    planted, read = await read_planted(tmp_path, context, sandbox=NONE)
    assert all(read[path] == text for path, text in planted.items())


async def test_an_agent_writes_nothing_outside_its_worktree(
    tmp_path: Path, context: ProcessContext, emulator: Emulator
) -> None:
    state = tmp_path / "state"
    targets = [
        tmp_path / "outside.txt",
        state / "planted.txt",
        Path("/tmp") / uuid.uuid4().hex,  # noqa: S108 - the shared /tmp is the target
        Path("/etc") / uuid.uuid4().hex,
        Path.home() / uuid.uuid4().hex,
    ]
    plan = await processor(state, writer(targets)).process(make_issue(6), context)
    assert [target for target in targets if target.exists()] == []
    pull = next(a for a in plan.actions if isinstance(a, OpenPullRequest))
    assert pushed(emulator, pull.head, "inside.txt") == "fine"


REDIRECT = """
import os, pathlib, subprocess, sys
evil = sys.argv[1]
worktree = pathlib.Path(os.environ["AUTOISSUE_WORKTREE"])
# Through git, in the worktree: git writes the mirror's configuration.
subprocess.run(["git", "config", f"url.{evil}.insteadOf", "/"], check=False)
# Straight at the file.
gitdir = (worktree / ".git").read_text().split()[1]
mirror = pathlib.Path(gitdir).parent.parent
try:
    with open(mirror / "config", "a") as config:
        config.write(f"[url \\"{evil}\\"]\\n\\tinsteadOf = /\\n")
except OSError:
    pass
(worktree / "change.txt").write_text("redirected?")
"""


async def test_an_agent_cannot_redirect_our_push(
    tmp_path: Path, context: ProcessContext, emulator: Emulator
) -> None:
    evil = tmp_path / "evil.git"
    init_bare(evil)
    command = processor(tmp_path / "state", REDIRECT.replace("sys.argv[1]", repr(str(evil))))
    plan = await command.process(make_issue(7), context)
    pull = next(a for a in plan.actions if isinstance(a, OpenPullRequest))
    assert pushed(emulator, pull.head, "change.txt") == "redirected?"  # to the real remote
    assert bare_refs(evil) == ""


async def test_unsandboxed_a_redirect_fails_the_issue_as_a_trust_violation(
    tmp_path: Path, context: ProcessContext
) -> None:
    evil = tmp_path / "evil.git"
    init_bare(evil)
    code = REDIRECT.replace("sys.argv[1]", repr(str(evil)))
    command = processor(tmp_path / "state", code, sandbox=NONE)
    with pytest.raises(TrustViolationError, match="configuration was changed"):
        await command.process(make_issue(7), context)


async def test_unsandboxed_a_redirect_then_a_failing_exit_is_still_a_trust_violation(
    tmp_path: Path, context: ProcessContext
) -> None:
    evil = tmp_path / "evil.git"
    init_bare(evil)
    code = REDIRECT.replace("sys.argv[1]", repr(str(evil))) + "\nraise SystemExit(3)\n"
    command = processor(tmp_path / "state", code, sandbox=NONE)
    with pytest.raises(TrustViolationError, match="configuration was changed"):
        await command.process(make_issue(7), context)
    mirror = tmp_path / "state" / "repos" / "acme__widgets.git"
    assert "insteadOf" not in (mirror / "config").read_text()  # put back at once


async def test_unsandboxed_a_redirect_fails_its_own_issue_not_the_batch_it_shares(
    tmp_path: Path, context: ProcessContext
) -> None:
    evil = tmp_path / "evil.git"
    init_bare(evil)
    # Issue 7 redirects; issue 8, innocent, finishes later and is pushed in the same batch.
    innocent = """
import os, pathlib, time
if os.environ["AUTOISSUE_ISSUE_NUMBER"] != "7":
    time.sleep(0.5)
    pathlib.Path("innocent.txt").write_text("fine")
    raise SystemExit(0)
"""
    code = innocent + REDIRECT.replace("sys.argv[1]", repr(str(evil)))
    command = processor(tmp_path / "state", code, sandbox=NONE)
    redirected, kept = await asyncio.gather(
        command.process(make_issue(7), context),
        command.process(make_issue(8), context),
        return_exceptions=True,
    )
    assert isinstance(redirected, TrustViolationError)
    assert isinstance(kept, Plan)
    assert any(isinstance(action, OpenPullRequest) for action in kept.actions)
    assert command.git_pushes == 1
    assert bare_refs(evil) == ""


async def test_an_agent_that_rewrites_the_git_file_fails_as_a_trust_violation(
    tmp_path: Path, context: ProcessContext
) -> None:
    code = """
    import pathlib
    pathlib.Path("own-git").mkdir()
    pathlib.Path(".git").write_text("gitdir: own-git\\n")
    pathlib.Path("x.txt").write_text("x")
    """
    with pytest.raises(TrustViolationError, match=r"rewrote the worktree's \.git file"):
        await processor(tmp_path / "state", code).process(make_issue(8), context)


async def test_no_process_an_agent_leaves_running_outlives_its_issue(
    tmp_path: Path, context: ProcessContext
) -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    await processor(tmp_path / "state", daemon(marker)).process(make_issue(9), context)
    assert processes_with(marker) == []


async def test_unsandboxed_a_daemon_escapes_its_process_group(
    tmp_path: Path, context: ProcessContext
) -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    command = processor(tmp_path / "state", daemon(marker), sandbox=NONE)
    await command.process(make_issue(9), context)
    escaped = processes_with(marker)
    for pid in escaped:
        os.kill(pid, 9)
    assert escaped  # the attack is real: what the sandbox's namespace prevents


async def test_a_fork_bomb_stops_at_the_process_limit(
    tmp_path: Path, context: ProcessContext
) -> None:
    needs_limits()
    sandbox = Sandbox(max_processes=40)
    command = processor(tmp_path / "state", FORK_BOMB, sandbox=sandbox)
    assert 10 < forks(await command.process(make_issue(10), context)) < 40


async def test_an_agent_over_its_memory_limit_is_killed(
    tmp_path: Path, context: ProcessContext
) -> None:
    needs_limits()
    command = processor(tmp_path / "state", MEMORY_HOG, sandbox=Sandbox(memory_bytes=64 << 20))
    with pytest.raises(AgentError, match="exited with"):
        await command.process(make_issue(11), context)


async def test_network_none_leaves_the_agent_no_network(
    tmp_path: Path, context: ProcessContext, emulator: Emulator
) -> None:
    port = emulator.base_url.rsplit(":", 1)[1].rstrip("/")
    code = f"""
    import json, os, pathlib, socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        reached = "reached"
    except OSError as exc:
        reached = type(exc).__name__
    pathlib.Path(os.environ["AUTOISSUE_RESULT_FILE"]).write_text(json.dumps({{"comment": reached}}))
    """
    cut = processor(tmp_path / "a", code, sandbox=Sandbox(network=False))
    (comment,) = (await cut.process(make_issue(12), context)).actions
    assert isinstance(comment, Comment)
    assert comment.body != "reached"
    on = processor(tmp_path / "b", code)
    (comment,) = (await on.process(make_issue(12), context)).actions
    assert isinstance(comment, Comment)
    assert comment.body == "reached"
