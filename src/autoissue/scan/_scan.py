"""A scan: what a run would process, in which order and why, without writing anything.

::

    issue pages ──▶ Selector.decide ──admitted──▶ ledger: done? ──no──▶ processor.process
    (read-only)        │ skip reason               │ "already processed"  │ Plan, ledger entry
                       │                           │                      ▼
                       │                           │           write-back on a fake GitHub
                       ▼                           ▼                      │ its calls, counted
                   ScanEntry ◀────────────────────────────────────────────┘
                       │
                       ▼ sorted as the queue claims: priority, then listing order
                   ScanReport + Forecast (calls and duration under the token's budget)

The selector, the ledger check and the processor are the run's own, so the scan admits what
the run would admit and gets the plans the run would apply. Processors only ever see a
read-only view of GitHub, which here also counts their reads: the run makes them again. The
calls a plan costs are counted by applying it with the run's own write-back, against a fake
GitHub that answers as for a run finding nothing done (see :mod:`autoissue.scan._counting`),
after the issue's entry in the ledger, as the run applies it. A command processor is not run
(it would run an agent and push a branch for every issue): its plan is assumed to be a pull
request, the dearest case.

Several repositories (:func:`scan_many`) are listed one after another and forecast as one run
over all of them, under the one budget they share. Their order is the queue's: by priority,
then the repositories in turns. A run cap (``max_issues``) keeps the most urgent of all their
shortlists, as the run merges them; ``max_issues_per_repo`` caps each.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from autoissue.engine import Selector
from autoissue.engine._caps import CAP_REACHED, Shortlist, in_turns
from autoissue.engine._writeback import finished_at
from autoissue.github import GitHubClient, Mode
from autoissue.model import Issue, OpenPullRequest, Plan, Priority
from autoissue.processors import Isolation, ProcessContext, Processor, ReadOnlyGitHub
from autoissue.scan._counting import WriteBackCounter
from autoissue.scan._forecast import (
    REPOSITORY,
    Budget,
    CallTally,
    Forecast,
    Measured,
    forecast,
    tally_calls,
)
from autoissue.selection import Complexity, complexity, priority_of
from autoissue.state import LedgerEntry, StateStore, issue_name

ALREADY_PROCESSED = "already processed"
_TOP_FACTORS = 3


@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    """How to scan: which ``state`` to list (as the run will), and how many plans at once.

    ``repository`` counts the ``GET /repos/{owner}/{repo}`` that ``autoissue run`` makes
    before listing (an :class:`~autoissue.engine.Engine` on its own does not make it).
    """

    state: str = "open"
    per_page: int = 100
    concurrency: int = 16
    repository: bool = True
    max_issues: int | None = None  # as ``run --max-issues``: the most urgent this many
    max_issues_per_repo: int | None = None  # as ``run --max-issues-per-repo``

    def __post_init__(self) -> None:
        if self.state not in {"open", "closed", "all"}:
            raise ValueError("state must be open, closed or all")
        if self.concurrency < 1 or not 1 <= self.per_page <= 100:
            raise ValueError("concurrency must be at least 1 and per_page 1-100")
        caps = (self.max_issues, self.max_issues_per_repo)
        if any(cap is not None and cap < 1 for cap in caps):
            raise ValueError("max_issues and max_issues_per_repo must be at least 1")

    @property
    def repo_cap(self) -> int | None:
        """The most issues one repository's listing may start: the smaller of the caps."""
        caps = [cap for cap in (self.max_issues, self.max_issues_per_repo) if cap is not None]
        return min(caps, default=None)


@dataclass(frozen=True, kw_only=True)
class ScanEntry:
    """One listed issue: its priority and complexity, and its plan or why it is skipped.

    ``position`` is its place in its repository's listing; ``skip_reason`` empty means the
    run would process it and apply ``plan``, costing ``calls`` API calls.
    """

    number: int
    title: str
    position: int
    priority: Priority | None
    priority_reason: str
    complexity: Complexity
    skip_reason: str = ""
    plan: Plan | None = None
    calls: int = 0
    repo: str = ""

    @property
    def admitted(self) -> bool:
        """Whether the run would process this issue."""
        return not self.skip_reason

    def top_factors(self, count: int = _TOP_FACTORS) -> list[str]:
        """The complexity factors that weighed most, as ``name=value``."""
        weighed = [f for f in self.complexity.factors if f.contribution > 0]
        weighed.sort(key=lambda factor: -factor.contribution)
        return [f"{factor.name}={factor.value:g}" for factor in weighed[:count]]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        priority = None if self.priority is None else self.priority.name.lower()
        plan = self.plan
        return {
            "repo": self.repo,
            "number": self.number,
            "title": self.title,
            "position": self.position,
            "admitted": self.admitted,
            "skip_reason": self.skip_reason,
            "priority": priority,
            "priority_reason": self.priority_reason,
            "complexity": self.complexity.score,
            "factors": self.top_factors(),
            "actions": [] if plan is None else [type(a).__name__ for a in plan.actions],
            "reasons": [] if plan is None else list(plan.reasons),
            "calls": self.calls,
        }


