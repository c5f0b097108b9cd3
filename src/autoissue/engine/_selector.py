"""Which listed issues get processed, and which are skipped and why."""

from __future__ import annotations

from dataclasses import dataclass

from autoissue.model import Issue, Priority
from autoissue.processors import Processor
from autoissue.selection import complexity

# Labels that say "leave this alone" in most repositories.
DEFAULT_SKIP_LABELS = frozenset({"wontfix", "duplicate", "invalid"})


@dataclass(frozen=True, slots=True)
class Decision:
    """Admit the issue at ``priority``, or skip it for ``reason``."""

    priority: Priority | None
    reason: str = ""

    @property
    def admitted(self) -> bool:
        """Whether the issue goes on to its processor."""
        return self.priority is not None


class Selector:
    """Drops pull requests, closed and locked issues, and issues with a skip label.

    What remains is offered to the processor, whose ``select`` gives its priority or
    declines it. ``priorities`` keeps only issues at those priorities (None: all);
    ``max_complexity`` drops issues whose complexity score (see
    :func:`~autoissue.selection.complexity`) reaches it, naming the factors that weighed most.
    """

    def __init__(
        self,
        processor: Processor,
        *,
        skip_labels: frozenset[str] = DEFAULT_SKIP_LABELS,
        skip_locked: bool = True,
        priorities: frozenset[Priority] | None = None,
        max_complexity: float | None = None,
    ) -> None:
        self.processor = processor
        self.skip_labels = frozenset(label.lower() for label in skip_labels)
        self.skip_locked = skip_locked
        self.priorities = priorities
        self.max_complexity = max_complexity

    def __repr__(self) -> str:
        return f"<Selector {self.processor.name} skip={sorted(self.skip_labels)}>"

    def decide(self, issue: Issue) -> Decision:
        """Admit or skip one issue; the reason is a short phrase for the run summary."""
        if issue.is_pull_request:
            return Decision(None, "pull request")
        if issue.state != "open":
            return Decision(None, "closed")
        if issue.locked and self.skip_locked:
            return Decision(None, "locked")
        skip = sorted(name for name in issue.label_names if name.lower() in self.skip_labels)
        if skip:
            return Decision(None, f"label {skip[0]}")
        return self._judge(issue)

    def _judge(self, issue: Issue) -> Decision:
        priority = self.processor.select(issue)
        if priority is None:
            return Decision(None, "declined by processor")
        if self.priorities is not None and priority not in self.priorities:
            return Decision(None, f"priority {priority.name.lower()} not targeted")
        if self.max_complexity is not None:
            score = complexity(issue, threshold=self.max_complexity)
            if not score.processable:
                return Decision(None, "too complex")
        return Decision(priority)
