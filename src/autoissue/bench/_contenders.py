"""The contenders of the triage workloads, each doing exactly the work of :mod:`._work`.

Each runs in a process of its own (see :mod:`._contender`) so that its memory and CPU are
its own. A contender returns how many issues it handled and how many failed for good; the
bench counts API calls, duplicates and lost issues at the emulator, not here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from autoissue.bench._work import bench_labels
from autoissue.engine import Engine, EngineOptions, Selector, fresh_backend
from autoissue.github import GitHubClient, GovernorSettings
from autoissue.model import AddLabels, Issue, Plan, Priority
from autoissue.processors import Isolation, ProcessContext
from autoissue.stream import gc_tuned

TOKEN = "bench-token"  # noqa: S105 - the emulator's stand-in, not a secret


@dataclass(frozen=True, kw_only=True)
class Target:
    """Where a contender works and how much CPU each classification costs."""

    base_url: str
    repo: str
    rounds: int
    concurrency: int = 0  # 0: the contender's own default
    time_scale: float = 1.0  # the emulator's compressed clock, for clients that pace


@dataclass
class Outcome:
    """What a contender reports of its own run (safe to count from several threads)."""

    handled: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, *, failed: bool) -> None:
        """One more issue handled, failed for good or not."""
        with self._lock:
            self.handled += 1
            self.failed += failed


class BenchTriage:
    """The workload as an autoissue processor: read comments, classify, plan the labels."""

    name = "bench-triage"
    isolation = Isolation.INLINE

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds

    def __repr__(self) -> str:
        return f"<BenchTriage rounds={self.rounds}>"

    def select(self, issue: Issue) -> Priority | None:
        """Every open issue is in the workload."""
        return Priority.LOW

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        """One GET of comments, the classification, one label write."""
        path = f"/repos/{context.repo}/issues/{issue.number}/comments"
        comments = await context.github.get(path, per_page="100")
        bodies = [comment.get("body") or "" for comment in comments]
        labels = bench_labels(issue.title, issue.body, bodies, self.rounds)
        actions = (AddLabels(tuple(labels)),)
        return Plan(self.name, context.repo, issue.number, issue.updated_at, actions)


async def run_autoissue(target: Target) -> Outcome:
    """The engine with its defaults (only the workload's selection: every open issue)."""
    processor = BenchTriage(target.rounds)
    selector = Selector(processor, skip_labels=frozenset(), skip_locked=False)
    options = EngineOptions(concurrency=target.concurrency) if target.concurrency else None
    # The governor must know the emulator's clock runs fast: its windows shrink with it.
    pacing = GovernorSettings(time_scale=target.time_scale)
    async with (
        GitHubClient(base_url=target.base_url, token=TOKEN, governor=pacing) as client,
        fresh_backend() as stores,  # the embedded default: SQLite, as `autoissue run` uses
    ):
        await client.warm_up()
        engine = Engine(client, target.repo, processor, options=options, selector=selector,
                        queue=stores.queue, state=stores.state)  # fmt: skip
        with gc_tuned():  # as `autoissue run` does
            summary = await engine.run()
    outcome = Outcome()
    outcome.handled, outcome.failed = summary.processed + summary.failed, summary.failed
    return outcome


# The wire ceiling: raw aiohttp, no engine, the same requests at a high concurrency.
WIRE_CONCURRENCY = 256
_WIRE_ATTEMPTS = 5


async def _wire_call(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> Any:
    """One request, retried on a 5xx or a dropped connection: the minimum to survive faults."""
    for attempt in range(_WIRE_ATTEMPTS):
        try:
            async with session.request(method, url, json=body) as answer:
                if answer.status < 500:
                    answer.raise_for_status()
                    return await answer.json()
        except (TimeoutError, aiohttp.ClientConnectionError):
            if attempt == _WIRE_ATTEMPTS - 1:
                raise
    raise aiohttp.ClientError(f"{method} {url} kept failing")


async def _wire_pages(session: aiohttp.ClientSession, first: str) -> AsyncIterator[Any]:
    url: str | None = first
    while url:
        async with session.get(url) as answer:
            if answer.status >= 500:
                continue  # a fault: ask for the same page again
            answer.raise_for_status()
            yield await answer.json()
            following = answer.links.get("next")
            url = str(following["url"]) if following else None


async def _wire_issue(session: aiohttp.ClientSession, target: Target, issue: Any) -> None:
    base = f"{target.base_url}/repos/{target.repo}/issues/{issue['number']}"
    comments = await _wire_call(session, "GET", f"{base}/comments?per_page=100")
    bodies = [comment.get("body") or "" for comment in comments]
    labels = bench_labels(issue["title"], issue.get("body"), bodies, target.rounds)
    await _wire_call(session, "POST", f"{base}/labels", {"labels": labels})


async def guarded(work: Coroutine[Any, Any, None], outcome: Outcome) -> None:
    """Await one issue's work and count it, as failed if it raised."""
    try:
        await work
    except Exception:  # noqa: BLE001 - a contender's failure is counted, not raised
        outcome.count(failed=True)
    else:
        outcome.count(failed=False)


async def run_wire(target: Target) -> Outcome:
    """Raw aiohttp: page through, then GET comments and POST labels for every issue."""
    outcome = Outcome()
    concurrency = target.concurrency or WIRE_CONCURRENCY
    limit = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def one(issue: Any) -> None:
            async with limit:
                await guarded(_wire_issue(session, target, issue), outcome)

        pages = _wire_pages(session, f"{target.base_url}/repos/{target.repo}/issues?per_page=100")
        tasks = [
            asyncio.create_task(one(issue))
            async for page in pages
            for issue in page
            if "pull_request" not in issue
        ]
        await asyncio.gather(*tasks)
    return outcome


def run_in_threads(
    items: Any, handle: Callable[[Any], None], threads: int, outcome: Outcome
) -> None:
    """Hand every item to ``handle`` on a pool of ``threads`` (1: in this thread)."""

    def guarded(item: Any) -> None:
        try:
            handle(item)
        except Exception:  # noqa: BLE001 - a contender's failure is counted, not raised
            outcome.count(failed=True)
        else:
            outcome.count(failed=False)

    if threads == 1:
        for item in items:
            guarded(item)
        return
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(guarded, item) for item in items]:
            future.result()


Runner = Callable[[Target], Coroutine[Any, Any, Outcome]]
