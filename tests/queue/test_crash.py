"""A consumer SIGKILLed while holding leases: the survivors still do every item exactly once."""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoissue.queue import Message, open_queue

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 60


def spawn(role: str, dsn: str, effects: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.queue._crash_worker", role, dsn, str(effects)],
        cwd=ROOT,
        stdout=subprocess.PIPE if role == "victim" else subprocess.DEVNULL,
        text=True,
    )


async def crash_and_recover(dsn: str, effects: Path) -> None:
    queue = await open_queue(dsn)
    await queue.put_many([Message(b"item-%d" % i) for i in range(ITEMS)])
    victim = spawn("victim", dsn, effects)
    assert victim.stdout is not None
    held = (await asyncio.to_thread(victim.stdout.readline)).split()
    assert len(held) == 10
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    victim.stdout.close()
    killed_at = time.monotonic()
    survivors = [spawn("survivor", dsn, effects) for _ in range(2)]
    for proc in survivors:
        assert await asyncio.to_thread(proc.wait, 60) == 0
    recovered_in = time.monotonic() - killed_at
    await queue.close()
    lines = (await asyncio.to_thread(effects.read_text)).split("\n")[:-1]
    done = collections.Counter(line.split()[0] for line in lines)
    assert done == {f"item-{i}": 1 for i in range(ITEMS)}
    assert set(held) <= set(done)
    assert {line.split()[1] for line in lines} <= {str(p.pid) for p in survivors}
    # Lease 1 s: the killed consumer's items were back and done well within the 2 s goal + drain.
    assert recovered_in < 15


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_sqlite_survivors_finish_a_killed_consumers_work(tmp_path: Path) -> None:
    await crash_and_recover(f"sqlite:///{tmp_path / 'q.db'}", tmp_path / "effects.log")


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.timeout(90)
async def test_redis_survivors_finish_a_killed_consumers_work(
    redis_url: str, tmp_path: Path
) -> None:
    await crash_and_recover(redis_url, tmp_path / "effects.log")
