"""Prometheus metric families drawn from one :class:`~autoissue.observe._sources.Reading`.

Names follow ``autoissue_<noun>_<unit>`` in base units (seconds, bytes); counters end in
``_total``. Labels take a few fixed values each (endpoint templates, statuses, reasons,
priorities, worker states, the repositories a command was given): never an issue number, a
URL or a token.

Latency: the components keep recent samples and report percentiles, not buckets, so latency
is exported as a *summary*: quantiles over each component's sliding window (its last 2048
completions or answers) with the total ``_count``. A histogram would need every completion
recorded a second time, outside the component that already measures it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from autoissue.concurrency import ControllerStatistics
from autoissue.github import ClientStatistics, GovernorStatistics, Mode
from autoissue.observe._sources import Reading, TallySnapshot
from autoissue.pool import PoolStatistics, WorkerState
from autoissue.queue import QueueStatistics
from autoissue.serve import WebhookStatistics

__all__ = ["METRICS", "ReadingCollector", "metric_families"]

Rows = Iterable[tuple[Sequence[str], float]]

#: Every metric this package exports, with its help text.
METRICS: Mapping[str, str] = MappingProxyType(
    {
        "autoissue_run_info": "The run being observed (always 1).",
        "autoissue_process_resident_memory_bytes": "Resident memory of this process.",
        "autoissue_process_cpu_seconds_total": "CPU time (user and system) this process used.",
        "autoissue_issues_listed_total": "Items listed, pull requests included.",
        "autoissue_issues_processed_total": "Issues processed successfully.",
        "autoissue_issues_failed_total": "Issues whose processing failed.",
        "autoissue_issues_skipped_total": "Items skipped, by reason.",
        "autoissue_writes_total": "Writes applied to GitHub.",
        "autoissue_concurrency_limit": "Issues allowed in flight now.",
        "autoissue_concurrency_in_flight": "Issues in flight now.",
        "autoissue_concurrency_waiting": "Issues waiting for a slot.",
        "autoissue_concurrency_hard_cap": "The cap the limit never exceeds.",
        "autoissue_concurrency_predicted_optimum": "The concurrency the scalability fit predicts.",
        "autoissue_concurrency_drops_total": "Completions that signalled overload.",
        "autoissue_issue_latency_seconds": "Time to process one issue: quantiles over the "
        "controller's recent completions.",
        "autoissue_github_requests_total": "Requests answered, by endpoint and status.",
        "autoissue_github_connection_errors_total": "Requests that got no answer, by endpoint.",
        "autoissue_github_retries_total": "Requests sent again, by endpoint.",
        "autoissue_github_cache_hits_total": "GETs answered 304 from the ETag cache, by endpoint.",
        "autoissue_github_request_latency_seconds": "Time to an answer: quantiles over each "
        "endpoint's recent requests.",
        "autoissue_github_requests_in_flight": "Requests sent and not yet answered.",
        "autoissue_github_concurrency_cap": "Concurrent requests the governor allows.",
        "autoissue_github_rate_limit_mode": "1 for what the server said of its rate limits.",
        "autoissue_github_budget_remaining": "Primary rate-limit budget left, by resource.",
        "autoissue_github_budget_limit": "Primary rate-limit budget per window, by resource.",
        "autoissue_github_budget_reset_timestamp_seconds": "When the budget refills (epoch).",
        "autoissue_github_waits_total": "Requests held back by the governor, by budget.",
        "autoissue_github_wait_seconds_total": "Time requests were held back, by budget.",
        "autoissue_queue_depth": "Items ready to be claimed, by priority.",
        "autoissue_queue_delayed": "Items waiting for a retry or not-before time.",
        "autoissue_queue_in_flight": "Items claimed under a lease.",
        "autoissue_queue_retrying": "Waiting items that were tried before.",
        "autoissue_queue_dead_letters": "Items dead-lettered and not replayed.",
        "autoissue_queue_enqueued_total": "Items put on the queue.",
        "autoissue_queue_claimed_total": "Items claimed.",
        "autoissue_queue_acked_total": "Items acknowledged as done.",
        "autoissue_queue_retried_total": "Items put back for a retry.",
        "autoissue_queue_dead_lettered_total": "Items moved to the dead letters.",
        "autoissue_queue_duplicates_total": "Puts dropped as duplicates of a waiting item.",
        "autoissue_queue_wait_seconds": "Time from put to claim: recent quantiles.",
        "autoissue_pool_workers": "Pool workers by state.",
        "autoissue_pool_workers_limit": "Workers the pool may run now.",
        "autoissue_pool_tasks_queued": "Tasks waiting for a worker.",
        "autoissue_pool_tasks_total": "Tasks finished, by outcome.",
        "autoissue_pool_worker_crashes_total": "Workers that died without being asked to.",
        "autoissue_pool_worker_recycles_total": "Workers retired, by reason.",
        "autoissue_pool_queue_wait_seconds": "Time from submission to dispatch: recent quantiles.",
        "autoissue_webhook_deliveries_received_total": "Webhook deliveries received.",
        "autoissue_webhook_deliveries_total": "Webhook deliveries answered, by outcome.",
        "autoissue_webhook_deliveries_rejected_total": "Deliveries refused (401, 413, 400), "
        "by reason.",
        "autoissue_webhook_deliveries_ignored_total": "Deliveries that asked for no work, "
        "by reason.",
        "autoissue_webhook_deliveries_failed_total": "Deliveries not queued (503, 409), by reason.",
        "autoissue_webhook_deliveries_in_flight": "Deliveries received and not answered yet.",
        "autoissue_webhook_enqueued_total": "Items queued for accepted deliveries.",
        "autoissue_webhook_last_delivery_timestamp_seconds": "When the last delivery arrived "
        "(epoch).",
        "autoissue_sweeps_total": "Sweeps that listed a repository to the end, by repository.",
    }
)

# The percentile keys the components use, as Prometheus quantiles.
_QUANTILES = {"p50": "0.5", "p95": "0.95", "p99": "0.99"}


def _family(name: str, labels: Sequence[str] = (), rows: Rows = ()) -> Metric:
    """A counter (named ``*_total``) or a gauge, one sample per row of label values."""
    kind = CounterMetricFamily if name.endswith("_total") else GaugeMetricFamily
    family = kind(name, METRICS[name], labels=labels)
    for values, value in rows:
        family.add_metric(list(values), value)
    return family


def _scalars(*pairs: tuple[str, float]) -> Iterator[Metric]:
    for name, value in pairs:
        yield _family(name, rows=[((), value)])


def _summary(
    name: str, series: Iterable[tuple[Mapping[str, str], Mapping[str, float], int]]
) -> Metric:
    """Per label set: ``quantiles`` maps p50/p95/p99 to seconds; then the total count."""
    family = Metric(name, METRICS[name], "summary")
    for labels, quantiles, count in series:
        for key, quantile in _QUANTILES.items():
            if key in quantiles:
                family.add_sample(name, {**labels, "quantile": quantile}, quantiles[key])
        family.add_sample(f"{name}_count", dict(labels), count)
    return family


def _run(reading: Reading) -> Iterator[Metric]:
    names = sorted(reading.labels)
    values = [reading.labels[name] for name in names]
    yield _family("autoissue_run_info", names, [(values, 1.0)])
    yield from _scalars(
        ("autoissue_process_resident_memory_bytes", reading.process.rss_bytes),
        ("autoissue_process_cpu_seconds_total", reading.process.cpu_seconds),
    )


def _tally(tally: TallySnapshot) -> Iterator[Metric]:
    yield from _scalars(
        ("autoissue_issues_listed_total", tally.listed),
        ("autoissue_issues_processed_total", tally.processed),
        ("autoissue_issues_failed_total", tally.failed),
        ("autoissue_writes_total", tally.writes),
    )
    skipped = [((reason,), count) for reason, count in sorted(tally.skipped.items())]
    yield _family("autoissue_issues_skipped_total", ["reason"], skipped)


def _controller(stats: ControllerStatistics) -> Iterator[Metric]:
    yield from _scalars(
        ("autoissue_concurrency_limit", stats.limit),
        ("autoissue_concurrency_in_flight", stats.in_flight),
        ("autoissue_concurrency_waiting", stats.waiting),
        ("autoissue_concurrency_drops_total", stats.drops),
    )
    if stats.hard_cap is not None:
        yield from _scalars(("autoissue_concurrency_hard_cap", stats.hard_cap))
    optimum = stats.predicted_optimum
    if optimum is not None and optimum != float("inf"):
        yield from _scalars(("autoissue_concurrency_predicted_optimum", optimum))
    quantiles = {"p50": stats.latency_p50, "p95": stats.latency_p95, "p99": stats.latency_p99}
    yield _summary("autoissue_issue_latency_seconds", [({}, quantiles, stats.completed)])


def _client(stats: ClientStatistics) -> Iterator[Metric]:
    endpoints = sorted(stats.endpoints.items())
    answers = [
        ((name, str(status)), count)
        for name, entry in endpoints
        for status, count in sorted(entry.statuses.items())
    ]
    yield _family("autoissue_github_requests_total", ["endpoint", "status"], answers)
    for metric, field in (
        ("autoissue_github_connection_errors_total", "failures"),
        ("autoissue_github_retries_total", "retries"),
        ("autoissue_github_cache_hits_total", "cache_hits"),
    ):
        rows = [((name,), getattr(entry, field)) for name, entry in endpoints]
        yield _family(metric, ["endpoint"], rows)
    latency = [
        ({"endpoint": name}, {k: ms / 1000.0 for k, ms in entry.latency_ms.items()}, entry.requests)
        for name, entry in endpoints
    ]
    yield _summary("autoissue_github_request_latency_seconds", latency)


def _governor(stats: GovernorStatistics) -> Iterator[Metric]:
    budgets = sorted(stats.budget.items())
    yield from _scalars(
        ("autoissue_github_requests_in_flight", stats.in_flight),
        ("autoissue_github_concurrency_cap", stats.max_concurrent),
    )
    modes = [((mode.value,), float(mode is stats.mode)) for mode in Mode]
    yield _family("autoissue_github_rate_limit_mode", ["mode"], modes)
    for metric, field in (
        ("autoissue_github_budget_remaining", "remaining"),
        ("autoissue_github_budget_limit", "limit"),
        ("autoissue_github_budget_reset_timestamp_seconds", "reset"),
    ):
        yield _family(metric, ["resource"], [((n,), getattr(i, field)) for n, i in budgets])
    waits = sorted(stats.waits.items())
    yield _family("autoissue_github_waits_total", ["reason"], [((r,), n) for r, n in waits])
    waited = [((reason,), s) for reason, s in sorted(stats.waited_s.items())]
    yield _family("autoissue_github_wait_seconds_total", ["reason"], waited)


def _queue(stats: QueueStatistics) -> Iterator[Metric]:
    depth = [((p.name.lower(),), n) for p, n in sorted(stats.depth.items())]
    yield _family("autoissue_queue_depth", ["priority"], depth)
    yield from _scalars(
        ("autoissue_queue_delayed", stats.delayed),
        ("autoissue_queue_in_flight", stats.in_flight),
        ("autoissue_queue_retrying", stats.retrying),
        ("autoissue_queue_dead_letters", stats.dead_letters),
        ("autoissue_queue_enqueued_total", stats.enqueued),
        ("autoissue_queue_claimed_total", stats.claimed),
        ("autoissue_queue_acked_total", stats.acked),
        ("autoissue_queue_retried_total", stats.retried),
        ("autoissue_queue_dead_lettered_total", stats.dead_lettered),
        ("autoissue_queue_duplicates_total", stats.duplicates),
    )
    waits = {key: ms / 1000.0 for key, ms in stats.wait_ms.items()}
    yield _summary("autoissue_queue_wait_seconds", [({}, waits, stats.claimed)])


def _pool(stats: PoolStatistics) -> Iterator[Metric]:
    workers = [((state.value,), stats.workers.get(state, 0)) for state in WorkerState]
    yield _family("autoissue_pool_workers", ["state"], workers)
    yield from _scalars(
        ("autoissue_pool_workers_limit", stats.limit),
        ("autoissue_pool_tasks_queued", stats.queued),
        ("autoissue_pool_worker_crashes_total", stats.crashes),
    )
    outcomes = ("completed", "failed", "timed_out", "cancelled", "crashed")
    tasks = [((name,), getattr(stats, name)) for name in outcomes]
    yield _family("autoissue_pool_tasks_total", ["outcome"], tasks)
    recycles = [((reason.value,), n) for reason, n in stats.recycles.items()]
    yield _family("autoissue_pool_worker_recycles_total", ["reason"], recycles)
    waits = {"p50": stats.queue_wait_p50_s, "p99": stats.queue_wait_p99_s}
    yield _summary("autoissue_pool_queue_wait_seconds", [({}, waits, stats.submitted)])


def _webhooks(stats: WebhookStatistics) -> Iterator[Metric]:
    yield from _scalars(
        ("autoissue_webhook_deliveries_received_total", stats.received),
        ("autoissue_webhook_deliveries_in_flight", stats.in_flight),
        ("autoissue_webhook_enqueued_total", stats.enqueued),
    )
    outcomes = ("accepted", "duplicate", "rejected", "ignored", "failed")
    answered = [((name,), getattr(stats, name)) for name in outcomes]
    yield _family("autoissue_webhook_deliveries_total", ["outcome"], answered)
    for metric, counts in (
        ("autoissue_webhook_deliveries_rejected_total", stats.rejected_by),
        ("autoissue_webhook_deliveries_ignored_total", stats.ignored_by),
        ("autoissue_webhook_deliveries_failed_total", stats.failed_by),
    ):
        yield _family(metric, ["reason"], [((r,), n) for r, n in sorted(counts.items())])
    if stats.last_delivery_at is not None:
        last = ("autoissue_webhook_last_delivery_timestamp_seconds", stats.last_delivery_at)
        yield from _scalars(last)


def _sweeps(sweeps: Mapping[str, int]) -> Iterator[Metric]:
    rows = [((repo,), count) for repo, count in sorted(sweeps.items())]
    yield _family("autoissue_sweeps_total", ["repo"], rows)


def _receiving(reading: Reading) -> Iterator[Metric]:
    """What a webhook receiver adds: its deliveries and the sweeps beside it."""
    if reading.webhooks is not None:
        yield from _webhooks(reading.webhooks)
    if reading.sweeps is not None:
        yield from _sweeps(reading.sweeps)


def metric_families(reading: Reading) -> Iterator[Metric]:
    """Every metric family the reading has figures for (absent sources export nothing)."""
    yield from _run(reading)
    if reading.tally is not None:
        yield from _tally(reading.tally)
    if reading.controller is not None:
        yield from _controller(reading.controller)
    if reading.client is not None:
        yield from _client(reading.client)
    if reading.governor is not None:
        yield from _governor(reading.governor)
    if reading.queue is not None:
        yield from _queue(reading.queue)
    if reading.pool is not None:
        yield from _pool(reading.pool)
    yield from _receiving(reading)


class ReadingCollector(Collector):
    """A prometheus_client collector serving one :class:`Reading`, taken for this scrape."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading

    def __repr__(self) -> str:
        return f"<ReadingCollector at={self.reading.at:.3f}>"

    def collect(self) -> Iterator[Metric]:
        """The reading's metric families."""
        return metric_families(self.reading)
