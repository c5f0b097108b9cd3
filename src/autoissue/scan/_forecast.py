"""Forecasting a run: the API calls it will make, and how long GitHub's limits let it take.

::

    plans ──▶ write-back on a fake GitHub ──▶ CallTally ◀── listing pages, processor reads,
                                                  │         warm-up, repository
      governor (budget, settings) ────────────────┼──▶ one lower bound per constraint
      measured latency ───────────────────────────┘    (primary, spacing, content, points,
                                                        concurrency, listing)
                                                                 │ the largest
                                                                 ▼
                                                              Forecast

Every constraint gives a lower bound on the run's duration; the largest one binds, and the
forecast names it. Write-back's calls are not modelled here: they are counted by running the
run's own write-back against a fake GitHub (see :mod:`autoissue.scan._counting`), which
answers what cannot be known without writing (whether a comment already exists, whether a
pull request is open) the expensive way, so the count is an upper bound.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from autoissue.github import (
    CONTENT_ENDPOINTS,
    GovernorSettings,
    RateLimitInfo,
    endpoint_template,
)

HOUR = 3600.0
MINUTE = 60.0
_REPO = "/repos/o/r"  # any concrete path: only its endpoint template is kept

LISTING = endpoint_template("GET", f"{_REPO}/issues")
RATE_LIMIT = endpoint_template("GET", "/rate_limit")
REPOSITORY = endpoint_template("GET", _REPO)
USER = endpoint_template("GET", "/user")
ADD_LABELS = endpoint_template("POST", f"{_REPO}/issues/1/labels")
REMOVE_LABEL = endpoint_template("DELETE", f"{_REPO}/issues/1/labels/x")
LIST_COMMENTS = endpoint_template("GET", f"{_REPO}/issues/1/comments")
CREATE_COMMENT = endpoint_template("POST", f"{_REPO}/issues/1/comments")
FIND_PULL = endpoint_template("GET", f"{_REPO}/pulls")
CREATE_PULL = endpoint_template("POST", f"{_REPO}/pulls")
CLOSE_ISSUE = endpoint_template("PATCH", f"{_REPO}/issues/1")
#: Reads the processors made, whatever their endpoints (counted through their read-only view).
PROCESSOR_READS = "GET (processor reads)"


def is_mutation(endpoint: str) -> bool:
    """Whether an endpoint template (``"POST /repos/…"``) names a mutating request."""
    return endpoint.split(" ", 1)[0] not in {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class CallTally:
    """API calls by endpoint template (``"POST /repos/{owner}/{repo}/issues/{n}/labels"``)."""

    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every call."""
        return sum(self.counts.values())

    @property
    def mutations(self) -> int:
        """Calls that write (POST, PATCH, PUT, DELETE): GitHub asks ≥ 1 s between them."""
        return sum(n for endpoint, n in self.counts.items() if is_mutation(endpoint))

    @property
    def content(self) -> int:
        """Calls that create content (comments, pull requests): limited per minute and hour."""
        return sum(n for endpoint, n in self.counts.items() if endpoint in CONTENT_ENDPOINTS)


def tally_calls(
    *,
    listing: int,
    processor_reads: int,
    writes: Iterable[Counter[str]],
    repository: bool = True,
) -> CallTally:
    """Every call of a run: warm-up, repository, listing, processor reads, then write-back.

    ``repository`` counts the ``GET /repos/{owner}/{repo}`` that ``autoissue run`` makes
    before listing. ``writes`` are write-back's calls as it sent them, the one ``GET /user``
    of a run's first comment included (see :class:`~autoissue.scan._counting.WriteBackCounter`).
    """
    counts: Counter[str] = Counter({RATE_LIMIT: 1, LISTING: listing})
    counts[REPOSITORY] += 1 if repository else 0
    counts[PROCESSOR_READS] += processor_reads
    for calls in writes:
        counts.update(calls)
    return CallTally(MappingProxyType({name: n for name, n in counts.items() if n}))


@dataclass(frozen=True, slots=True)
class Bound:
    """One constraint's lower bound on a run's duration, and a phrase saying why."""

    name: str
    seconds: float
    detail: str


@dataclass(frozen=True, kw_only=True)
class Budget:
    """What the forecast knows of the server's limits: the governor's view of them.

    ``limited`` is False when the server said it has no rate limits; ``core`` is the token's
    primary budget as last read (``None``: not known yet, GitHub's documented one is assumed).
    """

    limited: bool
    settings: GovernorSettings = field(default_factory=GovernorSettings)
    core: RateLimitInfo | None = None
    max_concurrent: int = 40


@dataclass(frozen=True, kw_only=True)
class Measured:
    """What the scan timed: listing's wall time and a typical request's latency."""

    listing_s: float = 0.0
    latency_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Forecast:
    """How many calls a run will make, and how long its limits let it take at the least.

    ``seconds`` is the largest of the ``bounds``; ``binding`` says which constraint that is.
    """

    calls: CallTally
    seconds: float
    binding: str
    bounds: tuple[Bound, ...]
    limited: bool
    budget: RateLimitInfo | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        budget = self.budget
        return {
            "calls": self.calls.total,
            "reads": self.calls.total - self.calls.mutations,
            "writes": self.calls.mutations,
            "content_creations": self.calls.content,
            "by_endpoint": dict(sorted(self.calls.counts.items())),
            "seconds": round(self.seconds, 3),
            "binding": self.binding,
            "bounds": [
                {"name": b.name, "seconds": round(b.seconds, 3), "detail": b.detail}
                for b in self.bounds
            ],
            "limited": self.limited,
            "budget": None
            if budget is None
            else {"limit": budget.limit, "remaining": budget.remaining, "reset": budget.reset},
            "note": self.note,
        }


