"""The benchmark suite behind ``autoissue bench``: workloads, machine facts, reports.

Only the ``queue`` workload exists so far; see BENCH.md for the protocol and the others.
"""

from __future__ import annotations

from autoissue.bench._queue import QueueBenchConfig, run_queue_bench
from autoissue.bench._report import BenchReport, machine_info, median

#: The columns the Markdown report shows for each workload.
COLUMNS = {
    "queue": ["contender", "backend", "mode", "batch", "items", "seconds", "claims_acks_per_s"],
}

__all__ = [
    "COLUMNS",
    "BenchReport",
    "QueueBenchConfig",
    "machine_info",
    "median",
    "run_queue_bench",
]
