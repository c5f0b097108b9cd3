"""Run one command as its own process group: stdin fed, output capped, timeout, group killed.

The command is an argv list, never a shell string. It starts in a new session
(``start_new_session``) so that it and everything it starts form one process group: on a
timeout or a cancellation the whole group gets SIGTERM, ``kill_grace_s`` to exit, then SIGKILL.
Each of stdout and stderr keeps at most ``output_limit`` bytes; the rest is read and dropped,
so a chatty command can neither block on a full pipe nor fill our memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from autoissue._exceptions import AgentError, AgentTimeoutError

__all__ = ["Completed", "run_command"]

logger = logging.getLogger(__name__)

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Completed:
    """A finished command: exit code (negative: the signal), captured output, seconds taken.

    ``stdout_truncated`` / ``stderr_truncated`` say that the stream said more than was kept.
    """

    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    def __repr__(self) -> str:
        return (
            f"Completed(returncode={self.returncode}, stdout={len(self.stdout)}B, "
            f"stderr={len(self.stderr)}B, seconds={self.seconds:.3f})"
        )

    def tail(self, chars: int = 300) -> str:
        """The end of stderr (else stdout) as text: enough to say why a command failed."""
        text = (self.stderr or self.stdout).decode("utf-8", "replace").strip()
        return text[-chars:]


async def _capture(stream: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Read ``stream`` to its end, keeping the first ``limit`` bytes."""
    kept, truncated = bytearray(), False
    while chunk := await stream.read(_CHUNK):
        room = limit - len(kept)
        truncated = truncated or len(chunk) > room
        kept += chunk[: max(room, 0)]
    return bytes(kept), truncated


async def _feed(stdin: asyncio.StreamWriter | None, data: bytes) -> None:
    """Write ``data`` and close; a command that exits without reading it is not an error.

    asyncio reports that as BrokenPipeError or ConnectionResetError, uvloop as a
    RuntimeError about a closed transport.
    """
    if stdin is None:  # nothing to feed: the command's stdin is /dev/null
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
        stdin.write(data)
        await stdin.drain()
    stdin.close()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def _stop_group(process: asyncio.subprocess.Process, grace_s: float) -> None:
    """SIGTERM the process group, wait ``grace_s`` for the leader, then SIGKILL the group."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        logger.info("process group %d outlived its grace period: killed", process.pid)
    # Children that ignored SIGTERM (or the leader, after the grace) go now.
    _signal_group(process.pid, signal.SIGKILL)
    await process.wait()


async def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bytes = b"",
    timeout_s: float | None = None,
    kill_grace_s: float = 5.0,
    output_limit: int = 1 << 20,
) -> Completed:
    """Run ``argv`` in ``cwd`` with exactly ``env``; return how it ended.

    A non-zero exit is returned, not raised. Raises :class:`AgentTimeoutError` after
    ``timeout_s`` and :class:`AgentError` when the command cannot be started; either way,
    and on cancellation, nothing of the process group is left running.
    """
    started = time.perf_counter()
    process = await _start(argv, cwd=cwd, env=env, stdin=bool(stdin))
    try:
        async with asyncio.timeout(timeout_s):
            (out, out_cut), (err, err_cut), code = await _communicate(process, stdin, output_limit)
    except TimeoutError:
        raise AgentTimeoutError(f"{argv[0]} ran past its {timeout_s} s timeout") from None
    finally:
        # Also on success: a background child the command left behind is part of its work.
        await _stop_group(process, kill_grace_s)
    seconds = time.perf_counter() - started
    return Completed(
        returncode=code,
        stdout=out,
        stderr=err,
        seconds=seconds,
        stdout_truncated=out_cut,
        stderr_truncated=err_cut,
    )


async def _communicate(
    process: asyncio.subprocess.Process, stdin: bytes, output_limit: int
) -> tuple[tuple[bytes, bool], tuple[bytes, bool], int]:
    """Feed stdin, capture stdout and stderr, and wait for the exit, all at once.

    Done concurrently so that neither a full pipe nor an unread stdin can block the others.
    """
    # Pipes were asked for, so stdout and stderr are never None.
    _, out, err, code = await asyncio.gather(
        _feed(process.stdin, stdin),
        _capture(cast(asyncio.StreamReader, process.stdout), output_limit),
        _capture(cast(asyncio.StreamReader, process.stderr), output_limit),
        process.wait(),
    )
    return out, err, code


async def _start(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdin: bool
) -> asyncio.subprocess.Process:
    if not argv:
        raise AgentError("the command is empty")
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in an argument
        reason = getattr(exc, "strerror", None) or exc
        raise AgentError(f"cannot start {argv[0]}: {reason}") from exc
