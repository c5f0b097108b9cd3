"""The engine: one run, from the issue list to results written back, through the durable queue.

::

    GitHub ──pages──▶ Intake ──put──▶ queue (durable, ──claim──▶ Worker ──▶ processor
                    (select, ledger,   bounded,           ▲ limit         │ Plan
                     reopens, caps)    by priority)        │               ▼
                      tally ◀───── ack / nack ◀────────── controller ◀── write-back (or plan file)

The queue is bounded, so a slow processor pushes back on the pager and memory stays flat
whatever the backlog; it is also durable (SQLite or Redis), so a run killed at any point is
resumed by the next one — or by ``autoissue worker`` processes on other machines, which claim
from the same queue. How many issues are in flight is the adaptive controller's limit: every
completion feeds it latency and outcome, and it never exceeds the GitHub governor's concurrency
cap. ``EngineOptions(concurrency=N)`` forces exactly N instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from autoissue.concurrency import (
    BALANCED,
    AdaptiveConcurrencyController,
    ControllerStatistics,
    ScalingHistoryStore,
    Strategy,
)
from autoissue.engine._caps import CAP_REACHED, RunCaps, Shortlist, in_turns
from autoissue.engine._intake import Intake, IntakeSetup, Pages, message_priority
from autoissue.engine._live import LiveIntake
from autoissue.engine._selector import Selector
from autoissue.engine._summary import RunSummary, RunTally
from autoissue.engine._worker import Observers, Worker, WorkerOptions
from autoissue.github import GitHubClient
from autoissue.processors import Noting, Processor
from autoissue.queue import DEFAULT_LEASE_S, MemoryQueue, Message, Queue
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
    all runs of this processor on these repositories, ``max_issues_per_repo`` those each
    repository's listing enqueues (its most urgent). ``force``
    processes issues the ledger says are done (their writes stay exactly-once: labels are
    idempotent, comments found by marker, pull requests by branch). ``max_cost_usd`` stops
    taking new work once the plans' reported costs reach it; what is queued waits for a
    later run. Listing pauses while the process's RSS is over ``rss_limit_mb`` (and resumes
    below 90% of it); ``None`` turns that off. ``watch_s``: once listed, the run goes on
    until stopped, sweeping every ``watch_s`` seconds for what changed since (``since``).
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
    max_issues_per_repo: int | None = None
    force: bool = False
    max_cost_usd: float | None = None
    rss_limit_mb: int | None = 1024
    watch_s: float | None = None

    def __post_init__(self) -> None:
        if self.state not in {"open", "closed", "all"}:
            raise ValueError("state must be open, closed or all")
        if self.backlog < 1:
            raise ValueError("backlog must be at least 1")
        if self.watch_s is not None and self.watch_s <= 0:
            raise ValueError("watch_s must be positive")
        self.worker_options()  # checks the worker's part

    def worker_options(self) -> WorkerOptions:
        """The part of these options the run's worker works by."""
        return WorkerOptions(
            concurrency=self.concurrency,
            strategy=self.strategy,
            idle_exit_s=self.idle_exit_s,
            dry_run=self.dry_run,
            force=self.force,
            max_cost_usd=self.max_cost_usd,
        )


