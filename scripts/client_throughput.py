"""Compare GitHub clients' request throughput against the emulator, side by side in one run.

Starts ``python -m autoissue emulator`` in a subprocess (limits, latency and faults off) and
takes turns — autoissue, githubkit, autoissue, githubkit … — each keeping CONCURRENCY GETs of
single issues in flight for DURATION seconds. Reports requests per second and requests per
CPU-second of the client's own process (the "per core" figure: the emulator's CPU is not
counted). Caches are off for both, so every GET is a full round trip.

Usage: scripts/client_throughput.py [--duration 4] [--concurrency 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from emulator_throughput import start_emulator

from autoissue.github import ETagCache, GitHubClient

Fetch = Callable[[int], Awaitable[object]]


async def drive(fetch: Fetch, duration: float, concurrency: int) -> tuple[int, float, float]:
    """Keep ``concurrency`` fetches going; returns requests, wall and CPU seconds."""
    count = 0
    deadline = time.perf_counter() + duration

    async def worker(offset: int) -> None:
        nonlocal count
        number = offset
        while time.perf_counter() < deadline:
            await fetch(number % 5000 + 1)
            count += 1
            number += concurrency

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return count, time.perf_counter() - wall, time.process_time() - cpu


async def autoissue_round(base: str, duration: float, concurrency: int) -> tuple[int, float, float]:
    token = "bench"  # noqa: S105 - the emulator accepts any token
    client = GitHubClient(base_url=base, token=token, cache=ETagCache(max_entries=0))
    async with client:
        await client.warm_up()
        return await drive(
            lambda n: client.request("GET", f"/repos/acme/widgets/issues/{n}"),
            duration,
            concurrency,
        )


async def githubkit_round(base: str, duration: float, concurrency: int) -> tuple[int, float, float]:
    from githubkit import GitHub  # noqa: PLC0415 - only this contender needs it

    async with GitHub("bench", base_url=base, http_cache=False, auto_retry=False) as gh:
        semaphore = asyncio.Semaphore(concurrency)

        async def fetch(number: int) -> object:
            async with semaphore:
                return await gh.rest.issues.async_get("acme", "widgets", number)

        return await drive(fetch, duration, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    proc, base = start_emulator(5000)
    results: dict[str, list[tuple[int, float, float]]] = {"autoissue": [], "githubkit": []}
    try:
        for _ in range(args.rounds):
            for name, round_ in (("autoissue", autoissue_round), ("githubkit", githubkit_round)):
                results[name].append(asyncio.run(round_(base, args.duration, args.concurrency)))
    finally:
        proc.terminate()
        proc.wait()
    report(results)


def report(results: dict[str, list[tuple[int, float, float]]]) -> None:
    rates = {}
    for name, runs in results.items():
        per_s = statistics.median(count / wall for count, wall, _ in runs)
        per_cpu = statistics.median(count / cpu for count, _, cpu in runs)
        rates[name] = (per_s, per_cpu)
        print(f"{name:10} {per_s:8,.0f} requests/s   {per_cpu:8,.0f} requests per CPU-second")
    ours, theirs = rates["autoissue"], rates["githubkit"]
    print(
        f"autoissue/githubkit: {ours[0] / theirs[0]:.1f}x requests/s, "
        f"{ours[1] / theirs[1]:.1f}x per CPU-second"
    )


if __name__ == "__main__":
    main()
