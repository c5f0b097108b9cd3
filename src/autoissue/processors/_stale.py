"""The ``stale`` processor: warn about inactive issues, close them if nobody answers.

It follows actions/stale. An open issue without activity for ``days_before_stale`` days gets
the stale label and a warning comment; once marked, it is closed as not planned after
``days_before_close`` more days without activity, or unmarked as soon as someone acts on it.

**Deciding "updated since it was marked" from a snapshot.** A snapshot says when the issue last
changed (``updated_at``) but not when the stale label was added. Marking writes the label and
the warning together, and each write moves ``updated_at``, so right after marking the issue's
last change is the warning itself. For a labelled issue the processor therefore makes one read:
the issue's comments changed since ``updated_at`` minus ``mark_grace_seconds`` (the time
write-back may take between the two writes). If the newest of them is the warning it wrote,
nothing happened since the mark, and the issue closes once ``updated_at`` is
``days_before_close`` days old. Otherwise someone commented, edited or relabelled the issue
after the warning, and the plan removes the label. A stale label this tool did not add has no
warning either: the plan to remove it is one write-back declines (it never removes a label it
did not add), so only issues this tool warned about are ever closed. With
``remove_stale_when_updated=False`` no read is made and a labelled issue closes on time alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import ConfigurationError
from autoissue.model import Action, AddLabels, Close, Comment, Issue, Plan, Priority, RemoveLabels
from autoissue.processors._base import Isolation, ProcessContext

#: Hidden in the warning so the processor can find its own comment again.
STALE_SIGNATURE = "<!-- autoissue:stale -->"
_DAY = 86_400.0
_CLOSE_REASONS = ("completed", "not_planned")
_SET_FIELDS = ("exempt_labels", "exempt_assignees", "exempt_milestones", "only_labels")


@dataclass(frozen=True, kw_only=True)
class StaleConfig:
    """The stale processor's options, named after actions/stale's.

    ``days_before_stale`` / ``days_before_close``: ``None`` never marks / never closes.
    Label, assignee and milestone names compare case-insensitively; ``only_labels`` limits the
    processor to issues carrying all of them. Pull requests are always left alone, so the pull
    request options of actions/stale (``exempt-draft-pr`` and the like) have no counterpart.
    ``stale_message`` / ``close_message`` replace the default texts.
    """

    days_before_stale: float | None = 60
    days_before_close: float | None = 7
    stale_label: str = "stale"
    exempt_labels: frozenset[str] = frozenset({"pinned", "security"})
    exempt_assignees: frozenset[str] = frozenset()
    exempt_all_assignees: bool = False
    exempt_milestones: frozenset[str] = frozenset()
    exempt_all_milestones: bool = False
    only_labels: frozenset[str] = frozenset()
    remove_stale_when_updated: bool = True
    close_reason: str = "not_planned"
    stale_message: str = ""
    close_message: str = ""
    mark_grace_seconds: float = 300.0

    def __post_init__(self) -> None:
        for name in _SET_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):
                raise ConfigurationError(f"stale option {name} takes a list of names, not a string")
            object.__setattr__(self, name, frozenset(str(item).lower() for item in value))
        problem = _problem(self)
        if problem:
            raise ConfigurationError(f"invalid stale option: {problem}")

    @property
    def warning(self) -> str:
        """The comment that marks an issue stale (with the hidden signature)."""
        text = self.stale_message or (
            f"This issue has had no activity for {_days(self.days_before_stale)} days. "
            + _closing_note(self.days_before_close)
        )
        return f"{text}\n\n{STALE_SIGNATURE}"

    @property
    def farewell(self) -> str:
        """The comment left when an issue is closed for inactivity."""
        return self.close_message or (
            f"Closed after {_days(self.days_before_close)} more days without activity. "
            "Reopen it, or open a new issue, if it still matters."
        )


def _days(value: float | None) -> str:
    return f"{value:g}" if value is not None else "∞"


def _closing_note(days_before_close: float | None) -> str:
    if days_before_close is None:
        return "It is marked stale; any activity removes the mark."
    return (
        f"It will be closed in {_days(days_before_close)} days unless there is new activity; "
        "a comment is enough to keep it open."
    )


def _problem(config: StaleConfig) -> str:
    for name in ("days_before_stale", "days_before_close"):
        value = getattr(config, name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            return f"{name} must be a number of days >= 0 or None, not {value!r}"
    if not config.stale_label.strip():
        return "stale_label must not be empty"
    if config.close_reason not in _CLOSE_REASONS:
        return f"close_reason must be one of {', '.join(_CLOSE_REASONS)}"
    if not config.mark_grace_seconds >= 0:
        return f"mark_grace_seconds must be >= 0, not {config.mark_grace_seconds!r}"
    return ""


def _epoch(stamp: object) -> float | None:
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    # GitHub's times end in "Z"; a time without a zone is read as UTC, as GitHub means it.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _changed_at(comment: object) -> float:
    stamp = comment.get("updated_at") if isinstance(comment, dict) else None
    return _epoch(stamp) or 0.0


def _is_warning(comment: object) -> bool:
    return isinstance(comment, dict) and STALE_SIGNATURE in str(comment.get("body") or "")


class Stale:
    """Marks inactive issues stale, closes them after a grace period, unmarks them on activity.

    ``config`` holds the options (:class:`StaleConfig`); ``clock`` says what time it is, so
    that runs and tests are deterministic. See the module's documentation for how "updated
    since it was marked" is decided.
    """

    name = "stale"
    isolation = Isolation.INLINE

    def __init__(self, config: StaleConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or StaleConfig()
        self.clock = clock or SystemClock()

    def __repr__(self) -> str:
        days = self.config.days_before_stale, self.config.days_before_close
        return f"<Stale stale={_days(days[0])}d close={_days(days[1])}d>"

    def select(self, issue: Issue) -> Priority | None:
        """Low priority for open issues that are marked, or inactive long enough to be."""
        if self.exemption(issue):
            return None
        idle, config = self._idle_days(issue), self.config
        if self._stale_label(issue) or idle is None:
            return Priority.LOW
        limit = config.days_before_stale
        return Priority.LOW if limit is not None and idle >= limit else None

    def exemption(self, issue: Issue) -> str:
        """Why ``issue`` is none of this processor's business, or ``""`` when it is."""
        config, labels = self.config, {name.lower() for name in issue.label_names}
        assignees = {user.login.lower() for user in issue.assignees}
        milestone = issue.milestone.title.lower() if issue.milestone else None
        checks = (
            (issue.is_pull_request, "a pull request"),
            (issue.state != "open", "not open"),
            (not config.only_labels <= labels, "lacks a label of only_labels"),
            (bool(labels & config.exempt_labels), "has an exempt label"),
            (config.exempt_all_assignees and bool(assignees), "is assigned"),
            (bool(assignees & config.exempt_assignees), "has an exempt assignee"),
            (config.exempt_all_milestones and milestone is not None, "has a milestone"),
            (milestone in config.exempt_milestones, "has an exempt milestone"),
        )
        return next((reason for applies, reason in checks if applies), "")

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """Plan marking, closing or unmarking ``issue``, or nothing."""
        plan = Plan(self.name, context.repo, issue.number, issue.updated_at)
        idle = self._idle_days(issue)
        reason = self.exemption(issue) or ("updated_at unreadable" if idle is None else "")
        if reason or idle is None:
            return _with(plan, (), reason)
        label = self._stale_label(issue)
        if label is None:
            return _with(plan, *self._unmarked(idle))
        unmarked = self.config.remove_stale_when_updated
        if unmarked and not await self._untouched_since_warning(issue, context):
            return _with(plan, (RemoveLabels((label,)),), "updated since it was marked stale")
        return _with(plan, *self._marked(idle))

    def _unmarked(self, idle: float) -> tuple[tuple[Action, ...], str]:
        limit = self.config.days_before_stale
        if limit is None or idle < limit:
            return (), f"active: last updated {idle:.1f} days ago"
        actions = (AddLabels((self.config.stale_label,)), Comment(self.config.warning, "stale"))
        return actions, f"no activity for {idle:.1f} days: marked stale"

    def _marked(self, idle: float) -> tuple[tuple[Action, ...], str]:
        limit = self.config.days_before_close
        if limit is None or idle < limit:
            return (), f"marked stale {idle:.1f} days ago: waiting"
        actions = (Comment(self.config.farewell, "stale-close"), Close(self.config.close_reason))
        return actions, f"no activity for {idle:.1f} days since marked stale: closed"

    def _idle_days(self, issue: Issue) -> float | None:
        updated = _epoch(issue.updated_at)
        return None if updated is None else max(self.clock.time() - updated, 0.0) / _DAY

    def _stale_label(self, issue: Issue) -> str | None:
        wanted = self.config.stale_label.lower()
        return next((name for name in issue.label_names if name.lower() == wanted), None)

    async def _untouched_since_warning(self, issue: Issue, context: ProcessContext) -> bool:
        # See the module docstring: the last change was our warning iff it changed since then.
        updated = _epoch(issue.updated_at) or 0.0
        since = _iso(updated - self.config.mark_grace_seconds)
        path = f"/repos/{context.repo}/issues/{issue.number}/comments"
        comments = await context.github.get(path, since=since, per_page="100")
        if not isinstance(comments, list):
            return False
        return _is_warning(max(comments, key=_changed_at, default=None))


def stale(*, clock: Clock | None = None, **options: Any) -> Stale:
    """A :class:`Stale` processor from keyword options (those of :class:`StaleConfig`)."""
    return Stale(StaleConfig(**options), clock=clock)


def _with(plan: Plan, actions: tuple[Action, ...], reason: str) -> Plan:
    return Plan(plan.processor, plan.repo, plan.issue, plan.updated_at, actions, (reason,))
