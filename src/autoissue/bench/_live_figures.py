"""The ``live`` workload's figures, read from the referee's timeline and final state (pure code).

The emulator's timeline (``GET /_emulator/timeline``) holds, in its own clock, when each
item was opened through the API and when each login first labelled it. From it:

- **latency**: for every issue the creator opened, from its opening to ``serve``'s first
  label write on it (the write carries the type and priority labels together);
- **fair shares**: over the *contested period*, from ``serve``'s first label write on a
  backlog issue until the first repository's backlog is finished (its last backlog issue
  labelled), each repository's share of the backlog issues labelled divided by its fair share
  ``1/R``; ``min_fair_share`` is the least of them. The new issues are left out: they arrive
  evenly spread by the creator and go ahead of the backlog, so they say nothing of how the
  backlog is shared. The same ratio is also taken per window of ``window_s`` within the
  period, and over the part of it after every repository has had a backlog issue labelled
  (``once_all_started``): a sweep lists the repositories one after another, so before that
  some have nothing queued yet.
- **lost**: new issues ``serve`` never labelled, and eligible backlog issues (see
  :func:`~autoissue.bench._faults.eligible_in`) without a priority label of the tool's, each
  unless ``serve``'s queue holds it as a dead letter (then it failed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autoissue._percentiles import percentiles
from autoissue.bench._faults import eligible_in, selected_in, untriaged_in

Item = tuple[str, int]  # (repository, number)


@dataclass(frozen=True)
class Timeline:
    """The timeline's entries that matter here: new issues' openings, ``serve``'s labels."""

    opened: dict[Item, float]  # what the creator opened, when
    labelled: dict[Item, float]  # when serve first labelled each item

    @classmethod
    def read(cls, raw: Mapping[str, Any], *, creator: str, labeller: str) -> Timeline:
        """Pick ``creator``'s openings and ``labeller``'s labels out of the emulator's answer."""
        return cls(
            opened=_entries(raw["opened"], creator),
            labelled=_entries(raw["labelled"], labeller),
        )

    def backlog(self) -> dict[Item, float]:
        """Backlog items ``serve`` labelled (everything it labelled but the new issues)."""
        return {item: at for item, at in self.labelled.items() if item not in self.opened}


def _entries(entries: Iterable[Mapping[str, Any]], login: str) -> dict[Item, float]:
    return {
        (entry["repo"], int(entry["number"])): float(entry["at"])
        for entry in entries
        if entry["login"] == login
    }


def latency_figures(timeline: Timeline) -> dict[str, Any]:
    """Creation-to-label seconds of the new issues ``serve`` labelled: p50, p95, p99, max."""
    waits = [
        timeline.labelled[item] - opened
        for item, opened in timeline.opened.items()
        if item in timeline.labelled
    ]
    figures = {name: round(value, 3) for name, value in percentiles(waits).items()}
    return {**figures, "max": round(max(waits, default=0.0), 3), "labelled": len(waits)}


def fair_shares(
    labelled: Mapping[Item, float], repos: Sequence[str], window_s: float = 1.0
) -> dict[str, Any]:
    """Each repository's share of the backlog labelled in the contested period, ÷ ``1/R``.

    ``labelled`` is when each backlog item was labelled. With a repository that had nothing
    labelled at all, every share is 0 (it got nothing while others got everything).
    """
    times = {
        repo: sorted(at for (name, _), at in labelled.items() if name == repo) for repo in repos
    }
    if not all(times.values()):
        return {"min_fair_share": 0.0, "by_repo": dict.fromkeys(repos, 0.0), "period_s": 0.0}
    start = min(found[0] for found in times.values())
    end = min(found[-1] for found in times.values())
    by_repo = _ratios({repo: _between(found, start, end) for repo, found in times.items()})
    return {
        "min_fair_share": min(by_repo.values()),
        "by_repo": by_repo,
        "period_s": round(end - start, 3),
        "windows": _windows(times, start, end, window_s),
        "once_all_started": _once_all_started(times, start, end),
    }


def _once_all_started(
    times: Mapping[str, Sequence[float]], start: float, end: float
) -> dict[str, float]:
    """The least ratio from the moment every repository had an issue labelled until ``end``.

    From then on every repository has work queued: the shares say how the queue serves
    them, not in which order a sweep listed them.
    """
    all_in = max(found[0] for found in times.values())
    ratios = _ratios({repo: _between(found, all_in, end) for repo, found in times.items()})
    return {"min_fair_share": min(ratios.values()), "after_s": round(all_in - start, 3)}


def _between(times: Sequence[float], start: float, end: float) -> int:
    return sum(start <= at <= end for at in times)


def _ratios(counts: Mapping[str, int]) -> dict[str, float]:
    """Each count's share of the total, over the fair share ``1/len(counts)``."""
    total = sum(counts.values())
    if not total:
        return dict.fromkeys(counts, 0.0)
    return {repo: round(count * len(counts) / total, 3) for repo, count in counts.items()}


def _windows(
    times: Mapping[str, Sequence[float]], start: float, end: float, window_s: float
) -> dict[str, Any]:
    """The least repository's ratio in each whole window of the period: median and worst."""
    count = math.floor((end - start) / window_s)
    least = []
    for index in range(count):
        low = start + index * window_s
        counts = {repo: _between(found, low, low + window_s) for repo, found in times.items()}
        least.append(min(_ratios(counts).values()))
    ordered = sorted(least)
    return {
        "window_s": window_s,
        "count": count,
        "p50": percentiles(ordered)["p50"],
        "min": ordered[0] if ordered else 0.0,
    }


def backlog_check(
    seeded: Sequence[Mapping[str, Any]], final: Sequence[Mapping[str, Any]], dead: set[Item]
) -> dict[str, int]:
    """Eligible backlog issues of every repository left untriaged: failed if dead, else lost.

    ``seeded`` and ``final`` are the emulator's repositories before and after the turn.
    """
    eligible = {repo["full_name"]: eligible_in(repo) for repo in seeded}
    missing = {
        (repo["full_name"], number)
        for repo in final
        for number in untriaged_in(repo, eligible[repo["full_name"]])
    }
    return {
        "backlog_open": sum(len(selected_in(repo)) for repo in seeded),
        "backlog_eligible": sum(len(numbers) for numbers in eligible.values()),
        "backlog_failed": len(missing & dead),
        "backlog_lost": len(missing - dead),
    }


def new_issue_check(timeline: Timeline, dead: set[Item]) -> dict[str, int]:
    """New issues ``serve`` never labelled: failed if dead-lettered, else lost."""
    missing = set(timeline.opened) - set(timeline.labelled)
    return {
        "new_issues": len(timeline.opened),
        "new_failed": len(missing & dead),
        "new_lost": len(missing - dead),
    }


def serve_unsettled(health: Mapping[str, Any], expected: int) -> int:
    """Items ``serve`` should have handled and did not, by its own last ``/healthz`` counts.

    ``expected`` is how many it should have queued (the new issues and the open backlog
    issues, by the referee's count): fewer queued is a shortfall. Queued items end
    processed, failed, or with nothing to do; what is neither, or still in the queue, is
    unsettled. This covers the backlog issues the referee cannot check: those triage
    rightly leaves alone (a priority label already there, no sure type).
    """
    worker = health["worker"]
    enqueued = int(worker["enqueued"])
    settled = int(worker["processed"] + worker["failed"] + worker["nothing_to_do"])
    unfinished = int(health["queue"]["unfinished"])
    return max(0, expected - enqueued) + max(0, enqueued - settled) + unfinished