class Engine:
    """``autoissue run``: an :class:`Intake` per repository filling ``queue``, a :class:`Worker`.

    ``repo`` is one repository or several: their intakes list at once into the one queue,
    which serves the repositories fairly inside each priority. ``queue`` and ``state``
    default to in-memory ones (one process, nothing kept); pass the durable ones of a
    :class:`~autoissue.backend.Backend` to make the run resumable and shareable (the caller
    closes them). ``processors`` are the other processors the worker can handle items for
    (items left by other runs). ``pages`` replaces the listing of the (one) repository.
    ``observers`` see every plan and the tally as they go. ``controller`` replaces the one
    built from the options; ``history`` lets an adaptive run start where the last one ended.
    """

    def __init__(
        self,
        client: GitHubClient,
        repo: str | Sequence[str],
        processor: Processor,
        *,
        options: EngineOptions | None = None,
        selector: Selector | None = None,
        observers: Observers | None = None,
        controller: AdaptiveConcurrencyController | None = None,
        history: ScalingHistoryStore | None = None,
        pages: Pages | None = None,
        queue: Queue | None = None,
        state: StateStore | None = None,
        processors: Sequence[Processor] = (),
    ) -> None:
        self.options = options or EngineOptions()
        self.tally = RunTally()
        self._client, self._processor = client, processor
        self._repos = _repositories(repo, pages)
        self.queue = queue or _memory_queue(self.options)
        self.state = state or MemoryStateStore()
        self._caps = _caps(self.state, self._repos, processor, self.options)
        # Several repositories under a run cap share it: their shortlists are merged.
        self._merged = self._caps.active and len(self._repos) > 1
        self._room: int | None = None
        self.worker = self._worker((*processors, processor), observers, controller, history)
        selector = selector or Selector(processor)
        self._intakes = [Intake(self._intake_setup(r, selector, pages)) for r in self._repos]
        self._live = self._watcher(selector)

    def _worker(
        self,
        processors: Sequence[Processor],
        observers: Observers | None,
        controller: AdaptiveConcurrencyController | None,
        history: ScalingHistoryStore | None,
    ) -> Worker:
        worker = Worker(
            self._client,
            self.queue,
            self.state,
            processors,
            options=self.options.worker_options(),
            tally=self.tally,
            observers=observers,
            caps=self._caps,
            controller=controller,
            history=history,
        )
        # Under a cap, claims wait for the whole listing (see _produce).
        worker.claims_open = not self._caps.active
        return worker

    def _watcher(self, selector: Selector) -> LiveIntake:
        """The sweeps of a run that watches (``watch_s``), through the run's selector."""
        return LiveIntake(
            self._client,
            self.queue,
            self.state,
            [self._processor],
            tally=self.tally,
            on_enqueued=self._on_enqueued,
            repos=self._repos,
            dry_run=self.options.dry_run,
            selector=lambda _: selector,
        )

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
            refuse=self.worker.over_budget,
            on_enqueued=self._on_enqueued,
            on_listed=(lambda: None) if self._merged else self.worker.open_claims,
            pages=pages,
            listing_state=options.state,
            per_page=options.per_page,
            force=options.force,
            dry_run=options.dry_run,
            watermark=_watermark(options),
        )

    def __repr__(self) -> str:
        tally = self.tally
        return (
            f"<Engine {self.repos} {self._processor.name} done={tally.done}/{tally.listed}"
            f" {self.worker!r}>"
        )

    @property
    def repos(self) -> str:
        """The repositories of the run, as the summary names them."""
        return ", ".join(self._repos)

    def statistics(self) -> ControllerStatistics:
        """The controller's live snapshot: limit, in flight, latencies, drops, decisions."""
        return self.worker.statistics()

    async def run(self) -> RunSummary:
        """List and enqueue, then claim, process and write back until the queue is drained."""
        summary = await self.worker.summarised(
            self._both(), repo=self.repos, processor=self._processor.name
        )
        notes = self._processor.notes() if isinstance(self._processor, Noting) else []
        return dataclasses.replace(summary, notes=notes)

    async def _both(self) -> None:
        await self._begin()
        intake = asyncio.create_task(self._produce())
        worker = asyncio.create_task(self.worker.work(self._listing))
        try:
            # The worker ends the run; the intake may end first (its listing done) or never
            # (a watching run), and its failure ends the run at once.
            done, _ = await asyncio.wait((intake, worker), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            await worker
        finally:
            for task in (intake, worker):
                task.cancel()
            await self.worker.cancel()
            await asyncio.gather(intake, worker, return_exceptions=True)

    async def _begin(self) -> None:
        """Note what earlier runs left queued; under a cap, make room for the shortlists."""
        self.tally.queued_before = (await self.queue.statistics()).unfinished
        if self._caps.active:
            self._room = await self._caps.room() or 0
        size = _smallest(self._room, self.options.max_issues_per_repo)
        if size is not None:
            for intake in self._intakes:
                intake.shortlist(size, deferred=self._merged)

    async def _produce(self) -> None:
        """List and enqueue (see :class:`Intake`); under a cap, claims begin once it is done."""
        began = time.time()
        await asyncio.gather(*(intake.run() for intake in self._intakes))
        # Under a cap, claims wait for the whole listing; then they must start before the
        # shortlist is put, or a shortlist longer than the queue's room would never fit.
        self.worker.open_claims()
        if self._merged:
            await self._enqueue_merged(self._room or 0)
        if self.options.watch_s is not None:
            await self._watch(began, self.options.watch_s)

    async def _watch(self, began: float, every_s: float) -> None:
        """Sweep for what changed since the listing began, every ``every_s``, until stopped."""
        for repo in self._repos:
            await self._live.mark_swept(repo, began)
        await asyncio.sleep(every_s)
        await self._live.sweep_forever(every_s)

    async def _enqueue_merged(self, room: int) -> None:
        """The most urgent of all the repositories' shortlists, taken in turns on a tie."""
        lists = [intake.take_shortlist() for intake in self._intakes]
        merged: Shortlist[Message] = Shortlist(room, message_priority)
        merged.offer(in_turns(lists))
        self.tally.skipped[CAP_REACHED] += merged.dropped
        kept = {id(message) for message in merged.take()}
        for intake, messages in zip(self._intakes, lists, strict=True):
            # Each intake puts its own, so that each repository's line counts them.
            await intake.enqueue([message for message in messages if id(message) in kept])

    def _listing(self) -> bool:
        watching = self.options.watch_s is not None
        return watching or not all(intake.done for intake in self._intakes)

    def _on_enqueued(self) -> None:
        self.worker.wake()
        callback = self.worker.handler.setup.on_progress
        if callback is not None:
            callback(self.tally)

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop taking new work; the run ends once the issues in flight are done and settled.

        What was not claimed stays queued, and what was not listed is listed again, by the
        next run: a first Ctrl-C or SIGTERM calls this, with the signal's name as ``reason``
        (the summary's ``interrupted``).
        """
        for intake in self._intakes:
            intake.stop()
        self.worker.request_stop(reason)


def _watermark(options: EngineOptions) -> RssWatermark | None:
    if options.rss_limit_mb is None:
        return None
    return RssWatermark(high=options.rss_limit_mb * 2**20)


def _caps(
    state: StateStore, repos: Sequence[str], processor: Processor, options: EngineOptions
) -> RunCaps:
    scope = f"{'+'.join(sorted(repos))}:{processor.name}"
    return RunCaps(state, scope, per_run=options.max_issues, per_hour=options.max_issues_per_hour)


def _repositories(repo: str | Sequence[str], pages: Pages | None) -> tuple[str, ...]:
    repos = (repo,) if isinstance(repo, str) else tuple(dict.fromkeys(repo))
    if not repos:
        raise ValueError("a run needs at least one repository")
    if pages is not None and len(repos) > 1:
        raise ValueError("pages replace the listing of one repository, not several")
    return repos


def _smallest(*sizes: int | None) -> int | None:
    given = [size for size in sizes if size is not None]
    return min(given) if given else None


def _memory_queue(options: EngineOptions) -> MemoryQueue:
    return MemoryQueue(max_depth=options.backlog, lease_s=options.lease_s)