def forecast(calls: CallTally, budget: Budget, measured: Measured, *, now: float) -> Forecast:
    """The duration ``calls`` need under ``budget``, given what the scan ``measured``."""
    bounds = [_listing_bound(calls, measured), _concurrency_bound(calls, budget, measured)]
    note = ""
    if budget.limited:
        bounds += _rate_limit_bounds(calls, budget, now)
    else:
        note = "the server reports no rate limits: the duration is estimated from measured latency"
    binding = max(bounds, key=lambda bound: bound.seconds)
    return Forecast(
        calls=calls,
        seconds=binding.seconds,
        binding=f"{binding.name}: {binding.detail}",
        bounds=tuple(bounds),
        limited=budget.limited,
        budget=budget.core if budget.limited else None,
        note=note,
    )


def _rate_limit_bounds(calls: CallTally, budget: Budget, now: float) -> list[Bound]:
    """The bounds each of the server's rate limits puts on ``calls``."""
    core = budget.core or _assumed_core(budget.settings, now)
    return [
        _primary_bound(calls.total, core, budget.settings, now),
        _spacing_bound(calls.mutations, budget.settings),
        _content_bound(calls.content, budget.settings),
        _points_bound(calls, budget.settings),
    ]


def _assumed_core(settings: GovernorSettings, now: float) -> RateLimitInfo:
    # Nothing heard: what the governor itself assumes, GitHub's documented budget, full.
    limit = 5_000
    return RateLimitInfo(limit, limit, 0, now + HOUR / settings.time_scale)


def _listing_bound(calls: CallTally, measured: Measured) -> Bound:
    pages = calls.counts.get(LISTING, 0)
    detail = f"{pages:,} pages, measured {duration(measured.listing_s)}"
    return Bound("listing", measured.listing_s, detail)


def _concurrency_bound(calls: CallTally, budget: Budget, measured: Measured) -> Bound:
    # The listing is timed as a whole; every other call waits its turn for one of the slots.
    others = calls.total - calls.counts.get(LISTING, 0)
    seconds = others * measured.latency_s / max(budget.max_concurrent, 1)
    detail = (
        f"{others:,} calls, {budget.max_concurrent} at once, "
        f"{measured.latency_s * 1000:.0f} ms each ≥ {duration(seconds)}"
    )
    return Bound("concurrency", seconds, detail)


def _primary_bound(
    total: int, core: RateLimitInfo, settings: GovernorSettings, now: float
) -> Bound:
    reserve = min(settings.reserve, core.limit // 10)
    usable = max(core.remaining - reserve, 0)
    to_reset = core.seconds_to_reset(now)
    if total <= usable:
        # Even pacing spreads what is left evenly until the reset; burst spends it at once.
        seconds = total / usable * to_reset if settings.pacing == "even" and usable else 0.0
        detail = (
            f"{total:,} calls of {usable:,} left, {settings.pacing} pacing ≥ {duration(seconds)}"
        )
        return Bound("primary budget", seconds, detail)
    resets = math.ceil((total - usable) / max(core.limit - reserve, 1))
    seconds = to_reset + (resets - 1) * HOUR / settings.time_scale
    plural = "s" if resets > 1 else ""
    detail = f"needs {resets} reset{plural}: {total:,} calls, {usable:,} left ≥ {duration(seconds)}"
    return Bound("primary budget", seconds, detail)


def _spacing_bound(mutations: int, settings: GovernorSettings) -> Bound:
    seconds = max(mutations - 1, 0) * settings.mutation_spacing_s / settings.time_scale
    detail = f"{mutations:,} writes ≥ {duration(seconds)}"
    return Bound("mutation spacing", seconds, detail)


def _content_bound(content: int, settings: GovernorSettings) -> Bound:
    # A sliding window lets a full budget go at once, then one more per window span.
    scale, extra = settings.time_scale, max(content - 1, 0)
    minutes = extra // settings.content_per_minute * MINUTE / scale
    hours = extra // settings.content_per_hour * HOUR / scale
    seconds = max(minutes, hours)
    detail = f"{content:,} comments and pull requests ≥ {duration(seconds)}"
    return Bound("content creation", seconds, detail)


def _points_bound(calls: CallTally, settings: GovernorSettings) -> Bound:
    worst, worst_endpoint, worst_calls = 0.0, "", 0
    for endpoint, n in calls.counts.items():
        points = 5 if is_mutation(endpoint) else 1
        per_minute = max(settings.points_per_minute // points, 1)
        seconds = max(n - 1, 0) // per_minute * MINUTE / settings.time_scale
        if seconds > worst or not worst_endpoint:
            worst, worst_endpoint, worst_calls = seconds, endpoint, n
    detail = f"{worst_endpoint or 'no calls'}: {worst_calls:,} calls ≥ {duration(worst)}"
    return Bound("points per minute", worst, detail)


def duration(seconds: float) -> str:
    """A duration for people: ``"850 ms"``, ``"42 s"``, ``"49 min"``, ``"2 h 05 min"``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < MINUTE:
        return f"{seconds:.1f} s"
    if seconds < HOUR:
        return f"{seconds / MINUTE:.0f} min"
    hours, rest = divmod(round(seconds / MINUTE), 60)
    return f"{hours} h {rest:02d} min"
