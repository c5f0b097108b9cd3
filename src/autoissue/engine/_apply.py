"""Apply a saved plan file: each plan only if its issue is still as it was when planned.

``autoissue run --dry-run --plan-out plans.jsonl`` saves every intended write; this applies
them later. Before each plan the issue is read again: unchanged, the plan is applied (exactly
once, through the ledger); changed since, it is not overwritten but re-queued, so the next run
or worker plans it afresh from what the issue says now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from autoissue._exceptions import ConfigurationError
from autoissue.engine._summary import MAX_FAILURES_KEPT
from autoissue.engine._work import WorkItem, message_for
from autoissue.engine._writeback import WriteBack, finished_at
from autoissue.github import GitHubClient
from autoissue.model import Issue, Plan, decode_issue, decode_plan
from autoissue.queue import Queue
from autoissue.selection import priority_of
from autoissue.state import StateStore, issue_name


def read_plans(path: Path) -> list[Plan]:
    """Every plan in a JSON-lines file; a bad line raises, naming it, before anything is done."""
    plans = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                plans.append(decode_plan(line))
            except (msgspec.DecodeError, msgspec.ValidationError) as error:
                raise ConfigurationError(f"{path}:{number}: not a plan: {error}") from None
    return plans


@dataclass
class ApplySummary:
    """What became of each plan: applied, already applied before, re-queued, or failed."""

    applied: int = 0
    already_applied: int = 0
    requeued: int = 0
    failed: int = 0
    writes: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "applied": self.applied,
            "already_applied": self.already_applied,
            "requeued": self.requeued,
            "failed": self.failed,
            "writes": self.writes,
            "failures": list(self.failures),
        }


class PlanApplier:
    """Applies plans ``concurrency`` at a time; changed issues go to ``queue`` instead.

    ``on_settled`` is called once per plan as it is settled, whatever became of it (for
    progress displays).
    """

    def __init__(
        self,
        client: GitHubClient,
        state: StateStore,
        queue: Queue,
        *,
        concurrency: int = 8,
        on_settled: Callable[[], None] | None = None,
    ) -> None:
        self._client, self._state, self._queue = client, state, queue
        self._writeback = WriteBack(client, state)
        self._slots = asyncio.Semaphore(concurrency)
        self._on_settled = on_settled or (lambda: None)
        self.summary = ApplySummary()

    def __repr__(self) -> str:
        return f"<PlanApplier {self.summary}>"

    async def apply(self, plans: Iterable[Plan]) -> ApplySummary:
        """Apply (or re-queue) every plan; returns the summary."""
        await asyncio.gather(*(self._guarded(plan) for plan in plans))
        return self.summary

    async def _guarded(self, plan: Plan) -> None:
        async with self._slots:
            try:
                await self._one(plan)
            except Exception as error:  # noqa: BLE001 - one plan's failure must not stop the rest
                self.summary.failed += 1
                if len(self.summary.failures) < MAX_FAILURES_KEPT:
                    text = f"{type(error).__name__}: {error}"
                    self.summary.failures.append({"issue": plan.issue, "error": text})
            finally:
                self._on_settled()

    async def _one(self, plan: Plan) -> None:
        name = issue_name(plan.repo, plan.issue)
        prior = await self._state.lookup(name, plan.processor)
        if finished_at(prior, plan.updated_at):
            self.summary.already_applied += 1
            return
        issue = await self._current(plan)
        if issue.updated_at != plan.updated_at:
            await self._requeue(plan, issue)
            return
        # Await first, then add: ``x += await f()`` reads x before the await and loses the
        # updates other plans make meanwhile.
        writes, entry = await self._writeback.apply_after(plan, prior)
        if entry is not None:
            await self._state.record_many([entry])
        self.summary.writes += writes
        self.summary.applied += 1

    async def _current(self, plan: Plan) -> Issue:
        response = await self._client.request("GET", f"/repos/{plan.repo}/issues/{plan.issue}")
        return decode_issue(response.body)

    async def _requeue(self, plan: Plan, issue: Issue) -> None:
        item = WorkItem(plan.repo, plan.processor, issue)
        await self._queue.put_many([message_for(item, priority_of(issue).priority)])
        self.summary.requeued += 1
