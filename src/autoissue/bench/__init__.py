"""The benchmark suite behind ``autoissue bench``: workloads, contenders, reports.

Workloads so far: ``queue``; the triage family (``triage``, ``memory``, ``ratelimited``) with
every contender of BENCH.md; ``scaling`` (latency-bound work at a forced concurrency) and
``adaptive`` (the controller against a sweep of fixed settings while capacity changes);
``agent`` (one fake-agent process per issue through the command processor, against the bare
spawn loop); ``pool`` (CPU-bound work on the event loop against the same work in the warm
pool, a worker killed mid-run); ``faults`` (``autoissue run`` SIGKILLed and restarted
mid-run); ``live`` (``autoissue serve`` labelling new issues from signed webhooks while it
sweeps a backlog over several repositories); ``quality`` (how often each type classifier is
right on a labelled dataset); and ``all``, every workload in turn gathered in one document.
"""

from __future__ import annotations

from autoissue.bench._adaptive import AdaptiveBenchConfig, run_adaptive_bench
from autoissue.bench._agent import AgentBenchConfig, run_agent_bench
from autoissue.bench._faults import FaultsBenchConfig, run_faults_bench
from autoissue.bench._live import run_live_bench
from autoissue.bench._plot import plot_report
from autoissue.bench._pooled import PoolBenchConfig, run_pool_bench
from autoissue.bench._quality import QUALITY_CONTENDERS, QualityBenchConfig, run_quality_bench
from autoissue.bench._queue import QueueBenchConfig, run_queue_bench
from autoissue.bench._report import BenchReport
from autoissue.bench._scaling import ScalingBenchConfig, run_scaling_bench
from autoissue.bench._suite import WORKLOADS, run_suite
from autoissue.bench._triage import ALL_CONTENDERS, TriageBenchConfig, run_triage_bench

_TRIAGE_COLUMNS = [
    "contender",
    "issues",
    "seconds",
    "issues_per_s",
    "api_calls_per_issue",
    "failed",
    "lost",
    "duplicate_writes",
    "redundant_writes",
    "rss_peak_mb",
    "rss_growth_kb_per_issue",
    "cpu_percent",
    "concurrency",
]

#: The columns the Markdown report shows for each workload.
COLUMNS = {
    "queue": ["contender", "backend", "mode", "batch", "items", "seconds", "claims_acks_per_s"],
    "triage": _TRIAGE_COLUMNS,
    "memory": _TRIAGE_COLUMNS,
    "ratelimited": [*_TRIAGE_COLUMNS, "rate_limit_violations", "budget_share", "binding_limit"],
    "scaling": ["contender", "issues", "seconds", "failed", "lost"],
    "agent": [
        "contender",
        "issues",
        "seconds",
        "issues_per_s",
        "spawn_ceiling_share",
        "prs_opened",
        "prs_expected",
        "failed",
        "lost",
        "duplicate_writes",
        "rss_peak_mb",
    ],
    "adaptive": [
        "contender",
        "concurrency",
        "issues",
        "issues_per_s",
        "vs_best_fixed",
        "reconverge_s",
        "failed",
    ],
    "quality": [
        "contender",
        "repos",
        "issues",
        "f1_macro",
        "f1_by_repo",
        "coverage",
        "precision",
        "train_s",
        "train_issues_per_s",
        "predictions_per_s",
        "model_kb",
    ],
    "pool": [
        "contender",
        "issues",
        "seconds",
        "issues_per_s",
        "pool_tasks",
        "pool_workers",
        "workers_killed",
        "requeued",
        "failed",
        "lost",
        "duplicate_writes",
    ],
    "live": [
        "contender",
        "issues",
        "seconds",
        "live_latency_s",
        "min_fair_share",
        "backlog_labelled_per_s",
        "created_rate",
        "failed",
        "lost",
        "duplicate_writes",
        "redundant_writes",
    ],
    "faults": [
        "contender",
        "issues",
        "seconds",
        "kills",
        "mttr_s",
        "mttr_median_s",
        "failed",
        "lost",
        "duplicate_writes",
        "rewrites",
    ],
}

__all__ = [
    "ALL_CONTENDERS",
    "COLUMNS",
    "QUALITY_CONTENDERS",
    "WORKLOADS",
    "AdaptiveBenchConfig",
    "AgentBenchConfig",
    "BenchReport",
    "FaultsBenchConfig",
    "PoolBenchConfig",
    "QualityBenchConfig",
    "QueueBenchConfig",
    "ScalingBenchConfig",
    "TriageBenchConfig",
    "plot_report",
    "run_adaptive_bench",
    "run_agent_bench",
    "run_faults_bench",
    "run_live_bench",
    "run_pool_bench",
    "run_quality_bench",
    "run_queue_bench",
    "run_scaling_bench",
    "run_suite",
    "run_triage_bench",
]
