"""A processor whose every plan comments and labels: duplicates would show in the emulator."""

from __future__ import annotations

from autoissue.model import AddLabels, Comment, Issue, Plan, Priority
from autoissue.processors import Isolation, ProcessContext


class Commenter:
    """Comments once on every issue it is given, then labels it ``seen``."""

    name = "commenter"
    isolation = Isolation.INLINE

    def select(self, issue: Issue) -> Priority | None:
        return Priority.MEDIUM

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        actions = (Comment(f"seen #{issue.number}"), AddLabels(("seen",)))
        return Plan(self.name, context.repo, issue.number, issue.updated_at, actions)
