"""Reopened issues: processed again at high priority, and handed to a human after a few times.

GitHub says an issue was reopened (``state_reason == "reopened"``) but not how often, so the
state store counts it: one reopen per version of the issue this tool had finished. An issue reopened
after ``limit`` such rounds is not attempted again: the ``handoff`` processor asks for a human.
(An issue edited after a reopen, without being closed again, also counts as a round: GitHub's
snapshot cannot tell the two apart without the events API.)
"""

from __future__ import annotations

from autoissue.model import AddLabels, Comment, Issue, Plan, Priority
from autoissue.processors import Isolation, ProcessContext
from autoissue.state import StateStore

HANDOFF = "handoff"
DEFAULT_REOPEN_LIMIT = 3
NEEDS_HUMAN = "needs-human"


class ReopenCounter:
    """Counts the rounds in which ``processor``'s work on an issue was reopened.

    An issue's rounds are a member set in the state store (the ``processed_at`` of each version
    that was reopened), so workers counting the same round at once count it once. Rounds that
    older versions kept as ``@reopens:`` ledger entries are ignored (an issue's count starts
    over after the upgrade) and left in the ledger.
    """

    def __init__(
        self, state: StateStore, processor: str, limit: int = DEFAULT_REOPEN_LIMIT
    ) -> None:
        self.state, self.limit = state, limit
        self._key = f"@reopens:{processor}"

    def __repr__(self) -> str:
        return f"<ReopenCounter {self._key} limit={self.limit}>"

    async def count(self, issue: str, processed_at: str) -> int:
        """Count the reopen of the version finished at ``processed_at`` (once); return the total."""
        return await self.state.add_member(f"{self._key}:{issue}", processed_at)


class HandOff:
    """Asks for a human on an issue the tool's work kept being reopened on."""

    name = HANDOFF
    isolation = Isolation.INLINE

    def __repr__(self) -> str:
        return "<HandOff>"

    def select(self, issue: Issue) -> Priority | None:
        """Only the engine sends issues here."""
        return Priority.HIGH

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """One comment and a ``needs-human`` label; no further attempt."""
        text = (
            "This issue was reopened after automatic processing several times, so it is left"
            " to a human now: no further automatic attempt will be made."
        )
        actions = (Comment(text, slot=NEEDS_HUMAN), AddLabels((NEEDS_HUMAN,)))
        return Plan(self.name, context.repo, issue.number, issue.updated_at, actions)
