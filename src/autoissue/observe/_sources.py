"""What a run exposes to be watched, and one frozen reading of all of it at once.

::

    GitHub client ── statistics() ─────┐
      └ governor ─── statistics() ─────┤
    controller ───── statistics() ─────┤
    run tally ────── counts ───────────┼──▶ Sources.read() ──▶ Reading ──▶ metrics, dashboard,
    queue ────────── await statistics()┤                                   timeline, report
    process pool ─── statistics() ─────┤
    webhook receiver statistics() ─────┤
    sweeps ───────── counts ───────────┤
    this process ─── psutil ───────────┘

Every figure comes from a component's own ``statistics()`` snapshot, read when asked for (a
scrape, a dashboard tick): nothing here counts anything a second time. Sources are
registered as they come to exist (the engine after the client), and a source that was never
registered is simply absent from the reading.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import psutil

from autoissue._exceptions import PoolError
from autoissue.concurrency import ControllerStatistics
from autoissue.engine import RunTally
from autoissue.github import ClientStatistics, GovernorStatistics
from autoissue.pool import PoolStatistics
from autoissue.queue import QueueStatistics
from autoissue.serve import WebhookStatistics

__all__ = [
    "ClientSource",
    "ControllerSource",
    "GovernorSource",
    "PoolSource",
    "ProcessStatistics",
    "QueueSource",
    "Reading",
    "Sources",
    "TallySnapshot",
    "WebhookSource",
]


class GovernorSource(Protocol):
    """The GitHub rate-limit governor, as far as it is watched."""

    def statistics(self) -> GovernorStatistics:
        """Mode, concurrency, budgets and waits."""
        ...


class ClientSource(Protocol):
    """A GitHub client (:class:`~autoissue.github.GitHubClient`) with its governor."""

    @property
    def governor(self) -> GovernorSource:
        """The governor pacing the client's requests."""
        ...

    def statistics(self) -> ClientStatistics:
        """Requests, answers, retries and latency by endpoint."""
        ...


class ControllerSource(Protocol):
    """The adaptive concurrency controller, or the engine that owns one."""

    def statistics(self) -> ControllerStatistics:
        """Limit, in flight, latencies and decisions."""
        ...


class QueueSource(Protocol):
    """A durable queue (:class:`~autoissue.queue.Queue`): its backlog may need I/O to read."""

    async def statistics(self) -> QueueStatistics:
        """Depth by priority, leases, retries and dead letters."""
        ...


class PoolSource(Protocol):
    """A warm process pool (:class:`~autoissue.pool.WarmPool`), or what may start one."""

    def statistics(self) -> PoolStatistics | None:
        """Workers by state, task counts, recycles and crashes (``None``: no pool yet)."""
        ...


class WebhookSource(Protocol):
    """A webhook receiver (:class:`~autoissue.serve.WebhookReceiver`)."""

    def statistics(self) -> WebhookStatistics:
        """Deliveries received, and what became of them."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TallySnapshot:
    """A run tally's counts, frozen: the tally itself keeps moving."""

    listed: int = 0
    processed: int = 0
    failed: int = 0
    writes: int = 0
    skipped: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    enqueued: int = 0
    queued_before: int = 0
    shortlisted: int = 0

    @classmethod
    def of(cls, tally: RunTally) -> TallySnapshot:
        """Freeze ``tally``'s counts."""
        return cls(
            listed=tally.listed,
            processed=tally.processed,
            failed=tally.failed,
            writes=tally.writes,
            skipped=MappingProxyType(dict(tally.skipped)),
            enqueued=tally.enqueued,
            queued_before=tally.queued_before,
            shortlisted=tally.shortlisted,
        )

    @property
    def done(self) -> int:
        """Items whose outcome is known."""
        return self.processed + self.failed + sum(self.skipped.values())


@dataclass(frozen=True, slots=True)
class ProcessStatistics:
    """This process's resident memory and the CPU time it has used."""

    rss_bytes: int
    cpu_seconds: float

    @classmethod
    def of(cls, process: psutil.Process) -> ProcessStatistics:
        """Read ``process`` now."""
        with process.oneshot():
            times = process.cpu_times()
            return cls(process.memory_info().rss, times.user + times.system)


@dataclass(frozen=True, kw_only=True)
class Reading:
    """Every registered source's snapshot, read at one moment.

    ``at`` is ``time.monotonic()`` (for rates), ``wall`` the epoch time (for people);
    ``labels`` are the run's fixed descriptions (repository, processor); ``sweeps`` counts
    the sweeps of each repository that listed to the end.
    """

    at: float
    wall: float
    process: ProcessStatistics
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tally: TallySnapshot | None = None
    client: ClientStatistics | None = None
    governor: GovernorStatistics | None = None
    controller: ControllerStatistics | None = None
    queue: QueueStatistics | None = None
    pool: PoolStatistics | None = None
    webhooks: WebhookStatistics | None = None
    sweeps: Mapping[str, int] | None = None


class Sources:
    """The live components a run has registered so far; :meth:`read` snapshots them all.

    ``labels`` describe the run (e.g. ``repo``, ``processor``): a few fixed values, never
    issue numbers or URLs, since metrics carry them as labels. ``sweeps`` is a live count of
    sweeps by repository (its keys become labels too), copied at each reading.
    """

    def __init__(
        self,
        *,
        client: ClientSource | None = None,
        controller: ControllerSource | None = None,
        tally: RunTally | None = None,
        queue: QueueSource | None = None,
        pool: PoolSource | None = None,
        webhooks: WebhookSource | None = None,
        sweeps: Mapping[str, int] | None = None,
        labels: Mapping[str, str] | None = None,
        process: psutil.Process | None = None,
    ) -> None:
        self.client, self.controller, self.tally = client, controller, tally
        self.queue, self.pool = queue, pool
        self.webhooks, self.sweeps = webhooks, sweeps
        self.labels: Mapping[str, str] = MappingProxyType(dict(labels or {}))
        self._process = process or psutil.Process()

    def __repr__(self) -> str:
        names = ("client", "controller", "tally", "queue", "pool", "webhooks", "sweeps")
        watched = [name for name in names if getattr(self, name) is not None]
        return f"<Sources {' '.join(watched) or 'none'}>"

    async def read(self) -> Reading:
        """Snapshot every registered source now (the queue's backlog may take an await)."""
        client = self.client
        return Reading(
            at=time.monotonic(),
            wall=time.time(),
            process=ProcessStatistics.of(self._process),
            labels=self.labels,
            tally=None if self.tally is None else TallySnapshot.of(self.tally),
            client=None if client is None else client.statistics(),
            governor=None if client is None else client.governor.statistics(),
            controller=None if self.controller is None else self.controller.statistics(),
            queue=None if self.queue is None else await self.queue.statistics(),
            pool=self._pool_statistics(),
            webhooks=None if self.webhooks is None else self.webhooks.statistics(),
            sweeps=None if self.sweeps is None else MappingProxyType(dict(self.sweeps)),
        )

    def _pool_statistics(self) -> PoolStatistics | None:
        if self.pool is None:
            return None
        try:
            return self.pool.statistics()
        except PoolError:  # not started yet, or already closed: nothing to report
            return None
