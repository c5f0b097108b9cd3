"""The engine: one run, from the issue list to results written back.

::

    GitHub ──pages──▶ selector ──admit──▶ work queue ──▶ dispatcher ──task──▶ processor
                        │ skip          (bounded)          ▲ limit          │ Plan
                        ▼                                  │                ▼
                      tally ◀───── outcome ◀───────── controller ◀── write-back (or plan file)

The work queue is bounded, so a slow processor pushes back on the pager and memory stays
flat whatever the backlog. How many issues are in flight is the adaptive controller's limit:
every completion feeds it latency and outcome, its background task samples CPU and memory
and refits the scaling predictor, and it never exceeds the GitHub governor's concurrency cap.
``EngineOptions(concurrency=N)`` forces exactly N instead (a sweep, a test, a cautious user).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass

from autoissue.concurrency import (
    BALANCED,
    AdaptiveConcurrencyController,
    ControllerStatistics,
    LimitChange,
    ScalingHistoryStore,
    Strategy,
)
from autoissue.engine._dispatcher import Dispatcher
from autoissue.engine._selector import Selector
from autoissue.engine._summary import RunSummary, RunTally, concurrency_summary
from autoissue.engine._writeback import PlanWriter, WriteBack
from autoissue.github import ClientStatistics, GitHubClient
from autoissue.model import Issue, Plan
from autoissue.processors import ProcessContext, Processor, ReadOnlyGitHub

logger = logging.getLogger(__name__)

Pages = AsyncIterable[Sequence[Issue]]


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """How a run goes: which ``state`` to list, dry or not, and how much runs at once.

    ``concurrency=None`` (the default) lets the controller choose, by ``strategy``;
    ``concurrency=N`` forces exactly N issues in flight, learned from nothing and capped by
    nothing but N (the governor still caps the requests they send). ``backlog`` bounds the
    work queue between the pager and the dispatcher.
    """

    concurrency: int | None = None
    strategy: Strategy = BALANCED
    state: str = "open"
    dry_run: bool = False
    per_page: int = 100
    backlog: int = 512

    def __post_init__(self) -> None:
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.state not in {"open", "closed", "all"}:
            raise ValueError("state must be open, closed or all")
        if self.backlog < 1:
            raise ValueError("backlog must be at least 1")

    @property
    def adaptive(self) -> bool:
        """Whether the controller chooses the concurrency."""
        return self.concurrency is None


class Engine:
    """Runs one processor over one repository's issues.

    ``on_plan`` sees every plan once it is applied (or saved, on a dry run);
    ``on_progress`` sees the tally after every item. ``controller`` replaces the one built from
    the options (to inject a clock or a resource sampler); ``history`` lets an adaptive run
    start where the last one ended; ``pages`` replaces the repository's issue list.
    """

    def __init__(
        self,
        client: GitHubClient,
        repo: str,
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
    ) -> None:
        self.options = options or EngineOptions()
        self.tally = RunTally()
        self._client, self._repo, self._processor = client, repo, processor
        self._selector = selector or Selector(processor)
        self._writeback = WriteBack(client)
        self._plan_writer = plan_writer
        self._context = ProcessContext(repo=repo, github=ReadOnlyGitHub(client))
        self._on_plan, self._on_progress = on_plan, on_progress
        self._pages = pages
        self.controller = controller or _build_controller(self.options, history)
        self.limit_peak = self.controller.limit
        self.controller.add_listener(self._on_limit)
        cap = self._governor_cap if self.options.adaptive else None
        self._dispatcher = Dispatcher(self.controller, self._handle, cap=cap)

    def __repr__(self) -> str:
        tally = self.tally
        return (
            f"<Engine {self._repo} {self._processor.name} done={tally.done}/{tally.listed}"
            f" limit={self.controller.limit} in_flight={self._dispatcher.in_flight}>"
        )

    def statistics(self) -> ControllerStatistics:
        """The controller's live snapshot: limit, in flight, latencies, drops, decisions."""
        return self.controller.statistics()

    async def run(self) -> RunSummary:
        """List, select, process and write back every issue; returns the summary."""
        started = time.perf_counter()
        before = self._client.statistics()
        queue: asyncio.Queue[Issue | None] = asyncio.Queue(maxsize=self.options.backlog)
        tasks = [
            asyncio.create_task(self._produce(queue)),
            asyncio.create_task(self._dispatcher.run(queue)),
        ]
        if self.options.adaptive:
            tasks.append(asyncio.create_task(self.controller.run()))
        try:
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_EXCEPTION)
            for task in tasks[:2]:
                if task.done():
                    task.result()  # the first failure (a listing error) ends the run with it
        finally:
            await self._stop(tasks)
        return self._summary(time.perf_counter() - started, before, self._client.statistics())

    async def _stop(self, tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await self._dispatcher.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.options.adaptive:
            # What was learned holds even if the run failed: the next one starts from it.
            with contextlib.suppress(OSError):
                self.controller.save()

    async def _produce(self, queue: asyncio.Queue[Issue | None]) -> None:
        pages = self._pages or self._client.iter_issue_pages(
            self._repo, state=self.options.state, per_page=self.options.per_page
        )
        async for page in pages:
            self.tally.listed += len(page)
            for issue in page:
                decision = self._selector.decide(issue)
                if decision.admitted:
                    await queue.put(issue)
                else:
                    self.tally.skip(decision.reason)
                    self._progress()
        await queue.put(None)

    async def _handle(self, issue: Issue) -> BaseException | None:
        try:
            plan = await self._processor.process(issue, self._context)
            if self._plan_writer is not None:
                self._plan_writer.write(plan)
            # Await first, then add: ``x += await f()`` reads x before the await and
            # loses the other tasks' updates.
            writes = 0 if self.options.dry_run else await self._writeback.apply(plan)
        except Exception as error:  # noqa: BLE001 - one bad issue must not stop the run
            logger.warning("issue #%d failed: %s", issue.number, error)
            self.tally.fail(issue.number, error)
            self._progress()
            return error
        self.tally.processed += 1
        self.tally.writes += writes
        if self._on_plan is not None:
            self._on_plan(plan)
        self._progress()
        return None

    def _governor_cap(self) -> int:
        return self._client.governor.statistics().max_concurrent

    def _on_limit(self, change: LimitChange) -> None:
        self.limit_peak = max(self.limit_peak, change.new)

    def _progress(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.tally)

    def _summary(
        self, seconds: float, before: ClientStatistics, after: ClientStatistics
    ) -> RunSummary:
        tally = self.tally
        return RunSummary(
            repo=self._repo,
            processor=self._processor.name,
            dry_run=self.options.dry_run,
            listed=tally.listed,
            processed=tally.processed,
            skipped=dict(tally.skipped),
            failed=tally.failed,
            writes=tally.writes,
            api_calls=after.requests - before.requests,
            retries=after.retries - before.retries,
            seconds=seconds,
            failures=list(tally.failures),
            concurrency=concurrency_summary(self.statistics(), self.limit_peak),
        )


def _build_controller(
    options: EngineOptions, history: ScalingHistoryStore | None
) -> AdaptiveConcurrencyController:
    if options.concurrency is not None:
        return AdaptiveConcurrencyController(strategy=Strategy.fixed(options.concurrency))
    return AdaptiveConcurrencyController(strategy=options.strategy, history=history)
