"""Leased queue items, end to end: lock, process, write back, then ack — in batches.

::

    claimed batch ──prepare──▶ decode, lock the issues, read ledger entries and marks (3 steps)
        each item ──handle───▶ processor.process ──▶ write-back ──▶ completion
    completions ────flush────▶ record the ledger entries, ack, release the locks    (3 steps)
      (a failure instead: nack by error kind — retry after backoff, or dead letter)

The backend steps are batched because each costs a transaction or a round trip: per item
they would cost more than the work. Batching is safe because every step before the flush can
be repeated: a crash before it only means the items are claimed again, the ledger (or the
marker in a comment, the branch of a pull request) recognises what was done, and nothing is
written twice. The locks (per issue, the lease's TTL, refreshed with its heartbeats) keep two
workers — and two versions of one issue in one worker — off an issue at the same time.

Versions of one issue coalesce: only the newest queued is worked. An item is settled unworked
when the ledger says this version or a later one is finished (``already processed``), or when
its issue's queued mark names a newer version, put on the queue since (:data:`SUPERSEDED`).
Of two versions in one claimed batch the newer takes the lock, so it is worked first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from autoissue._classify import classify
from autoissue._exceptions import ConfigurationError, CorruptItemError
from autoissue.engine._isolation import Planner
from autoissue.engine._summary import RunTally
from autoissue.engine._work import WorkItem, decode_item
from autoissue.engine._writeback import PlanWriter, WriteBack, finished_at
from autoissue.github import GitHubClient
from autoissue.model import Plan
from autoissue.processors import (
    Artifacts,
    OwnLedger,
    ProcessContext,
    Processor,
    ReadOnlyGitHub,
)
from autoissue.queue import ErrorKind, Lease, Queue
from autoissue.state import LedgerEntry, StateStore

logger = logging.getLogger(__name__)

#: The skip of an item whose ledger entry is finished at its version or later.
ALREADY_PROCESSED = "already processed"
#: The skip of an item whose issue has a newer version queued: that one is worked instead.
SUPERSEDED = "superseded by a newer version"


@dataclass(kw_only=True)
class HandlerSetup:
    """What the handler needs; ``owner`` names this worker in the issue locks.

    ``planner`` runs each processor where its isolation says (a pooled one in the warm pool).
    """

    client: GitHubClient
    queue: Queue
    state: StateStore
    processors: Mapping[str, Processor]
    tally: RunTally
    owner: str
    lock_ttl_s: float
    dry_run: bool = False
    force: bool = False
    plan_writer: PlanWriter | None = None
    on_plan: Callable[[Plan], None] | None = None
    on_progress: Callable[[RunTally], None] | None = None
    planner: Planner = field(default_factory=Planner)


@dataclass(frozen=True, slots=True)
class _Ready:
    item: WorkItem
    processor: Processor
    prior: LedgerEntry | None
    newest: str | None = None  # the newest version queued, if it was marked


@dataclass
class _Completions:
    """Done items waiting for the flush that records, acks and unlocks them together."""

    acks: list[str] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    unlock: list[str] = field(default_factory=list)


class ItemHandler:
    """Prepares claimed batches, handles their items, and flushes what they completed."""

    def __init__(self, setup: HandlerSetup) -> None:
        self.setup = setup
        self._writeback = WriteBack(setup.client, setup.state)
        self._github = ReadOnlyGitHub(setup.client)
        self._artifacts = {name: Artifacts(setup.state, name) for name in setup.processors}
        self._ledgers = {name: OwnLedger(setup.state, name) for name in setup.processors}
        self._ready: dict[str, _Ready] = {}
        self._done = _Completions()
        #: Issues locked by this worker, by lease id: the heartbeat refreshes them.
        self.locks: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<ItemHandler owner={self.setup.owner} locks={len(self.locks)}>"

    # -- before: one batch -------------------------------------------------------------------

    async def prepare(self, leases: list[Lease]) -> list[Lease]:
        """Decode, lock and look up a claimed batch; return the leases ready to handle."""
        items = {}
        for lease in leases:
            try:
                items[lease.id] = self._decode(lease)
            except (CorruptItemError, ConfigurationError) as error:  # unusable here, ever
                await self._fail(lease, None, error)
        locked = await self._lock(leases, items)
        await self._look_up(locked, items)
        return [lease for lease in leases if lease.id in self._ready]

    def _decode(self, lease: Lease) -> tuple[WorkItem, Processor]:
        item = decode_item(lease.payload)
        try:
            return item, self.setup.processors[item.processor]
        except KeyError:
            known = ", ".join(sorted(self.setup.processors))
            raise ConfigurationError(
                f"no processor {item.processor!r} in this worker (it has {known})"
            ) from None

    async def _lock(
        self, leases: list[Lease], items: dict[str, tuple[WorkItem, Processor]]
    ) -> list[Lease]:
        setup = self.setup
        wanted = self._wanted(leases, items)
        taken = await setup.state.acquire_many(list(wanted.values()), setup.owner, setup.lock_ttl_s)
        for lease in leases:
            if lease.id in items and wanted.get(lease.id) not in taken:
                await setup.queue.nack(
                    lease.id,
                    ErrorKind.RATE_LIMITED,
                    "another worker holds the issue",
                    retry_after=setup.lock_ttl_s,
                )
        locked = [lease for lease in leases if wanted.get(lease.id) in taken]
        self.locks |= {lease.id: wanted[lease.id] for lease in locked}
        return locked

    def _wanted(
        self, leases: list[Lease], items: dict[str, tuple[WorkItem, Processor]]
    ) -> dict[str, str]:
        """The issue each lease is to lock, by lease id: one lease per issue not held already.

        Of several versions of one issue in the batch, the newest: the others, retried once
        the lock is free, find it done or queued and are settled without work.
        """
        held = set(self.locks.values())
        decoded = [lease for lease in leases if lease.id in items]
        decoded.sort(key=lambda lease: items[lease.id][0].issue.updated_at, reverse=True)
        chosen: dict[str, str] = {}  # issue name -> lease id
        for lease in decoded:
            name = items[lease.id][0].name
            if name not in held and name not in chosen:
                chosen[name] = lease.id
        return {lease_id: name for name, lease_id in chosen.items()}

    async def _look_up(
        self, locked: list[Lease], items: dict[str, tuple[WorkItem, Processor]]
    ) -> None:
        keys = [(items[lease.id][0].name, items[lease.id][0].processor) for lease in locked]
        priors = await self._priors(keys)
        # One read for the whole batch; ``force`` works every version, so it needs none.
        newest = {} if self.setup.force else await self.setup.state.queued_marks(keys)
        for lease, key in zip(locked, keys, strict=True):
            item, processor = items[lease.id]
            self._ready[lease.id] = _Ready(item, processor, priors.get(key), newest.get(key))

    async def _priors(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], LedgerEntry]:
        """The ledger entries of ``(issue, processor)`` keys, one read per processor."""
        by_processor: dict[str, list[str]] = {}
        for name, processor in keys:
            by_processor.setdefault(processor, []).append(name)
        priors: dict[tuple[str, str], LedgerEntry] = {}
        for processor, names in by_processor.items():
            found = await self.setup.state.lookup_many(names, processor)
            priors |= {(name, processor): entry for name, entry in found.items()}
        return priors

    # -- during: one item --------------------------------------------------------------------

    async def handle(self, lease: Lease) -> BaseException | None:
        """Handle one prepared lease; returns the error that failed it (None on success)."""
        ready = self._ready.pop(lease.id)
        stale = self._stale(ready)
        if stale is not None:
            self._settle_unworked(lease.id, ready.item, stale)
            return None
        try:
            context = self._context(ready.item)
            plan = await self.setup.planner.plan(ready.processor, ready.item.issue, context)
            writes, entry = await self._write(plan, ready.prior)
        except Exception as error:  # noqa: BLE001 - one bad issue must not stop the run
            await self._fail(lease, ready.item, error)
            self._unlock(lease.id)
            return error
        self._done.acks.append(lease.id)
        if entry is not None:
            self._done.entries.append(entry)
        self._unlock(lease.id)
        self._count(plan, writes)
        return None

    def _stale(self, ready: _Ready) -> str | None:
        """Why this version needs no work, or ``None`` if it does (always with ``force``).

        Two versions of an issue queued one after the other (a webhook for each change) are
        worked in turn under the issue's lock. Once the newer one is finished the older one is
        stale, and planning it again could undo what the newer plan saw. While the newer one
        is still queued the older one is stale as well: the newer will be worked, and working
        both would write twice.
        """
        if self.setup.force:
            return None
        version = ready.item.issue.updated_at
        if finished_at(ready.prior, version):
            return ALREADY_PROCESSED
        if ready.newest is not None and ready.newest > version:
            return SUPERSEDED
        return None

    def _settle_unworked(self, lease_id: str, item: WorkItem, reason: str) -> None:
        logger.debug("#%d at %s: %s", item.issue.number, item.issue.updated_at, reason)
        self._done.acks.append(lease_id)
        self._unlock(lease_id)
        tally = self.setup.tally
        tally.skip(reason)
        tally.skipped_at_work += 1
        self._progress()

    def _context(self, item: WorkItem) -> ProcessContext:
        return ProcessContext(
            repo=item.repo,
            github=self._github,
            artifacts=self._artifacts[item.processor],
            ledger=self._ledgers[item.processor],
        )

    async def _write(self, plan: Plan, prior: LedgerEntry | None) -> tuple[int, LedgerEntry | None]:
        setup = self.setup
        if setup.plan_writer is not None:
            setup.plan_writer.write(plan)
        if setup.dry_run:
            return 0, None
        return await self._writeback.apply_after(plan, prior, again=setup.force)

    def _unlock(self, lease_id: str) -> None:
        name = self.locks.pop(lease_id, None)
        if name is not None:
            self._done.unlock.append(name)

    def _count(self, plan: Plan, writes: int) -> None:
        tally = self.setup.tally
        tally.cost_usd += plan.cost_usd
        tally.outcomes.update(plan.outcomes)
        logger.debug("#%d: %s, %d writes", plan.issue, plan.skip_reason or _actions(plan), writes)
        if plan.skip_reason:
            tally.skip(plan.skip_reason)
            tally.skipped_at_work += 1
        else:
            tally.processed += 1
            tally.count(plan.repo, "processed")
            tally.writes += writes
        if self.setup.on_plan is not None:
            self.setup.on_plan(plan)
        self._progress()

    async def _fail(self, lease: Lease, item: WorkItem | None, error: BaseException) -> None:
        verdict = classify(error)
        decision = await self.setup.queue.nack(
            lease.id,
            verdict.kind,
            f"{type(error).__name__}: {error}",
            retry_after=verdict.retry_after,
        )
        number = item.issue.number if item is not None else 0
        if decision is not None and decision.dead:
            logger.warning("issue #%d failed for good: %s", number, error)
            self.setup.tally.fail(number, error)
            if item is not None:
                self.setup.tally.count(item.repo, "failed")
        else:
            logger.info("issue #%d will be retried: %s", number, error)
            self.setup.tally.requeued += 1
        self._progress()

    def _progress(self) -> None:
        if self.setup.on_progress is not None:
            self.setup.on_progress(self.setup.tally)

    # -- after: the flush --------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Completed items not flushed yet."""
        return len(self._done.acks) + len(self._done.unlock)

    async def flush(self) -> None:
        """Record the completed items' ledger entries, then ack them, then free their locks."""
        done, self._done = self._done, _Completions()
        setup = self.setup
        await setup.state.record_many(done.entries)
        if done.acks:
            await setup.queue.ack(done.acks)
        # An issue another item of this worker still works on keeps its lock until that ends.
        held = set(self.locks.values())
        await setup.state.release_many([n for n in done.unlock if n not in held], setup.owner)

    async def refresh(self, lease_ids: list[str]) -> None:
        """Extend the locks of the issues behind ``lease_ids`` (their leases were extended)."""
        names = [self.locks[lease_id] for lease_id in lease_ids if lease_id in self.locks]
        await self.setup.state.refresh_many(names, self.setup.owner, self.setup.lock_ttl_s)


def _actions(plan: Plan) -> str:
    return ", ".join(type(action).__name__ for action in plan.actions) or "nothing to write"
