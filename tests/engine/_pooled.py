"""Pooled processors for tests: their plans say which process made them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autoissue.model import AddLabels, Issue, Plan, Priority
from autoissue.processors import Isolation, PoolWork, ProcessContext


@dataclass(frozen=True)
class Where:
    """What the workers get: the repository, and a folder where a crash leaves its mark."""

    repo: str
    crash_once: str | None = None


def plan_where(where: Where, issue: Issue) -> Plan:
    """Label the issue, with the planning process's PID among the reasons.

    With ``crash_once``, the first worker to plan issue 2 dies mid-task (no exception, the
    process is gone), leaving a file so that the retry goes through.
    """
    if where.crash_once is not None and issue.number == 2:
        mark = Path(where.crash_once) / "crashed"
        if not mark.exists():
            mark.touch()
            os._exit(9)
    reasons = (f"pid {os.getpid()}",)
    return Plan(
        "where", where.repo, issue.number, issue.updated_at, (AddLabels(("seen",)),), reasons
    )


class PlannedWhere:
    """A pooled processor: labels every issue ``seen`` from a pool worker."""

    name = "where"
    isolation = Isolation.POOL

    def __init__(self, crash_once: Path | None = None) -> None:
        self.crash_once = None if crash_once is None else str(crash_once)
        self.prepared: list[str] = []

    def select(self, issue: Issue) -> Priority | None:
        return None if issue.is_pull_request else Priority.MEDIUM

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        return plan_where(Where(context.repo), issue)

    async def prepare(self, context: ProcessContext) -> PoolWork:
        self.prepared.append(context.repo)
        return PoolWork(plan_where, Where(context.repo, self.crash_once))
