from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from autoissue import AgentError, AgentTimeoutError, _runtime
from autoissue.agent import run_command
from tests.agent._emulated import Signal

PY = sys.executable


async def exits(pid: int, timeout_s: float = 10.0) -> bool:
    """Whether process ``pid`` ends (a zombie counts) within ``timeout_s``: no polling."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()
    loop.add_reader(fd, ended.set)
    try:
        await asyncio.wait_for(ended.wait(), timeout_s)
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    return True


async def test_captures_output_and_feeds_stdin(tmp_path: Path) -> None:
    code = "import sys; data = sys.stdin.buffer.read(); print(len(data)); sys.stderr.write('e')"
    done = await run_command([PY, "-c", code], cwd=tmp_path, env={}, stdin=b"x" * 3_000_000)
    assert done.returncode == 0
    assert done.stdout.strip() == b"3000000"
    assert done.stderr == b"e"
    assert not done.stdout_truncated
    assert "returncode=0" in repr(done)


async def test_output_is_capped_and_the_rest_drained(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.write('a' * 500_000); sys.stderr.write('b' * 500_000)"
    done = await run_command([PY, "-c", code], cwd=tmp_path, env={}, output_limit=1000)
    assert done.stdout == b"a" * 1000
    assert done.stderr == b"b" * 1000
    assert done.stdout_truncated
    assert done.stderr_truncated


async def test_a_command_that_ignores_stdin_is_not_an_error(tmp_path: Path) -> None:
    done = await run_command([PY, "-c", "pass"], cwd=tmp_path, env={}, stdin=b"y" * 2_000_000)
    assert done.returncode == 0


async def test_env_is_exactly_what_was_given(tmp_path: Path) -> None:
    code = "import os, json; print(json.dumps(sorted(os.environ)))"
    done = await run_command([PY, "-c", code], cwd=tmp_path, env={"ONLY": "1"})
    assert b'"ONLY"' in done.stdout
    assert b"PATH" not in done.stdout


async def test_non_zero_exit_is_returned_with_a_tail(tmp_path: Path) -> None:
    code = "import sys; sys.stderr.write('boom happened'); sys.exit(4)"
    done = await run_command([PY, "-c", code], cwd=tmp_path, env={})
    assert done.returncode == 4
    assert done.tail() == "boom happened"
    assert done.tail(4) == "ened"


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    argv = [
        PY,
        "-m",
        "autoissue.agent.fake",
        "--mode",
        "hang",
        "--sleep-min",
        "0",
        "--sleep-max",
        "0",
        "--alloc-mb",
        "0",
        "--pid-file",
        str(pid_file),
    ]
    with pytest.raises(AgentTimeoutError, match="timeout") as caught:
        await run_command(argv, cwd=tmp_path, env=dict(os.environ), timeout_s=2.0, kill_grace_s=0.2)
    assert isinstance(caught.value, TimeoutError)
    assert await exits(int(pid_file.read_text()))


async def test_sigkill_follows_when_sigterm_is_ignored(tmp_path: Path) -> None:
    code = (
        "import signal, time, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    started = asyncio.get_running_loop().time()
    with pytest.raises(AgentTimeoutError):
        await run_command([PY, "-c", code], cwd=tmp_path, env={}, timeout_s=0.5, kill_grace_s=0.3)
    assert asyncio.get_running_loop().time() - started < 10


async def test_cancellation_kills_the_group(tmp_path: Path) -> None:
    async with Signal() as ready:
        code = (
            "import subprocess, sys, time; "
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            + ready.code("child.pid")
            + "; time.sleep(60)"
        )
        task = asyncio.create_task(
            run_command([PY, "-c", code], cwd=tmp_path, env={}, kill_grace_s=0.2)
        )
        child = int(await ready.received.get())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await exits(child)


async def test_a_missing_program_is_an_agent_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="cannot start"):
        await run_command(["/nonexistent/agent"], cwd=tmp_path, env={})


async def test_an_empty_command_is_an_agent_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="empty"):
        await run_command([], cwd=tmp_path, env={})


async def test_a_nul_byte_in_an_argument_is_an_agent_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="null byte"):
        await run_command([PY, "-c", "pass", "a\x00b"], cwd=tmp_path, env={})


def test_stdin_the_command_never_reads_is_fine_on_uvloop_too(tmp_path: Path) -> None:
    for data in (b"", b"z" * 2_000_000):
        argv = [PY, "-c", "import sys; sys.stdout.write(str(sys.stdin.isatty()))"]
        done = _runtime.run(run_command([PY, "-c", "pass"], cwd=tmp_path, env={}, stdin=data))
        assert done.returncode == 0
        assert _runtime.run(run_command(argv, cwd=tmp_path, env={})).stdout == b"False"


def test_a_spawning_run_gets_asyncio_s_own_loop(tmp_path: Path) -> None:
    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert _runtime.run(loop_module()).startswith("uvloop")
    # uvloop forks the whole process for each child; asyncio's loop vforks.
    assert _runtime.run(loop_module(), spawning=True).startswith("asyncio")
    done = _runtime.run(run_command([PY, "-c", "pass"], cwd=tmp_path, env={}), spawning=True)
    assert done.returncode == 0
