"""What a processor is: the contract between the engine and whatever handles an issue."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from autoissue.github import GitHubClient
from autoissue.model import Issue, Plan, Priority
from autoissue.state import StateStore, issue_name


class Isolation(enum.Enum):
    """Where a processor runs."""

    INLINE = "inline"  # an async handler in the engine's own process
    POOL = "pool"  # a CPU-bound handler in the warm process pool
    COMMAND = "command"  # one independent OS process per issue


class ReadOnlyGitHub:
    """What a processor may ask of GitHub: reads only, so a processor can never write."""

    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<ReadOnlyGitHub {self._client.base_url}>"

    async def get(self, path_or_url: str, **params: str) -> Any:
        """GET a path under the API's base URL and return the decoded JSON."""
        return await self._client.get_json(path_or_url, params=params or None)

    async def issue_pages(self, repo: str, *, state: str = "open") -> AsyncIterator[list[Issue]]:
        """The repository's issue list (pull requests included), one page at a time.

        Pages follow GitHub's ``next`` links, as the API asks.
        """
        async for page in self._client.iter_issue_pages(repo, state=state):
            yield page


class Artifacts:
    """What a processor keeps between runs (a learned model): named blobs in the backend.

    Keys live under the processor's ``namespace``, so two processors never share one.
    """

    def __init__(self, store: StateStore, namespace: str) -> None:
        self._store = store
        self._namespace = namespace

    def __repr__(self) -> str:
        return f"<Artifacts {self._namespace} in {self._store.describe()}>"

    async def load(self, key: str) -> bytes | None:
        """The data saved under ``key``, or ``None``."""
        return await self._store.load_artifact(f"{self._namespace}:{key}")

    async def save(self, key: str, data: bytes) -> None:
        """Keep ``data`` under ``key``, replacing what was there."""
        await self._store.save_artifact(f"{self._namespace}:{key}", data)


class OwnLedger:
    """What the ledger says a processor did to a repository's issues: read only."""

    def __init__(self, store: StateStore, processor: str) -> None:
        self._store = store
        self._processor = processor

    def __repr__(self) -> str:
        return f"<OwnLedger {self._processor} in {self._store.describe()}>"

    async def labels_added(self, repo: str, numbers: Sequence[int]) -> dict[int, frozenset[str]]:
        """The labels the processor added to each of these issues, for those it touched."""
        names = {issue_name(repo, number): number for number in numbers}
        found = await self._store.lookup_many(list(names), self._processor)
        return {names[name]: entry.labels_added for name, entry in found.items()}


@dataclass(frozen=True, kw_only=True)
class ProcessContext:
    """What a processor is given besides the issue.

    ``artifacts`` is where it may keep data between runs, and ``ledger`` what it did in
    earlier ones; ``None`` when nothing persists (``scan``'s forecasts).
    """

    repo: str
    github: ReadOnlyGitHub
    artifacts: Artifacts | None = None
    ledger: OwnLedger | None = None


@runtime_checkable
class Processor(Protocol):
    """Decides whether an issue is its business, and what to do about it.

    ``process`` returns a :class:`~autoissue.model.Plan` and performs no GitHub write
    itself: write-back applies the plan, or ``--dry-run`` saves it.
    """

    name: str
    isolation: Isolation

    def select(self, issue: Issue) -> Priority | None:
        """The issue's priority for this processor, or ``None`` to leave it alone."""

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """The plan for one issue."""


@dataclass(frozen=True, slots=True)
class PoolWork:
    """How pool workers plan one repository's issues for a processor.

    A worker calls ``function(state, issue)`` and sends the plan back. ``function`` must be an
    importable top-level callable, and ``state`` travels with every issue, so it should pickle
    small: large data goes into shared memory and travels by name
    (:class:`~autoissue.pool.SharedArray`, :class:`~autoissue.pool.SharedStrings`).
    """

    function: Callable[[Any, Issue], Plan]
    state: Any

    def run(self, issue: Issue) -> Plan:
        """Plan ``issue`` here, in this process: what a worker does."""
        return self.function(self.state, issue)


@runtime_checkable
class Pooled(Protocol):
    """A processor whose work per issue is CPU-bound: ``isolation = Isolation.POOL``.

    The engine calls :meth:`prepare` once per repository, in its own process, and then has
    the warm pool's workers plan each issue with the :class:`PoolWork` it returned. Its
    ``process`` plans an issue in the calling process (``scan`` and runs without a pool).
    """

    async def prepare(self, context: ProcessContext) -> PoolWork:
        """What the workers need to plan this repository's issues."""


@runtime_checkable
class Noting(Protocol):
    """A processor with something to tell the user once per run (what it learned, and why not).

    The run summary lists its notes after the counts.
    """

    def notes(self) -> list[str]:
        """The processor's notes so far, in order."""
