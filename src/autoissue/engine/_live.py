"""Live intake: issues that changed just now, admitted one delivery at a time.

::

    webhook delivery ──▶ offer(repo, issues) ──▶ Intake(repo, processor).offer ──▶ queue
    reconcile sweep  ──▶ sweep(repo, since)  ──▶ Intake(repo, processor).run    ──▶ (at least HIGH
                                                                                    for offers)

Both go through the same :class:`~autoissue.engine._intake.Intake` as a run's listing:
the same selection, ledger, reopen rules and idempotency keys, so an issue a delivery and a
sweep both bring is enqueued once per version; and each version put raises the issue's queued
mark, so a worker that claims an older version still queued leaves it to the newest. Offered
issues go ahead of the backlog (at least ``HIGH``): they are what someone is waiting for. A
sweep lists what changed since the last sweep's start (``since``, kept in the state store per
repository), so a receiver that was down misses nothing, and a sweep with nothing new costs
one request. That mark holds while sweeps find nothing new, so each asks for the very listing
the one before did: its ETag answers it with a 304, which GitHub does not count against the
rate limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import AutoIssueError
from autoissue.engine._intake import Intake, IntakeSetup, Pages
from autoissue.engine._selector import Selector
from autoissue.engine._summary import RunTally
from autoissue.github import GitHubClient
from autoissue.model import Issue, Priority
from autoissue.processors import Processor
from autoissue.queue import Queue
from autoissue.state import StateStore

__all__ = ["LiveIntake"]

logger = logging.getLogger(__name__)

#: Where the start of a repository's last complete sweep is kept (ISO 8601).
_SWEPT = "live:swept:"
#: How far before its start a sweep's mark is put: the clocks here and at GitHub may differ.
SKEW_S = 300.0
_ISO = "%Y-%m-%dT%H:%M:%SZ"
#: How long a mark holds while sweeps find nothing new: listings since then stay short.
MARK_HOLD_S = 3600.0


@dataclass(frozen=True, kw_only=True)
class _Setup:
    client: GitHubClient
    queue: Queue
    state: StateStore
    processors: Sequence[Processor]
    tally: RunTally
    on_enqueued: Callable[[], None]
    repos: Collection[str] | None
    priority: Priority
    dry_run: bool
    selector: Callable[[Processor], Selector]


class LiveIntake:
    """Admits issues as they change: :meth:`offer` for deliveries, :meth:`sweep` to catch up.

    ``repos`` are the repositories served (``None``: whatever a delivery names);
    ``processors`` each get every admitted issue; ``tally`` is counted into (a worker's,
    to share its summary); ``on_enqueued`` is told after each offer or swept page (the
    worker's wake-up); ``priority`` is the least an offered issue gets; ``selector``
    builds each processor's :class:`Selector` (the run's selection flags); ``clock`` dates
    and paces the sweeps.
    """

    def __init__(
        self,
        client: GitHubClient,
        queue: Queue,
        state: StateStore,
        processors: Sequence[Processor],
        *,
        tally: RunTally | None = None,
        on_enqueued: Callable[[], None] = lambda: None,
        repos: Collection[str] | None = None,
        priority: Priority = Priority.HIGH,
        dry_run: bool = False,
        selector: Callable[[Processor], Selector] = Selector,
        clock: Clock | None = None,
    ) -> None:
        self.setup = _Setup(
            client=client,
            queue=queue,
            state=state,
            processors=processors,
            tally=tally or RunTally(),
            on_enqueued=on_enqueued,
            repos=repos,
            priority=priority,
            dry_run=dry_run,
            selector=selector,
        )
        self._intakes: dict[tuple[str, str], Intake] = {}
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"<LiveIntake repos={len({repo for repo, _ in self._intakes})}>"

    def serves(self, repo: str) -> bool:
        """Whether issues of ``repo`` are admitted at all."""
        return self.setup.repos is None or repo in self.setup.repos

    async def offer(self, repo: str, issues: Sequence[Issue]) -> int:
        """Admit ``issues`` of ``repo`` for every processor; return how many were enqueued."""
        if not self.serves(repo):
            self.setup.tally.skip("repository not served")
            return 0
        enqueued = 0
        for processor in self.setup.processors:
            intake = self._intake(repo, processor)
            enqueued += await intake.offer(issues, at_least=self.setup.priority)
        return enqueued

    async def sweep(self, repo: str) -> int:
        """Enqueue what changed in ``repo`` since the last complete sweep; return how many.

        The first sweep of a repository lists its open issues whole: its backlog. The mark
        moves only once a sweep has listed to the end, to a little before that sweep began
        (``SKEW_S``, for the clocks of this machine and the server), so a sweep cut short is
        repeated and an issue changed while one ran is seen by the next; what is seen twice
        is skipped by the ledger and the idempotency keys. A sweep that enqueues nothing
        leaves the mark where it was (for up to :data:`MARK_HOLD_S`): the next one repeats
        the same request, which the ETag cache makes free while nothing changes.
        """
        since = await self._swept(repo)
        began = self._clock.time()
        before = self.setup.tally.enqueued
        for processor in self.setup.processors:
            pages = self.setup.client.iter_issue_pages(repo, since=since)
            await self._intake(repo, processor, pages=pages).run()
        enqueued = self.setup.tally.enqueued - before
        if enqueued or _held_too_long(since, began):
            await self.mark_swept(repo, began)
        return enqueued

    async def mark_swept(self, repo: str, began: float) -> None:
        """Say ``repo`` was listed whole from ``began`` (epoch seconds): sweeps go on from it."""
        await self.setup.state.save_artifact(_SWEPT + repo, _iso(began - SKEW_S).encode())

    async def sweep_forever(
        self, every_s: float, *, on_swept: Callable[[str], None] = lambda repo: None
    ) -> None:
        """Every ``every_s`` seconds, sweep every served repository at once, until cancelled.

        At once, so that the queue holds every repository's changes and serves them in turns.
        A sweep that fails is logged and tried again the next round; ``on_swept`` hears of
        each that listed to the end.
        """
        repos = sorted(self.setup.repos or ())
        while True:
            await asyncio.gather(*(self._sweep_logged(repo, on_swept) for repo in repos))
            await self._clock.sleep(every_s)

    async def _sweep_logged(self, repo: str, on_swept: Callable[[str], None]) -> None:
        try:
            enqueued = await self.sweep(repo)
        except AutoIssueError as error:
            logger.warning("could not sweep %s (tried again next round): %s", repo, error)
            return
        on_swept(repo)
        logger.info("swept %s: %d enqueued", repo, enqueued)

    async def _swept(self, repo: str) -> str | None:
        mark = await self.setup.state.load_artifact(_SWEPT + repo)
        return None if mark is None else mark.decode()

    def _intake(self, repo: str, processor: Processor, pages: Pages | None = None) -> Intake:
        """The intake offers go through (one per repository and processor), or a sweep's."""
        if pages is not None:
            return Intake(self._intake_setup(repo, processor, pages))
        key = (repo, processor.name)
        if key not in self._intakes:
            self._intakes[key] = Intake(self._intake_setup(repo, processor, None))
        return self._intakes[key]

    def _intake_setup(self, repo: str, processor: Processor, pages: Pages | None) -> IntakeSetup:
        setup = self.setup
        return IntakeSetup(
            client=setup.client,
            repo=repo,
            processor=processor,
            queue=setup.queue,
            state=setup.state,
            tally=setup.tally,
            selector=setup.selector(processor),
            refuse=lambda: False,
            on_enqueued=setup.on_enqueued,
            pages=pages,
            dry_run=setup.dry_run,
        )


def _held_too_long(mark: str | None, now: float) -> bool:
    """Whether a sweep mark is to move although nothing new was found: none yet, or old."""
    if mark is None:
        return True
    held = now - datetime.strptime(mark, _ISO).replace(tzinfo=UTC).timestamp()
    return held > MARK_HOLD_S


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(_ISO)
