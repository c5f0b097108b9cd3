"""The contenders of the triage workloads, each doing exactly the work of :mod:`._work`.

Each runs in a process of its own (see :mod:`._contender`) so that its memory and CPU are
its own. A contender returns how many issues it handled and how many failed for good; the
bench counts API calls, duplicates and lost issues at the emulator, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yarl

from autoissue import _runtime
from autoissue.bench._dead import dead_letter_numbers
from autoissue.bench._work import bench_labels
from autoissue.model import AddLabels, Issue, Plan, Priority
from autoissue.processors import Isolation, ProcessContext

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
    #: The issues given up on, by number: the referee checks each against the final state.
    gave_up: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, number: int, *, failed: bool) -> None:
        """One more issue handled, failed for good or not."""
        with self._lock:
            self.handled += 1
            self.failed += failed
            if failed:
                self.gave_up.add(number)


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


#: ``autoissue run`` names the workload's processor by its import path.
BENCH_PROCESSOR = f"{__name__}:BenchTriage"


def autoissue_argv(target: Target, state_dir: Path) -> list[str]:
    """``autoissue run`` for the workload: its defaults, the workload's processor and scope.

    The workload is every open issue, so nothing is skipped for its labels or for being
    locked; a fresh state directory holds the default SQLite backend, and ``--config`` an
    empty file keeps a settings file in the working directory out of the measurement.
    """
    argv = [
        *("--config", os.devnull, "run", "--repo", target.repo, "--base-url", target.base_url),
        *("--processor", BENCH_PROCESSOR, "--option", f"{BENCH_PROCESSOR}.rounds={target.rounds}"),
        *("--no-skip-labels", "--include-locked", "--quiet", "--state-dir", str(state_dir)),
        *("--emulator-time-scale", str(target.time_scale)),
    ]
    if target.concurrency:
        argv += ["--concurrency", str(target.concurrency)]
    return argv


def run_autoissue(target: Target) -> Outcome:
    """``autoissue run`` itself, in this process as a user starts it, read from its summary."""
    from autoissue.cli import main  # noqa: PLC0415 - the command line imports the whole tool

    os.environ["GITHUB_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory(prefix="autoissue-bench-") as folder:
        state_dir = Path(folder)
        with contextlib.suppress(SystemExit):  # exit status 1 when issues failed: counted below
            main(autoissue_argv(target, state_dir), standalone_mode=False)
        (saved,) = (state_dir / "runs").glob("*.json")
        summary = json.loads(saved.read_text(encoding="utf-8"))
        dead = _runtime.run(dead_letter_numbers(f"sqlite:///{state_dir / 'state.db'}", 10**9))
    outcome = Outcome(gave_up=dead)
    outcome.handled = summary["processed"] + summary["failed"]
    outcome.failed = summary["failed"]
    return outcome


# The wire ceiling: raw aiohttp, no engine, the same requests; the bench sweeps its concurrency.
WIRE_CONCURRENCY = 256
WIRE_PAGES_IN_FLIGHT = 8
_WIRE_ATTEMPTS = 5


async def _wire_call(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> Any:
    """One request, retried on a 5xx or a dropped connection: the minimum to survive faults."""
    answer, _ = await _wire_answer(session, method, url, body)
    return answer


async def _wire_answer(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[Any, str | None]:
    """The decoded answer and its ``rel="last"`` link, retried like :func:`_wire_call`."""
    for attempt in range(_WIRE_ATTEMPTS):
        try:
            async with session.request(method, url, json=body) as answer:
                if answer.status < 500:
                    answer.raise_for_status()
                    last = answer.links.get("last")
                    return await answer.json(), str(last["url"]) if last else None
        except (TimeoutError, aiohttp.ClientConnectionError):
            if attempt == _WIRE_ATTEMPTS - 1:
                raise
    raise aiohttp.ClientError(f"{method} {url} kept failing")


async def _wire_pages(session: aiohttp.ClientSession, first: str) -> AsyncIterator[Any]:
    """Every page: the first, then the rest ``WIRE_PAGES_IN_FLIGHT`` at once, from its last link.

    As a competent aiohttp user lists a GitHub collection whose size the first page tells.
    """
    page, last = await _wire_answer(session, "GET", first)
    yield page
    if last is None:
        return
    final = yarl.URL(last)
    count = int(final.query.get("page", "1"))
    gate = asyncio.Semaphore(WIRE_PAGES_IN_FLIGHT)

    async def fetch(number: int) -> Any:
        async with gate:
            return await _wire_call(session, "GET", str(final.update_query(page=number)))

    for ready in asyncio.as_completed([fetch(n) for n in range(2, count + 1)]):
        yield await ready


async def _wire_issue(session: aiohttp.ClientSession, target: Target, issue: Any) -> None:
    base = f"{target.base_url}/repos/{target.repo}/issues/{issue['number']}"
    comments = await _wire_call(session, "GET", f"{base}/comments?per_page=100")
    bodies = [comment.get("body") or "" for comment in comments]
    labels = bench_labels(issue["title"], issue.get("body"), bodies, target.rounds)
    await _wire_call(session, "POST", f"{base}/labels", {"labels": labels})


async def guarded(work: Coroutine[Any, Any, None], outcome: Outcome, number: int) -> None:
    """Await issue ``number``'s work and count it, as failed if it raised."""
    try:
        await work
    except Exception:  # noqa: BLE001 - a contender's failure is counted, not raised
        outcome.count(number, failed=True)
    else:
        outcome.count(number, failed=False)


def _wire_session(concurrency: int) -> aiohttp.ClientSession:
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}
    # Room for the pages in flight beside the issues' requests: listing never waits on them.
    connector = aiohttp.TCPConnector(limit=concurrency + WIRE_PAGES_IN_FLIGHT)
    return aiohttp.ClientSession(headers=headers, connector=connector)


async def run_wire(target: Target) -> Outcome:
    """Raw aiohttp: list the pages concurrently; GET comments and POST labels for every issue."""
    outcome = Outcome()
    concurrency = target.concurrency or WIRE_CONCURRENCY
    limit = asyncio.Semaphore(concurrency)
    async with _wire_session(concurrency) as session:

        async def one(issue: Any) -> None:
            async with limit:
                await guarded(_wire_issue(session, target, issue), outcome, issue["number"])

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
    """Hand every issue (anything with a ``number``) to ``handle`` on ``threads`` threads."""

    def guarded(item: Any) -> None:
        try:
            handle(item)
        except Exception:  # noqa: BLE001 - a contender's failure is counted, not raised
            outcome.count(item.number, failed=True)
        else:
            outcome.count(item.number, failed=False)

    if threads == 1:
        for item in items:
            guarded(item)
        return
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(guarded, item) for item in items]:
            future.result()


#: A contender: a coroutine function, or (for a command line that runs its own event loop) a
#: plain function returning the outcome.
Runner = Callable[[Target], Coroutine[Any, Any, Outcome] | Outcome]