@dataclass(frozen=True, kw_only=True)
class ScanReport:
    """What a run would do: ``entries`` in the order the run takes them, then the skipped."""

    repo: str
    processor: str
    entries: tuple[ScanEntry, ...]
    pages: int
    processor_reads: int
    forecast: Forecast

    @property
    def admitted(self) -> list[ScanEntry]:
        """The issues the run would process, in the order it would take them."""
        return [entry for entry in self.entries if entry.admitted]

    @property
    def skipped(self) -> dict[str, int]:
        """How many issues each skip reason covers."""
        return dict(Counter(e.skip_reason for e in self.entries if e.skip_reason))

    @property
    def write_calls(self) -> int:
        """The API calls write-back would make for the admitted issues' plans."""
        return sum(entry.calls for entry in self.admitted)

    def to_dict(self, *, limit: int | None = None) -> dict[str, Any]:
        """Plain JSON-ready data, as a :class:`ScanSet` of this one repository gives it."""
        whole = ScanSet(processor=self.processor, reports=(self,), forecast=self.forecast)
        return whole.to_dict(limit=limit)


class CountingGitHub(ReadOnlyGitHub):
    """The read-only view processors get, counting the requests they make through it."""

    def __init__(self, client: GitHubClient) -> None:
        super().__init__(client)
        self.reads = 0

    async def get(self, path_or_url: str, **params: str) -> Any:
        """GET and decode, counting one read."""
        self.reads += 1
        return await super().get(path_or_url, **params)

    async def issue_pages(self, repo: str, *, state: str = "open") -> AsyncIterator[list[Issue]]:
        """The issue list one page at a time, counting one read a page."""
        async for page in super().issue_pages(repo, state=state):
            self.reads += 1
            yield page


@dataclass
class _Progress:
    entries: list[ScanEntry] = field(default_factory=list)
    writes: Counter[str] = field(default_factory=Counter)  # summed: memory stays flat
    listing_s: float = 0.0
    pages: int = 0  # listing requests


Kept = tuple[ScanEntry, Issue]


