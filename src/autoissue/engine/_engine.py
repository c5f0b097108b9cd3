"""The engine: one run, from the issue list to results written back, through the durable queue.

::

    GitHub ──pages──▶ Intake ──put──▶ queue (durable, ──claim──▶ dispatcher ──task──▶ processor
                    (select, ledger,   bounded,            ▲ limit          │ Plan
                     reopens, caps)    by priority)         │                ▼
                      tally ◀───── ack / nack ◀─────────── controller ◀── write-back (or plan file)

The queue is bounded, so a slow processor pushes back on the pager and memory stays flat
whatever the backlog; it is also durable (SQLite or Redis), so a run killed at any point is
resumed by the next one — or by ``autoissue worker`` processes on other machines, which claim
from the same queue. How many issues are in flight is the adaptive controller's limit: every
completion feeds it latency and outcome, and it never exceeds the GitHub governor's concurrency
cap. ``EngineOptions(concurrency=N)`` forces exactly N instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import inf
from typing import Any

from autoissue.concurrency import (
    BALANCED,
    AdaptiveConcurrencyController,
    ControllerStatistics,
    LimitChange,
    ScalingHistoryStore,
    Strategy,
)
from autoissue.engine._caps import RunCaps
from autoissue.engine._dispatcher import Dispatcher
from autoissue.engine._handler import HandlerSetup, ItemHandler
from autoissue.engine._intake import Intake, IntakeSetup, Pages
from autoissue.engine._isolation import Planner, pool_summary
from autoissue.engine._reopen import HandOff
from autoissue.engine._selector import Selector
from autoissue.engine._summary import RunSummary, RunTally, concurrency_summary
from autoissue.engine._writeback import PlanWriter
from autoissue.github import ClientStatistics, GitHubClient
from autoissue.model import Plan
from autoissue.processors import Noting, Processor
from autoissue.queue import DEFAULT_LEASE_S, MemoryQueue, Queue
from autoissue.state import MemoryStateStore, StateStore
from autoissue.stream import RssWatermark

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """How a run goes: which ``state`` to list, dry or not, and how much runs at once.

    ``concurrency=None`` (the default) lets the controller choose, by ``strategy``;
    ``concurrency=N`` forces exactly N issues in flight, learned from nothing and capped by
    nothing but N (the governor still caps the requests they send). ``backlog`` bounds the
    in-memory queue's depth (a durable queue has its own ``max_depth``); ``lease_s`` is the
    in-memory queue's lease. Once the list is enqueued, the run ends when the queue has been
    empty (nothing waiting, nothing leased by anyone) for ``idle_exit_s`` seconds.
    ``max_issues`` caps the issues this run starts (the most urgent of the listing and of
    what earlier runs left queued), ``max_issues_per_hour`` those started per clock hour by
    all runs of this processor on this repository. ``force``
    processes issues the ledger says are done (their writes stay exactly-once: labels are
    idempotent, comments found by marker, pull requests by branch). ``max_cost_usd`` stops
    taking new work once the plans' reported costs reach it; what is queued waits for a
    later run. Listing pauses while the process's RSS is over ``rss_limit_mb`` (and resumes
    below 90% of it); ``None`` turns that off.
    """

    concurrency: int | None = None
    strategy: Strategy = BALANCED
    state: str = "open"
    dry_run: bool = False
    per_page: int = 100
    backlog: int = 512
    lease_s: float = DEFAULT_LEASE_S
    idle_exit_s: float = 0.0
    max_issues: int | None = None
    max_issues_per_hour: int | None = None
    force: bool = False
    max_cost_usd: float | None = None
    rss_limit_mb: int | None = 1024

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.state not in {"open", "closed", "all"}:
            raise ValueError("state must be open, closed or all")
        if self.backlog < 1:
            raise ValueError("backlog must be at least 1")
        if self.idle_exit_s < 0:
            raise ValueError("idle_exit_s must not be negative")

    @property
    def adaptive(self) -> bool:
        """Whether the controller chooses the concurrency."""
        return self.concurrency is None


class Engine:
    """Runs one processor over one repository's issues, through ``queue`` and ``state``.

    ``queue`` and ``state`` default to in-memory ones (one process, nothing kept); pass the
    durable ones from :func:`~autoissue.queue.open_queue` / :func:`~autoissue.state.open_state`
    to make the run resumable and shareable (the caller closes them). ``processors`` are the
    other processors this engine can handle items for (items left by other runs). ``pages``
    replaces the repository's issue list. ``repo=None`` makes the engine a worker bound to no
    repository: it lists nothing and works whatever the queue holds, each item naming its
    repository and processor. ``on_plan`` sees every plan once applied (or saved, on a dry
    run); ``on_progress`` the tally after every item.
    ``controller`` replaces the one built from the options; ``history`` lets an adaptive run
    start where the last one ended.
    """

    _stopping: str | None = None
    _idle_since = inf

    def __init__(
        self,
        client: GitHubClient,
        repo: str | None,
        processor: Processor,
        *,
        options: EngineOptions | None = None,
        selector: Selector | None = None,
        plan_writer: PlanWriter | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        on_progress: Callable[[RunTally], None] | None = None,
        controller: AdaptiveConcurrencyController | None = None,
        history: ScalingHistoryStore | None = None,
        pages: Pages | None = None,
        queue: Queue | None = None,
        state: StateStore | None = None,
        processors: Sequence[Processor] = (),
    ) -> None:
        self.options = options or EngineOptions()
        self.tally = RunTally()
        self._client, self._repo, self._processor = client, repo, processor
        self.queue = queue or _memory_queue(self.options)
        self.state = state or MemoryStateStore()
        self._caps = _caps(self.state, repo or "", processor, self.options)
        self._intake = None
        if repo is not None:
            self._intake = Intake(self._intake_setup(repo, selector or Selector(processor), pages))
        self.controller = controller or _build_controller(self.options, history)
        self.limit_peak = self.controller.limit
        self.controller.add_listener(self._on_limit)
        self.planner = self._planner()
        self.handler = ItemHandler(
            self._handler_setup(
                (HandOff(), *processors, processor), plan_writer, on_plan, on_progress
            )
        )
        self._claiming = not self._caps.active  # under a cap, claims wait for the shortlist
        self._dispatcher = self._build_dispatcher()

    def _intake_setup(self, repo: str, selector: Selector, pages: Pages | None) -> IntakeSetup:
        options = self.options
        return IntakeSetup(
            client=self._client,
            repo=repo,
            processor=self._processor,
            queue=self.queue,
            state=self.state,
            tally=self.tally,
            selector=selector,
            refuse=self._over_budget,
            on_enqueued=self._on_enqueued,
            on_listed=self._start_claiming,
            pages=pages,
            listing_state=options.state,
            per_page=options.per_page,
            force=options.force,
            dry_run=options.dry_run,
            watermark=_watermark(options),
        )

    def _planner(self) -> Planner:
        # Pooled work runs in as many warm workers as the controller's limit allows.
        planner = Planner(limit=self.controller.limit)
        self.controller.add_listener(planner.on_limit_change)
        return planner

    def _handler_setup(
        self,
        processors: Sequence[Processor],
        plan_writer: PlanWriter | None,
        on_plan: Callable[[Plan], None] | None,
        on_progress: Callable[[RunTally], None] | None,
    ) -> HandlerSetup:
        options = self.options
        return HandlerSetup(
            client=self._client,
            queue=self.queue,
            state=self.state,
            tally=self.tally,
            processors={p.name: p for p in processors},
            owner=_owner(),
            lock_ttl_s=self.queue.lease_s,
            dry_run=options.dry_run,
            force=options.force,
            plan_writer=plan_writer,
            on_plan=on_plan,
            on_progress=on_progress,
            planner=self.planner,
        )

    def _build_dispatcher(self) -> Dispatcher:
        cap = self._governor_cap if self.options.adaptive else None
        return Dispatcher(
            self.controller, self.queue, self.handler, cap=cap, paused=self._paused, caps=self._caps
        )

    def __repr__(self) -> str:
        tally = self.tally
        return (
            f"<Engine {self._repo or 'any repository'} {self._processor.name}"
            f" done={tally.done}/{tally.listed}"
            f" limit={self.controller.limit} in_flight={self._dispatcher.in_flight}>"
        )

    def statistics(self) -> ControllerStatistics:
        """The controller's live snapshot: limit, in flight, latencies, drops, decisions."""
        return self.controller.statistics()

    async def run(self) -> RunSummary:
        """List and enqueue, then claim, process and write back until the queue is drained."""
        started = time.perf_counter()
        before = self._client.statistics()
        await self._begin()
        tasks = [
            asyncio.create_task(self._produce()),
            asyncio.create_task(self._dispatcher.run(self._drained)),
        ]
        if self.options.adaptive:
            tasks.append(asyncio.create_task(self.controller.run()))
        try:
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_EXCEPTION)
            for task in tasks[:2]:
                if task.done():
                    task.result()  # the first failure (listing, the backend) ends the run
            await tasks[1]
        finally:
            await self._stop(tasks)
        still_queued = (await self.queue.statistics()).unfinished
        seconds, after = time.perf_counter() - started, self._client.statistics()
        return self._summary(seconds, before, after, still_queued)

    async def _begin(self) -> None:
        """Note what earlier runs left queued; under a cap, make room for the shortlist."""
        self.tally.queued_before = (await self.queue.statistics()).unfinished
        if self._caps.active and self._intake is not None:
            self._intake.shortlist(await self._caps.room() or 0)

    async def _stop(self, tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await self._dispatcher.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self.planner.aclose()
        finally:
            if self.options.adaptive:
                # What was learned holds even if the run failed: the next one starts from it.
                with contextlib.suppress(OSError):
                    self.controller.save()

    async def _produce(self) -> None:
        """List and enqueue (see :class:`Intake`); under a cap, claims begin once it is done."""
        if self._intake is not None:
            await self._intake.run()
        self._start_claiming()

    def _start_claiming(self) -> None:
        # Under a cap, claims wait for the whole listing; then they must start before the
        # shortlist is put, or a shortlist longer than the queue's room would never fit.
        self._claiming = True
        self._dispatcher.wake()

    def _on_enqueued(self) -> None:
        self._dispatcher.wake()
        self._progress()

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop taking new work; the run ends once the issues in flight are done and settled.

        What was not claimed stays queued, and what was not listed is listed again, by the
        next run: a first Ctrl-C or SIGTERM calls this, with the signal's name as ``reason``
        (the summary's ``interrupted``).
        """
        self._stopping = reason
        if self._intake is not None:
            self._intake.stop()
        self._dispatcher.wake()

    def _paused(self) -> bool:
        """Whether nothing new is claimed now: over budget, or a cap's shortlist is not in."""
        return not self._claiming or self._over_budget()

    def _over_budget(self) -> bool:
        """Whether new work is refused: a stop was requested, or the cost cap is reached."""
        cap = self.options.max_cost_usd
        return self._stopping is not None or (cap is not None and self.tally.cost_usd >= cap)

    async def _drained(self) -> bool:
        if self._over_budget():
            return True
        if self._intake is not None and not self._intake.done:
            return False
        if await self._caps.room() == 0:
            return True  # the cap is spent: what is still queued waits for a later run
        stats = await self.queue.statistics()
        now = time.monotonic()
        if stats.unfinished:
            self._idle_since = inf
            return False
        self._idle_since = min(self._idle_since, now)
        return now - self._idle_since >= self.options.idle_exit_s

    def _governor_cap(self) -> int:
        return self._client.governor.statistics().max_concurrent

    def _on_limit(self, change: LimitChange) -> None:
        self.limit_peak = max(self.limit_peak, change.new)

    def _progress(self) -> None:
        callback = self.handler.setup.on_progress
        if callback is not None:
            callback(self.tally)

    def _summary(
        self, seconds: float, before: ClientStatistics, after: ClientStatistics, still_queued: int
    ) -> RunSummary:
        return RunSummary(
            **_queue_counts(self.tally, still_queued),
            **_outcome_counts(self.tally),
            interrupted=self._stopping,
            repo=self._repo or "any repository",
            processor=self._processor.name,
            dry_run=self.options.dry_run,
            api_calls=after.requests - before.requests,
            retries=after.retries - before.retries,
            seconds=seconds,
            concurrency=concurrency_summary(self.statistics(), self.limit_peak),
            pool=pool_summary(self.planner.statistics()),
            notes=self._processor.notes() if isinstance(self._processor, Noting) else [],
        )


def _outcome_counts(tally: RunTally) -> dict[str, Any]:
    # What happened to the items, as the tally counted it while the run went.
    return {
        "listed": tally.listed,
        "processed": tally.processed,
        "skipped": dict(tally.skipped),
        "failed": tally.failed,
        "writes": tally.writes,
        "requeued": tally.requeued,
        "cost_usd": round(tally.cost_usd, 4),
        "failures": list(tally.failures),
        "outcomes": dict(tally.outcomes),
    }


def _watermark(options: EngineOptions) -> RssWatermark | None:
    if options.rss_limit_mb is None:
        return None
    return RssWatermark(high=options.rss_limit_mb * 2**20)


def _queue_counts(tally: RunTally, still_queued: int) -> dict[str, Any]:
    """The summary's queue side: what was there, what came, what needed nothing, what is left."""
    return {
        "enqueued": tally.enqueued,
        "queued_before": tally.queued_before,
        "skipped_at_work": tally.skipped_at_work,
        "still_queued": still_queued,
    }


def _caps(state: StateStore, repo: str, processor: Processor, options: EngineOptions) -> RunCaps:
    scope = f"{repo}:{processor.name}"
    return RunCaps(state, scope, per_run=options.max_issues, per_hour=options.max_issues_per_hour)


def _memory_queue(options: EngineOptions) -> MemoryQueue:
    return MemoryQueue(max_depth=options.backlog, lease_s=options.lease_s)


def _owner() -> str:
    """This worker's name in the issue locks: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _build_controller(
    options: EngineOptions, history: ScalingHistoryStore | None
) -> AdaptiveConcurrencyController:
    if options.concurrency is not None:
        return AdaptiveConcurrencyController(strategy=Strategy.fixed(options.concurrency))
    return AdaptiveConcurrencyController(strategy=options.strategy, history=history)
