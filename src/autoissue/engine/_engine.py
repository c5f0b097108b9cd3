"""The engine: one run, from the issue list to results written back.

::

    GitHub ──pages──▶ source ──▶ selector ──admit──▶ work queue ──▶ N workers ──▶ processor
                                    │ skip           (bounded)                      │ Plan
                                    ▼                                               ▼
                                  tally ◀──────────── outcome ◀──────── write-back (or plan file)

The work queue is bounded, so a slow processor pushes back on the pager and memory stays
flat whatever the backlog. Concurrency is fixed here; the adaptive limiter, durable queue
and process pool plug in at the same seams.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from autoissue.engine._selector import Selector
from autoissue.engine._summary import RunSummary, RunTally
from autoissue.engine._writeback import PlanWriter, WriteBack
from autoissue.github import ClientStatistics, GitHubClient
from autoissue.model import Issue, Plan
from autoissue.processors import ProcessContext, Processor, ReadOnlyGitHub

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """How a run goes: ``concurrency`` issues in flight, which ``state`` to list, dry or not."""

    concurrency: int = 256
    state: str = "open"
    dry_run: bool = False
    per_page: int = 100

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.state not in {"open", "closed", "all"}:
            raise ValueError("state must be open, closed or all")


class Engine:
    """Runs one processor over one repository's issues.

    ``on_plan`` sees every plan once it is applied (or saved, on a dry run);
    ``on_progress`` sees the tally after every item.
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
    ) -> None:
        self.options = options or EngineOptions()
        self.tally = RunTally()
        self._client, self._repo, self._processor = client, repo, processor
        self._selector = selector or Selector(processor)
        self._writeback = WriteBack(client)
        self._plan_writer = plan_writer
        self._context = ProcessContext(repo=repo, github=ReadOnlyGitHub(client))
        self._on_plan = on_plan
        self._on_progress = on_progress

    def __repr__(self) -> str:
        tally = self.tally
        return f"<Engine {self._repo} {self._processor.name} done={tally.done}/{tally.listed}>"

    async def run(self) -> RunSummary:
        """List, select, process and write back every issue; returns the summary."""
        started = time.perf_counter()
        before = self._client.statistics()
        queue: asyncio.Queue[Issue] = asyncio.Queue(maxsize=2 * self.options.concurrency)
        workers = [asyncio.create_task(self._work(queue)) for _ in range(self.options.concurrency)]
        try:
            await self._produce(queue)
            await queue.join()
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        return self._summary(time.perf_counter() - started, before, self._client.statistics())

    async def _produce(self, queue: asyncio.Queue[Issue]) -> None:
        pages = self._client.iter_issue_pages(
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

    async def _work(self, queue: asyncio.Queue[Issue]) -> None:
        while True:
            issue = await queue.get()
            try:
                await self._handle(issue)
            finally:
                queue.task_done()
                self._progress()

    async def _handle(self, issue: Issue) -> None:
        try:
            plan = await self._processor.process(issue, self._context)
            if self._plan_writer is not None:
                self._plan_writer.write(plan)
            # Await first, then add: ``x += await f()`` reads x before the await and
            # loses the other workers' updates.
            writes = 0 if self.options.dry_run else await self._writeback.apply(plan)
        except Exception as error:  # noqa: BLE001 - one bad issue must not stop the run
            logger.warning("issue #%d failed: %s", issue.number, error)
            self.tally.fail(issue.number, error)
            return
        self.tally.processed += 1
        self.tally.writes += writes
        if self._on_plan is not None:
            self._on_plan(plan)

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
        )
