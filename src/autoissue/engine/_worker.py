"""The worker: claims queued items under the adaptive limit and works each one to the end.

::

    queue ──claim (room = limit - in flight)──▶ unit of work: lock, ledger ──▶ processor
      ▲                                                                  (inline, pool, command)
      │                                                                          │ Plan
      └── ack / nack ◀── flush: ledger, ack, unlock ◀── write-back ◀─────────────┘

A worker is bound to no repository: every item names its repository and processor, and the
worker handles any item whose processor it has. ``autoissue worker`` is a worker alone;
``autoissue run`` is an :class:`~autoissue.engine._intake.Intake` filling the queue beside
one. How many items are in flight is the adaptive controller's limit (or a forced
``concurrency``), capped by the GitHub governor; when the worker finishes is asked of the
queue and of the worker's clock, so tests drive the idle exit without waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from math import inf

from autoissue._clock import Clock, SystemClock
from autoissue.concurrency import (
    BALANCED,
    AdaptiveConcurrencyController,
    ControllerStatistics,
    LimitChange,
    ScalingHistoryStore,
    Strategy,
)
from autoissue.engine._dispatcher import ClaimCaps, Dispatcher
from autoissue.engine._handler import HandlerSetup, ItemHandler
from autoissue.engine._isolation import Planner, pool_summary
from autoissue.engine._reopen import HandOff
from autoissue.engine._summary import RunSummary, RunTally, concurrency_summary, tally_counts
from autoissue.engine._writeback import PlanWriter
from autoissue.github import GitHubClient
from autoissue.model import Plan
from autoissue.processors import Processor
from autoissue.queue import Queue
from autoissue.state import StateStore

__all__ = ["Observers", "Worker", "WorkerOptions"]

#: Whether something outside the worker still holds the run open (the listing, say).
Pending = Callable[[], bool]


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    """How a worker works.

    ``concurrency=None`` lets the controller choose by ``strategy``; ``concurrency=N``
    forces exactly N items in flight. The worker finishes once the queue has held nothing
    (waiting or leased by anyone) for ``idle_exit_s`` seconds of its clock. ``dry_run``
    saves plans instead of writing them; ``force`` writes what the ledger says is done;
    ``max_cost_usd`` stops new claims once the plans' reported costs reach it.
    """

    concurrency: int | None = None
    strategy: Strategy = BALANCED
    idle_exit_s: float = 0.0
    dry_run: bool = False
    force: bool = False
    max_cost_usd: float | None = None

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.idle_exit_s < 0:
            raise ValueError("idle_exit_s must not be negative")

    @property
    def adaptive(self) -> bool:
        """Whether the controller chooses the concurrency."""
        return self.concurrency is None


@dataclass(frozen=True, kw_only=True)
class Observers:
    """Who sees the work as it is done.

    ``plan_writer`` saves every plan (a dry run's file), ``on_plan`` sees each once applied
    or saved, ``on_progress`` the tally after every item.
    """

    plan_writer: PlanWriter | None = None
    on_plan: Callable[[Plan], None] | None = None
    on_progress: Callable[[RunTally], None] | None = None


class Worker:
    """Works what ``queue`` holds for ``processors``, through ``state``'s locks and ledger.

    ``tally`` is counted into (a run shares it with its intake); ``caps`` bounds how many
    items are started in all; ``controller`` replaces the one built from the options and
    ``history`` lets an adaptive worker start where the last one ended (it is saved on the
    way out); ``clock`` times the idle exit.
    """

    _stopping: str | None = None
    _idle_since = inf
    _started_when_idle = 0

    def __init__(
        self,
        client: GitHubClient,
        queue: Queue,
        state: StateStore,
        processors: Sequence[Processor],
        *,
        options: WorkerOptions | None = None,
        tally: RunTally | None = None,
        observers: Observers | None = None,
        caps: ClaimCaps | None = None,
        controller: AdaptiveConcurrencyController | None = None,
        history: ScalingHistoryStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.options = options or WorkerOptions()
        self.tally = tally or RunTally()
        self.queue, self.state, self._client = queue, state, client
        self._caps, self._clock = caps, clock or SystemClock()
        self._names = [processor.name for processor in processors]
        self.controller = controller or _build_controller(self.options, history)
        self.limit_peak = self.controller.limit
        self.controller.add_listener(self._on_limit)
        self.planner = Planner(limit=self.controller.limit)
        self.controller.add_listener(self.planner.on_limit_change)
        self.handler = ItemHandler(self._handler_setup((HandOff(), *processors), observers))
        self.claims_open = True
        self._dispatcher = Dispatcher(
            self.controller,
            queue,
            self.handler,
            cap=self._governor_cap if self.options.adaptive else None,
            paused=self._paused,
            caps=caps,
        )

    def _handler_setup(
        self, processors: Sequence[Processor], observers: Observers | None
    ) -> HandlerSetup:
        seen = observers or Observers()
        return HandlerSetup(
            client=self._client,
            queue=self.queue,
            state=self.state,
            tally=self.tally,
            processors={p.name: p for p in processors},
            owner=_owner(),
            lock_ttl_s=self.queue.lease_s,
            dry_run=self.options.dry_run,
            force=self.options.force,
            plan_writer=seen.plan_writer,
            on_plan=seen.on_plan,
            on_progress=seen.on_progress,
            planner=self.planner,
        )

    def __repr__(self) -> str:
        return (
            f"<Worker limit={self.controller.limit} in_flight={self._dispatcher.in_flight}"
            f" started={self._dispatcher.started} processed={self.tally.processed}>"
        )

    @property
    def stopping(self) -> str | None:
        """Why the worker stopped taking work (``None`` while it takes work)."""
        return self._stopping

    @property
    def started(self) -> int:
        """Items this worker has started."""
        return self._dispatcher.started

    def statistics(self) -> ControllerStatistics:
        """The controller's live snapshot: limit, in flight, latencies, drops, decisions."""
        return self.controller.statistics()

    def wake(self) -> None:
        """New work may be queued: look now rather than at the next poll."""
        self._dispatcher.wake()

    def open_claims(self) -> None:
        """Let claims begin (a run under a cap holds them until its shortlist is in)."""
        self.claims_open = True
        self._dispatcher.wake()

    def request_stop(self, reason: str = "stop requested") -> None:
        """Claim nothing more; :meth:`work` returns once what is in flight is settled."""
        self._stopping = reason
        self._dispatcher.wake()

    def over_budget(self) -> bool:
        """Whether new work is refused: a stop was requested, or the cost cap is reached."""
        cap = self.options.max_cost_usd
        return self._stopping is not None or (cap is not None and self.tally.cost_usd >= cap)

    async def work(self, pending: Pending | None = None) -> None:
        """Claim, process and settle until finished, then stop the pool and save what was learned.

        Finished means a stop was requested or the budget is spent, or else — once
        ``pending()`` (if given) says nothing else holds the run open — the caps are spent
        or the queue has been idle for ``idle_exit_s``.
        """
        controller = None
        if self.options.adaptive:
            controller = asyncio.create_task(self.controller.run())
        try:
            await self._dispatcher.run(functools.partial(self._drained, pending))
        finally:
            await self._stop(controller)

    async def run(self) -> RunSummary:
        """Work the queue alone (``autoissue worker``) until finished; return the summary."""
        names = ",".join(self._names)
        return await self.summarised(self.work(), repo="any repository", processor=names)

    async def summarised(self, body: Awaitable[None], *, repo: str, processor: str) -> RunSummary:
        """Await ``body`` (this worker's work, and whatever runs beside it), timed and counted."""
        started, before = time.perf_counter(), self._client.statistics()
        await body
        still_queued = (await self.queue.statistics()).unfinished
        seconds, after = time.perf_counter() - started, self._client.statistics()
        return RunSummary(
            **tally_counts(self.tally, still_queued),
            interrupted=self._stopping,
            repo=repo,
            processor=processor,
            dry_run=self.options.dry_run,
            api_calls=after.requests - before.requests,
            retries=after.retries - before.retries,
            seconds=seconds,
            concurrency=concurrency_summary(self.statistics(), self.limit_peak),
            pool=pool_summary(self.planner.statistics()),
        )

    async def cancel(self) -> None:
        """Cancel the items in flight; their leases expire and the items are retried."""
        await self._dispatcher.cancel()

    async def _stop(self, controller: asyncio.Task[None] | None) -> None:
        if controller is not None:
            controller.cancel()
            await asyncio.gather(controller, return_exceptions=True)
        await self._dispatcher.cancel()
        try:
            await self.planner.aclose()
        finally:
            if self.options.adaptive:
                # What was learned holds even if the run failed: the next one starts from it.
                with contextlib.suppress(OSError):
                    self.controller.save()

    async def _drained(self, pending: Pending | None) -> bool:
        if self.over_budget():
            return True
        if pending is not None and pending():
            return False
        if self._caps is not None and await self._caps.room() == 0:
            return True  # the cap is spent: what is still queued waits for a later run
        stats = await self.queue.statistics()
        now = self._clock.time()
        # Work started since the last look counts as activity, however fast it was done.
        if stats.unfinished or self._dispatcher.started != self._started_when_idle:
            self._idle_since = inf
            self._started_when_idle = self._dispatcher.started
        if stats.unfinished:
            return False
        self._idle_since = min(self._idle_since, now)
        return now - self._idle_since >= self.options.idle_exit_s

    def _paused(self) -> bool:
        """Whether nothing new is claimed now: over budget, or claims are held."""
        return not self.claims_open or self.over_budget()

    def _governor_cap(self) -> int:
        return self._client.governor.statistics().max_concurrent

    def _on_limit(self, change: LimitChange) -> None:
        self.limit_peak = max(self.limit_peak, change.new)


def _owner() -> str:
    """This worker's name in the issue locks: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _build_controller(
    options: WorkerOptions, history: ScalingHistoryStore | None
) -> AdaptiveConcurrencyController:
    if options.concurrency is not None:
        return AdaptiveConcurrencyController(strategy=Strategy.fixed(options.concurrency))
    return AdaptiveConcurrencyController(strategy=options.strategy, history=history)
