"""Measure the emulator's raw GET throughput with a bare aiohttp client.

Starts ``python -m autoissue emulator`` in a subprocess (limits, latency and faults off), then
keeps CONCURRENCY GETs in flight for DURATION seconds, alternating single issues and list
pages, and prints requests per second.

Usage: scripts/emulator_throughput.py [--duration 5] [--concurrency 100] [--issues 5000]
       [--per-page 30]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import time

import aiohttp


def start_emulator(issues: int) -> tuple[subprocess.Popen[str], str]:
    argv = [sys.executable, "-m", "autoissue", "emulator", "--port", "0", "--issues", str(issues)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


async def worker(
    session: aiohttp.ClientSession, paths: list[str], deadline: float, counts: list[int], seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - picking URLs, not secrets
    while time.perf_counter() < deadline:
        async with session.get(rng.choice(paths)) as response:
            await response.read()
            counts[0 if response.status == 200 else 1] += 1


async def measure(base: str, issues: int, duration: float, concurrency: int, per_page: int) -> None:
    singles = [f"/repos/acme/widgets/issues/{n}" for n in range(1, issues + 1)]
    pages = [
        f"{base}/repos/acme/widgets/issues?state=all&per_page=30&page={p}" for p in range(1, 50)
    ]
    paths = singles[:1000] + pages * 20
    counts = [0, 0]
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": "token bench"}
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:
        deadline = time.perf_counter() + 1.0  # warm the caches and connections
        await asyncio.gather(
            *(worker(session, paths, deadline, [0, 0], n) for n in range(concurrency))
        )
        start = time.perf_counter()
        deadline = start + duration
        await asyncio.gather(
            *(worker(session, paths, deadline, counts, n) for n in range(concurrency))
        )
        elapsed = time.perf_counter() - start
    print(
        f"{counts[0] / elapsed:,.0f} requests/s ({counts[0]} ok, {counts[1]} other, "
        f"{concurrency} concurrent, {elapsed:.1f} s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--per-page", type=int, default=30)
    args = parser.parse_args()
    proc, base = start_emulator(args.issues)
    try:
        asyncio.run(measure(base, args.issues, args.duration, args.concurrency, args.per_page))
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