class Scanner:
    """Scans one repository for one processor; see :func:`scan` and :func:`scan_many`.

    :meth:`run` does it all; :func:`scan_many` takes the steps itself (:meth:`list_all`,
    :meth:`shortlisted`, :meth:`plan_kept`, :meth:`report`) to merge several repositories'
    shortlists under one cap, as a run does.
    """

    def __init__(
        self,
        client: GitHubClient,
        repo: str,
        processor: Processor,
        *,
        selector: Selector | None = None,
        options: ScanOptions | None = None,
        state: StateStore | None = None,
    ) -> None:
        self._client, self._repo, self._processor = client, repo, processor
        self._selector = selector or Selector(processor)
        self.options = options or ScanOptions()
        self._state = state
        self._github = CountingGitHub(client)
        self._counter = WriteBackCounter()  # one for every plan, as a run has one write-back
        self._priors: dict[int, LedgerEntry] = {}  # the ledger's word on issues not done
        self._gate = asyncio.Semaphore(self.options.concurrency)
        self._progress = _Progress()
        # Under a cap the run starts only the most urgent of the whole listing: keep those
        # (and their issues, to plan them once the listing ends); the rest reach the cap.
        self._shortlist: Shortlist[Kept] | None = None
        if self.options.repo_cap is not None:
            self._shortlist = Shortlist(self.options.repo_cap, _entry_priority)

    def __repr__(self) -> str:
        return f"<Scanner {self._repo} {self._processor.name} reads={self._github.reads}>"

    @property
    def repo(self) -> str:
        """The repository scanned."""
        return self._repo

    @property
    def processor_reads(self) -> int:
        """The requests the processors made through their read-only view."""
        return self._github.reads

    @property
    def pages(self) -> int:
        """The listing's requests (after :meth:`list_all`)."""
        return self._progress.pages

    @property
    def listing_s(self) -> float:
        """How long the listing took (after :meth:`list_all`)."""
        return self._progress.listing_s

    @property
    def writes(self) -> Counter[str]:
        """Write-back's calls for the plans made so far, by endpoint."""
        return self._progress.writes

    async def run(self) -> ScanReport:
        """List, select and plan every issue, then forecast the run."""
        await self.list_all()
        await self.plan_kept(self.shortlisted())
        return self.report()

    async def list_all(self) -> int:
        """List and select every issue; plan each at once unless a cap shortlists them.

        Returns how many issues were listed.
        """
        progress, started = self._progress, time.perf_counter()
        pages = self._client.iter_issue_pages(
            self._repo, state=self.options.state, per_page=self.options.per_page
        )
        async for page in pages:
            progress.pages += 1
            progress.entries += await self._page(page, len(progress.entries), progress.writes)
        progress.pages = max(progress.pages, 1)  # an empty listing is one request too
        progress.listing_s = time.perf_counter() - started
        return len(progress.entries)

    def shortlisted(self) -> list[Kept]:
        """The issues a capped run would start, most urgent first (none without a cap)."""
        return [] if self._shortlist is None else self._shortlist.take()

    async def _page(
        self, page: Sequence[Issue], offset: int, writes: Counter[str]
    ) -> list[ScanEntry]:
        entries = [self._entry(issue, offset + i) for i, issue in enumerate(page)]
        await self._skip_done(page, entries)
        if self._shortlist is not None:
            self._shortlist.offer((e, i) for e, i in zip(entries, page, strict=True) if e.admitted)
            return entries
        planned = await asyncio.gather(
            *(self._plan(issue, entry, writes) for issue, entry in zip(page, entries, strict=True))
        )
        return list(planned)

    def _entry(self, issue: Issue, position: int) -> ScanEntry:
        decision = self._selector.decide(issue)
        verdict = priority_of(issue)
        reason = verdict.reason
        if decision.priority is not None and decision.priority != verdict.priority:
            reason = f"{self._processor.name} says {decision.priority.name.lower()}"
        return ScanEntry(
            number=issue.number,
            title=issue.title,
            position=position,
            priority=decision.priority,
            priority_reason=reason if decision.admitted else "",
            complexity=complexity(issue),
            skip_reason=decision.reason,
            repo=self._repo,
        )

    async def _skip_done(self, page: Sequence[Issue], entries: list[ScanEntry]) -> None:
        """Mark what the ledger says is done at this version, as the run's selector would.

        The entries of the others are kept: write-back applies their plans after them.
        """
        if self._state is None:
            return
        names = [issue_name(self._repo, issue.number) for issue in page]
        ledger = await self._state.lookup_many(names, self._processor.name)
        for i, (issue, entry) in enumerate(zip(page, entries, strict=True)):
            prior = ledger.get(names[i])
            if not entry.admitted or prior is None:
                continue
            if finished_at(prior, issue.updated_at):
                entries[i] = replace(entry, skip_reason=ALREADY_PROCESSED)
            else:
                self._priors[issue.number] = prior

    async def plan_kept(self, kept: Sequence[Kept]) -> None:
        """Plan the ``kept`` issues a capped run would start; the other admitted reach the cap.

        Without a cap every admitted issue was planned as it was listed: nothing to do.
        """
        if self._shortlist is None:
            return
        progress = self._progress
        planned = await asyncio.gather(
            *(self._plan(issue, entry, progress.writes) for entry, issue in kept)
        )
        started = {entry.position for entry in planned}
        entries = progress.entries
        for i, entry in enumerate(entries):
            if entry.admitted and entry.position not in started:
                entries[i] = replace(entry, skip_reason=CAP_REACHED)
        for entry in planned:
            entries[entry.position] = entry

    async def _plan(self, issue: Issue, entry: ScanEntry, writes: Counter[str]) -> ScanEntry:
        if not entry.admitted:
            return entry
        prior = self._priors.pop(issue.number, None)
        async with self._gate:
            try:
                plan = await self._process(issue)
                calls = Counter[str]()
                if not plan.skip_reason:
                    calls = await self._counter.calls(plan, issue, prior)
            except Exception as error:  # noqa: BLE001 - one issue's failure is part of the report
                return replace(entry, skip_reason=f"would fail: {type(error).__name__}: {error}")
        if plan.skip_reason:
            return replace(entry, skip_reason=plan.skip_reason, plan=plan)
        writes.update(calls)
        return replace(entry, plan=plan, calls=calls.total())

    async def _process(self, issue: Issue) -> Plan:
        processor = self._processor
        if processor.isolation is Isolation.COMMAND:
            return _assumed_pull(processor.name, self._repo, issue)
        return await processor.process(issue, ProcessContext(repo=self._repo, github=self._github))

    def report(self) -> ScanReport:
        """The scan of this repository, with the forecast of a run of it alone."""
        progress = self._progress
        calls = tally_calls(
            listing=progress.pages,
            processor_reads=self._github.reads,
            writes=[progress.writes],
            repository=self.options.repository,
        )
        return ScanReport(
            repo=self._repo,
            processor=self._processor.name,
            entries=tuple(queue_order(progress.entries)),
            pages=progress.pages,
            processor_reads=self._github.reads,
            forecast=forecast(calls, self.budget(), self.measured(), now=time.time()),
        )

    def measured(self) -> Measured:
        """What the scan timed: its listing, and a typical request's latency."""
        return Measured(listing_s=self.listing_s, latency_s=self._latency())

    def budget(self) -> Budget:
        """The governor's view of the server's limits and the token's primary budget now."""
        governor = self._client.governor
        stats = governor.statistics()
        return Budget(
            limited=stats.mode is not Mode.UNLIMITED,
            settings=governor.settings,
            core=stats.budget.get("core"),
            max_concurrent=stats.max_concurrent,
        )

    def _latency(self) -> float:
        """A typical request's latency: the listing's median (a page is dearer than most).

        Pages after the first follow GitHub's links, which name the repository by id
        (``/repositories/{id}/issues``): the listing endpoint is the busiest issue list.
        """
        endpoints = self._client.statistics().endpoints
        lists = (
            (endpoint.requests, endpoint.latency_ms.get("p50", 0.0))
            for name, endpoint in endpoints.items()
            if name.startswith("GET ") and name.endswith("/issues")
        )
        return max(lists, default=(0, 0.0))[1] / 1000


