"""Intake: list a repository's issues, decide which to process, and enqueue them.

::

    pages ──select──▶ admitted (priority) ──ledger──▶ not done yet ──▶ messages ──put──▶ queue
                         │ skip (labels, PRs…)           │ done at this updated_at: skip
                         ▼                               ▼ reopened after being done: again,
                      tally                                 high priority (or to a human)

Every put is followed by one write to the state store: each new item's version becomes its
issue's newest queued mark, so a worker that claims an older version leaves it to the newer
(:mod:`autoissue.engine._handler`). The mark follows the put, never precedes it: a crash
between the two costs an older version worked needlessly, never one skipped for a newer
version that was not queued.

Intake knows nothing of how items are worked: the queue is the boundary. It is one bounded
pipeline (:mod:`autoissue.stream`): every buffer is small and the queue's ``put`` blocks at its
depth, so a slow worker holds the pager back, and the RSS watermark pauses the listing whatever
else the process holds. Under a cap the listing is read whole first and only the most urgent
issues are enqueued (:class:`~autoissue.engine._caps.Shortlist`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass

from autoissue.engine._caps import CAP_REACHED, Shortlist
from autoissue.engine._reopen import HANDOFF, ReopenCounter
from autoissue.engine._selector import Selector
from autoissue.engine._summary import RunTally
from autoissue.engine._work import WorkItem, message_for, queued_version
from autoissue.engine._writeback import finished_at
from autoissue.github import GitHubClient
from autoissue.model import Issue, Priority
from autoissue.processors import Processor
from autoissue.queue import Message, Queue
from autoissue.state import LedgerEntry, QueuedVersion, StateStore, issue_name
from autoissue.stream import Budget, Pipeline, RssWatermark, Step, concurrent

logger = logging.getLogger(__name__)

Pages = AsyncIterable[Sequence[Issue]]

#: Pages held between the pager and the queue, per stage: enough to overlap, no more.
_PAGES = Budget(items=2)


@dataclass(frozen=True, kw_only=True)
class IntakeSetup:
    """What intake lists and where it puts it.

    ``state`` (``open``, ``closed``, ``all``) and ``per_page`` shape the listing; ``pages``
    replaces it. ``force`` enqueues what the ledger says is done; ``dry_run`` enqueues under
    keys of its own. ``refuse`` says whether new work is refused now (a stop was asked, the
    cost cap is spent); ``on_enqueued`` is told after every page put on the queue, and
    ``on_listed`` once the listing is whole, before a shortlist is put: the queue is bounded,
    so whoever works it must be claiming by then or a long shortlist would wait for ever.
    """

    client: GitHubClient
    repo: str
    processor: Processor
    queue: Queue
    state: StateStore
    tally: RunTally
    selector: Selector
    refuse: Callable[[], bool]
    on_enqueued: Callable[[], None]
    on_listed: Callable[[], None] = lambda: None
    pages: Pages | None = None
    listing_state: str = "open"
    per_page: int = 100
    force: bool = False
    dry_run: bool = False
    watermark: RssWatermark | None = None


class Intake:
    """Lists, selects and enqueues one repository's issues for one processor; see the module."""

    def __init__(self, setup: IntakeSetup) -> None:
        self.setup = setup
        self.done = False
        self._reopens = ReopenCounter(setup.state, setup.processor.name)
        self._pipeline: Pipeline | None = None
        self._shortlist: Shortlist[Message] | None = None
        self._deferred = False

    def __repr__(self) -> str:
        return f"<Intake {self.setup.repo} {self.setup.processor.name} done={self.done}>"

    def shortlist(self, size: int, *, deferred: bool = False) -> None:
        """Enqueue only the ``size`` most urgent issues, once the listing is whole.

        ``deferred``: enqueue nothing; the caller takes the shortlist (:meth:`take_shortlist`)
        once the listing is whole, to merge it with other repositories' shortlists.
        """
        self._shortlist = Shortlist(size, message_priority)
        self._deferred = deferred

    def take_shortlist(self) -> list[Message]:
        """The shortlist's messages, most urgent first; those it left out are counted."""
        shortlist, tally = self._shortlist, self.setup.tally
        if shortlist is None:
            return []
        tally.skipped[CAP_REACHED] += shortlist.dropped
        tally.shortlisted -= len(shortlist)
        shortlist.dropped = 0
        return shortlist.take()

    async def enqueue(self, messages: list[Message], *, urgent: bool = False) -> int:
        """Put ``messages`` on the queue now, counted; return how many were new.

        ``urgent``: past the queue's depth bound (see :meth:`Queue.put_many`). Then the new
        items' versions are marked as their issues' newest queued, in one step.
        """
        ids = await self.setup.queue.put_many(messages, urgent=urgent)
        await self.setup.state.mark_queued(_new_versions(messages, ids))
        tally = self.setup.tally
        if None in ids:
            tally.skipped["already queued"] += ids.count(None)
        enqueued = len(ids) - ids.count(None)
        tally.enqueued += enqueued
        tally.count(self.setup.repo, "enqueued", enqueued)
        return enqueued

    async def run(self) -> None:
        """List to the end (or until stopped), enqueueing as it goes; then the shortlist."""
        self._pipeline = Pipeline(
            self._pages(),
            [
                Step(name="select", stage=concurrent(self._admit_page, limit=1), budget=_PAGES),
                Step(name="enqueue", stage=concurrent(self._enqueue_page, limit=1), budget=_PAGES),
            ],
            intake=_PAGES,
            watermark=self.setup.watermark,
            # Cancelled (the run stops or fails), pages still inside are dropped at once, not
            # drained: the next run lists them again, and a put may wait on a full queue
            # that no one works any more.
            drain_timeout=0.0,
        )
        await self._pipeline.run()
        self.setup.on_listed()
        if not self._deferred:
            await self.enqueue(self.take_shortlist())
        self.done = True

    async def offer(self, issues: Sequence[Issue], *, at_least: Priority | None = None) -> int:
        """Select, check against the ledger and enqueue ``issues`` now, outside any listing.

        ``at_least`` raises every admitted issue's priority to it (never lowers one): issues
        that just changed go ahead of a backlog being swept. Returns how many were enqueued.
        """
        self._listed(issues)
        messages = await self._admit(issues)
        if at_least is not None:
            messages = [_raised(message, at_least) for message in messages]
        # Offered issues are few and someone waits for them: past the backlog's back-pressure.
        enqueued = await self.enqueue(messages, urgent=at_least is not None)
        self.setup.on_enqueued()
        return enqueued

    def stop(self) -> None:
        """List no further: what is left is listed again by the next run."""
        if self._pipeline is not None:
            self._pipeline.stop()

    def _pages(self) -> Pages:
        setup = self.setup
        if setup.pages is not None:
            return setup.pages
        return setup.client.iter_issue_pages(
            setup.repo, state=setup.listing_state, per_page=setup.per_page
        )

    async def _admit_page(self, page: Sequence[Issue]) -> list[Message]:
        if self.setup.refuse():
            self.stop()
            return []
        self._listed(page)
        return await self._admit(page)

    async def _enqueue_page(self, messages: list[Message]) -> int:
        shortlist = self._shortlist
        if shortlist is None:
            await self.enqueue(messages)
        else:
            before = len(shortlist)
            shortlist.offer(messages)
            self.setup.tally.shortlisted += len(shortlist) - before
        self.setup.on_enqueued()
        return len(messages)

    def _listed(self, issues: Sequence[Issue]) -> None:
        self.setup.tally.listed += len(issues)
        self.setup.tally.count(self.setup.repo, "listed", len(issues))

    async def _admit(self, page: Sequence[Issue]) -> list[Message]:
        admitted = self._select(page)
        setup = self.setup
        names = [issue_name(setup.repo, issue.number) for issue, _ in admitted]
        entries = {}
        if not setup.force:
            entries = await setup.state.lookup_many(names, setup.processor.name)
        messages = []
        for name, (issue, priority) in zip(names, admitted, strict=True):
            message = await self._message(issue, priority, entries.get(name))
            if message is not None:
                messages.append(message)
        return messages

    def _select(self, page: Sequence[Issue]) -> list[tuple[Issue, Priority]]:
        admitted = []
        for issue in page:
            decision = self.setup.selector.decide(issue)
            if decision.priority is None:
                logger.debug("#%d skipped: %s", issue.number, decision.reason)
                self.setup.tally.skip(decision.reason)
            else:
                logger.debug("#%d admitted at %s", issue.number, decision.priority.name.lower())
                admitted.append((issue, decision.priority))
        return admitted

    async def _message(
        self, issue: Issue, priority: Priority, entry: LedgerEntry | None
    ) -> Message | None:
        setup = self.setup
        processor = setup.processor.name
        if finished_at(entry, issue.updated_at):
            setup.tally.skip("already processed")
            return None
        if entry is not None and entry.finished and issue.state_reason == "reopened":
            processor, priority = await self._reopened(issue, entry.updated_at)
        item = WorkItem(setup.repo, processor, issue)
        return message_for(item, priority, dry_run=setup.dry_run)

    async def _reopened(self, issue: Issue, processed_at: str) -> tuple[str, Priority]:
        """A processed issue came back: again at high priority, or to a human after a few times."""
        name = issue_name(self.setup.repo, issue.number)
        reopens = await self._reopens.count(name, processed_at)
        if reopens >= self._reopens.limit:
            return HANDOFF, Priority.HIGH
        return self.setup.processor.name, Priority.HIGH


def message_priority(message: Message) -> int:
    """A message's priority as a number (lower is more urgent), to shortlist by."""
    return int(message.priority)


def _new_versions(messages: list[Message], ids: list[str | None]) -> list[QueuedVersion]:
    """The versions a put queued: a key used before (``None``) queued nothing new."""
    found = (queued_version(m) for m, id_ in zip(messages, ids, strict=True) if id_ is not None)
    return [version for version in found if version is not None]


def _raised(message: Message, at_least: Priority) -> Message:
    # Lower values are more urgent.
    if message.priority <= at_least:
        return message
    return dataclasses.replace(message, priority=at_least)
