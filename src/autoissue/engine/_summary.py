"""The run summary: what happened to every listed issue."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from autoissue.concurrency import ControllerStatistics

# Failures kept verbatim in a summary; beyond this only the count grows.
MAX_FAILURES_KEPT = 100


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """The outcome of one run; its counts add up two ways.

    The listing: every listed item (pull requests included) was ``enqueued`` or skipped at
    intake (``skipped`` minus ``skipped_at_work``), so ``listed = enqueued + intake skips``.
    The queue: what it held at the start (``queued_before``, left by earlier runs) plus what
    this run enqueued was handled here (``handled`` = ``processed`` + ``failed`` for good +
    ``skipped_at_work``, items a processor found nothing to do for), handled by other workers
    on the same backend (``elsewhere``), or is ``still_queued``. ``issues_per_s`` is
    ``processed / seconds``. ``api_calls`` counts every request sent, retries included;
    ``requeued`` counts failed attempts the queue retried later. ``interrupted`` names what
    stopped the run before its work ran out (``SIGINT``, ``SIGTERM``), if anything did.
    ``concurrency`` is what the controller did (see :func:`concurrency_summary`), ``pool``
    what the warm pool's workers did, by process (empty when no processor ran pooled);
    ``outcomes`` counts what the processor decided, by the names its plans gave; ``notes``
    are what it had to tell (see :class:`~autoissue.processors.Noting`); ``by_repo`` counts
    each repository's ``listed``, ``enqueued``, ``processed`` and ``failed`` items.
    """

    repo: str
    processor: str
    dry_run: bool
    listed: int
    processed: int
    skipped: dict[str, int]
    failed: int
    writes: int
    api_calls: int
    requeued: int = 0
    cost_usd: float = 0.0
    retries: int
    enqueued: int = 0
    queued_before: int = 0
    skipped_at_work: int = 0
    still_queued: int = 0
    interrupted: str | None = None
    seconds: float
    failures: list[dict[str, Any]] = field(default_factory=list)
    concurrency: dict[str, Any] = field(default_factory=dict)
    pool: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    by_repo: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def issues_per_s(self) -> float:
        """Issues processed per second of the run."""
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def handled(self) -> int:
        """Queue items this run settled for good: processed, failed, or nothing to do."""
        return self.processed + self.failed + self.skipped_at_work

    @property
    def elsewhere(self) -> int:
        """Queued items finished by other workers on the same backend while this run went."""
        return self.queued_before + self.enqueued - self.handled - self.still_queued

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data, rate and the other workers' share included."""
        rate = round(self.issues_per_s, 1)
        derived = {"handled": self.handled, "elsewhere": self.elsewhere}
        return {**asdict(self), "issues_per_s": rate, **derived}


def concurrency_summary(stats: ControllerStatistics, peak: int) -> dict[str, Any]:
    """The controller's figures at the end of a run, JSON-ready (latencies in seconds).

    ``limit`` is the limit in force at the end, ``limit_peak`` the highest it reached,
    ``decisions`` how many moves the controller logged with a reason.
    """
    optimum = stats.predicted_optimum
    return {
        "strategy": stats.strategy,
        "limit": stats.limit,
        "limit_peak": peak,
        "hard_cap": stats.hard_cap,
        "drops": stats.drops,
        "latency_p50_s": round(stats.latency_p50, 4),
        "latency_p95_s": round(stats.latency_p95, 4),
        "predicted_optimum": None if optimum is None or optimum == float("inf") else optimum,
        "decisions": len(stats.decisions),
    }


@dataclass
class RunTally:
    """Counts outcomes while a run goes (one event loop, so no locking)."""

    listed: int = 0
    #: Items this run put in the queue (not counting those already there).
    enqueued: int = 0
    #: Items the queue held when the run started: waiting or leased.
    queued_before: int = 0
    #: Admitted items held back until the listing ends (under a cap), not yet enqueued.
    shortlisted: int = 0
    processed: int = 0
    failed: int = 0
    #: Items a processor found nothing to do for (counted in ``skipped`` too).
    skipped_at_work: int = 0
    writes: int = 0
    #: Failed attempts sent back to the queue for a retry (an item may count several times).
    requeued: int = 0
    #: What the plans so far cost, as their processors reported it.
    cost_usd: float = 0.0
    skipped: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    #: What the processor decided, by the names its plans gave (``type abstained``...).
    outcomes: Counter[str] = field(default_factory=Counter)
    #: Per repository: ``listed``, ``enqueued``, ``processed``, ``failed``.
    by_repo: dict[str, Counter[str]] = field(default_factory=dict)

    def count(self, repo: str, what: str, amount: int = 1) -> None:
        """Count ``amount`` more of ``what`` for ``repo`` (its line in the summary)."""
        self.by_repo.setdefault(repo, Counter())[what] += amount

    def skip(self, reason: str) -> None:
        """Count one skipped item."""
        self.skipped[reason] += 1

    def fail(self, number: int, error: BaseException) -> None:
        """Count one failed issue, keeping the first failures' reasons."""
        self.failed += 1
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append({"issue": number, "error": f"{type(error).__name__}: {error}"})

    @property
    def handled(self) -> int:
        """Queue items this run settled for good: processed, failed, or nothing to do."""
        return self.processed + self.failed + self.skipped_at_work

    @property
    def done(self) -> int:
        """Items whose outcome is known to this run."""
        return self.processed + self.failed + sum(self.skipped.values())


def tally_counts(tally: RunTally, still_queued: int) -> dict[str, Any]:
    """The summary's counts as ``tally`` has them, with what the queue still holds."""
    return {
        "enqueued": tally.enqueued,
        "queued_before": tally.queued_before,
        "skipped_at_work": tally.skipped_at_work,
        "still_queued": still_queued,
        "listed": tally.listed,
        "processed": tally.processed,
        "skipped": dict(tally.skipped),
        "failed": tally.failed,
        "writes": tally.writes,
        "requeued": tally.requeued,
        "cost_usd": round(tally.cost_usd, 4),
        "failures": list(tally.failures),
        "outcomes": dict(tally.outcomes),
        "by_repo": {repo: dict(counts) for repo, counts in sorted(tally.by_repo.items())},
    }