def _entry_priority(kept: Kept) -> int:
    return _entry_priority_of(kept[0])


def queue_order(entries: Iterable[ScanEntry]) -> list[ScanEntry]:
    """Admitted entries as the queue serves them (priority, then listing order), then the rest.

    The skipped keep their listing order.
    """
    entries = list(entries)
    admitted = [e for e in entries if e.admitted]
    admitted.sort(key=lambda e: (_entry_priority_of(e), e.position))
    return admitted + sorted((e for e in entries if not e.admitted), key=lambda e: e.position)


async def scan(
    client: GitHubClient,
    repo: str,
    processor: Processor,
    *,
    selector: Selector | None = None,
    options: ScanOptions | None = None,
    state: StateStore | None = None,
) -> ScanReport:
    """Scan ``repo`` for ``processor``: what a run would do, and what it would cost.

    Call ``client.warm_up()`` first, as a run does, so that the forecast knows the server's
    limits and the token's budget. ``state`` is the run's ledger: issues it records as done
    at their current version are skipped as the run would skip them.
    """
    scanner = Scanner(client, repo, processor, selector=selector, options=options, state=state)
    return await scanner.run()


@dataclass(frozen=True, kw_only=True)
class ScanSet:
    """A scan of several repositories for one run: one report each, and the run's forecast.

    The forecast is of one run over all of them, under the one budget they share.
    """

    processor: str
    reports: tuple[ScanReport, ...]
    forecast: Forecast

    @property
    def repos(self) -> list[str]:
        """The repositories scanned, in the order they were given."""
        return [report.repo for report in self.reports]

    @property
    def entries(self) -> list[ScanEntry]:
        """Every listed issue: the admitted as the queue serves them, then the skipped.

        Within a priority the queue serves the repositories in turns.
        """
        admitted = [report.admitted for report in self.reports]
        ordered: list[ScanEntry] = []
        for priority in sorted({_entry_priority_of(e) for entries in admitted for e in entries}):
            ordered += in_turns(
                [[e for e in es if _entry_priority_of(e) == priority] for es in admitted]
            )
        return ordered + [e for report in self.reports for e in report.entries if not e.admitted]

    @property
    def listed(self) -> int:
        """Issues listed in every repository."""
        return sum(len(report.entries) for report in self.reports)

    @property
    def admitted(self) -> int:
        """Issues the run would process in every repository."""
        return sum(len(report.admitted) for report in self.reports)

    @property
    def skipped(self) -> dict[str, int]:
        """How many issues each skip reason covers, in every repository."""
        return dict(sum((Counter(report.skipped) for report in self.reports), Counter()))

    def to_dict(self, *, limit: int | None = None) -> dict[str, Any]:
        """Plain JSON-ready data; ``limit`` keeps only the first issues (``None``: all).

        ``repo`` names the repository when there is one (``None`` for several);
        ``by_repo`` has each repository's counts and calls.
        """
        reports = self.reports
        return {
            "repo": reports[0].repo if len(reports) == 1 else None,
            "repos": self.repos,
            "processor": self.processor,
            "listed": self.listed,
            "admitted": self.admitted,
            "skipped": self.skipped,
            "pages": sum(report.pages for report in reports),
            "processor_reads": sum(report.processor_reads for report in reports),
            "issues": [entry.to_dict() for entry in self.entries[:limit]],
            "by_repo": [_repo_summary(report) for report in reports],
            "forecast": self.forecast.to_dict(),
        }


