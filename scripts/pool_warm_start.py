"""How long a warm worker takes to be ready: from asking for it until it can run a task.

Two figures: the template spawner alone (``spawn()`` until the worker's ``Ready`` arrives), and
the whole pool (a worker recycled after every task: the replacement's request until it is
idle in the pool, manager thread included). Usage: ``python scripts/pool_warm_start.py [N]``.
"""

from __future__ import annotations

import statistics
import sys
import time

from autoissue.pool import PoolConfig, PoolStatistics, TemplateSpawner, WarmPool
from autoissue.pool._task import Ready


def spawner_figures(n: int) -> list[float]:
    spawner = TemplateSpawner()
    samples = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            conn = spawner.spawn()
            ready = conn.recv()
            samples.append(time.perf_counter() - started)
            if not isinstance(ready, Ready):
                raise SystemExit(f"unexpected first message {ready!r}")
            conn.send(None)
            conn.close()
            spawner.exits()  # read the exit records, as the pool does, or the template blocks
    finally:
        spawner.close()
    return samples


def pool_figures(n: int) -> PoolStatistics:
    # One task per worker: every task's completion asks for a fresh worker.
    config = PoolConfig(min_workers=1, max_workers=1, max_tasks=1)
    with WarmPool(config) as pool:
        for _ in range(n):
            pool.submit_sync("os:getpid")
        return pool.statistics()


def show(label: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    print(
        f"{label:<28} n={len(ms):<4} p50={statistics.median(ms):.2f} ms  "
        f"p90={p90:.2f} ms  max={ms[-1]:.2f} ms"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    show("template spawn -> ready", spawner_figures(n))
    stats = pool_figures(n)
    print(
        f"{'pool request -> idle worker':<28} n={stats.spawned:<4} "
        f"p50={stats.warm_start_p50_s * 1000:.2f} ms  max={stats.warm_start_max_s * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