def _repo_summary(report: ScanReport) -> dict[str, Any]:
    return {
        "repo": report.repo,
        "listed": len(report.entries),
        "admitted": len(report.admitted),
        "skipped": report.skipped,
        "calls": report.write_calls,
    }


def _entry_priority_of(entry: ScanEntry) -> int:
    return len(Priority) if entry.priority is None else int(entry.priority)


async def scan_many(
    client: GitHubClient,
    repos: Sequence[str],
    processor: Processor,
    *,
    selector: Selector | None = None,
    options: ScanOptions | None = None,
    state: StateStore | None = None,
    lookups: Counter[str] | None = None,
    on_scanned: Callable[[str, int], None] = lambda repo, listed: None,
) -> ScanSet:
    """Scan each of ``repos`` as one run over all of them would take them.

    As in a run, ``options.max_issues`` caps the whole run (the most urgent of every
    repository's shortlist, taken in turns on a tie) and ``options.max_issues_per_repo``
    each repository. ``lookups`` are the calls that found the repositories, when known
    (listing an organisation's, say); otherwise one ``GET /repos/{owner}/{repo}`` each is
    assumed. ``on_scanned`` hears of each repository, and how many issues it lists, once it
    is listed.
    """
    options = options or ScanOptions()
    scanners = [
        Scanner(client, repo, processor, selector=selector, options=options, state=state)
        for repo in repos
    ]
    for scanner in scanners:
        on_scanned(scanner.repo, await scanner.list_all())
    for scanner, kept in zip(scanners, _kept(scanners, options.max_issues), strict=True):
        await scanner.plan_kept(kept)
    reports = tuple(scanner.report() for scanner in scanners)
    if lookups is None:
        lookups = Counter({REPOSITORY: len(scanners)} if options.repository else {})
    calls = _calls_of_all(scanners, lookups)
    measured = _measured_of_all(scanners)
    whole = forecast(calls, scanners[0].budget(), measured, now=time.time())
    return ScanSet(processor=processor.name, reports=reports, forecast=whole)


def _kept(scanners: Sequence[Scanner], run_cap: int | None) -> list[list[Kept]]:
    """Each scanner's shortlist; under a run cap over several, only the merged most urgent."""
    lists = [scanner.shortlisted() for scanner in scanners]
    if run_cap is None or len(lists) < 2:
        return lists
    merged: Shortlist[Kept] = Shortlist(run_cap, _entry_priority)
    merged.offer(in_turns(lists))
    chosen = {id(kept) for kept in merged.take()}
    return [[kept for kept in shortlist if id(kept) in chosen] for shortlist in lists]


def _calls_of_all(scanners: Sequence[Scanner], lookups: Counter[str]) -> CallTally:
    return tally_calls(
        listing=sum(scanner.pages for scanner in scanners),
        processor_reads=sum(scanner.processor_reads for scanner in scanners),
        writes=[*(scanner.writes for scanner in scanners), lookups],
        repository=False,
    )


def _measured_of_all(scanners: Sequence[Scanner]) -> Measured:
    # A run lists its repositories at once: the longest listing bounds it, not their sum.
    # The latency is the one client's, whichever scanner reads it.
    listing_s = max(scanner.listing_s for scanner in scanners)
    return replace(scanners[0].measured(), listing_s=listing_s)


def _assumed_pull(name: str, repo: str, issue: Issue) -> Plan:
    pull = OpenPullRequest(head=f"autoissue/{name}/issue-{issue.number}", title="", body="")
    reason = "assumed: a command processor's plan is known only by running it"
    return Plan(name, repo, issue.number, issue.updated_at, (pull,), (reason,))
