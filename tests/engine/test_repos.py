"""Several repositories in one run, and issues admitted as they change (live intake)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest

from autoissue import FakeClock
from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.engine import (
    Engine,
    EngineOptions,
    LiveIntake,
    Observers,
    Worker,
    WorkerOptions,
)
from autoissue.engine._live import MARK_HOLD_S
from autoissue.engine._work import WorkItem, message_for
from autoissue.github import GitHubClient
from autoissue.model import Issue, Plan, Priority, decode_issue
from autoissue.processors import Triage
from autoissue.queue import MemoryQueue
from autoissue.state import MemoryStateStore

REPOS = ("acme/one", "acme/two", "acme/three")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repos=REPOS, issues=60)) as running:
        yield running


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(base_url=emulator.base_url, token="t0k3n") as github:
        # As a run does: the emulator has no limits, so writes are not spaced a second apart.
        await github.warm_up()
        yield github


def dry(**options: object) -> EngineOptions:
    return EngineOptions(dry_run=True, **options)  # type: ignore[arg-type]


async def test_several_repositories_are_listed_into_one_queue_and_counted_apart(
    client: GitHubClient,
) -> None:
    summary = await Engine(client, REPOS, Triage(), options=dry()).run()
    assert summary.repo == "acme/one, acme/two, acme/three"
    assert sorted(summary.by_repo) == sorted(REPOS)
    assert sum(counts["listed"] for counts in summary.by_repo.values()) == summary.listed
    assert sum(counts.get("processed", 0) for counts in summary.by_repo.values()) == (
        summary.processed
    )
    assert all(counts["processed"] > 0 for counts in summary.by_repo.values())


async def test_a_run_cap_over_several_repositories_takes_each_in_turn(
    client: GitHubClient,
) -> None:
    summary = await Engine(client, REPOS, Triage(), options=dry(max_issues=9)).run()
    assert summary.processed + summary.skipped_at_work == 9
    assert {repo: counts["enqueued"] for repo, counts in summary.by_repo.items()} == dict.fromkeys(
        REPOS, 3
    )
    assert summary.skipped["cap reached"] > 0


async def test_a_cap_per_repository_bounds_each_listing(client: GitHubClient) -> None:
    summary = await Engine(client, REPOS, Triage(), options=dry(max_issues_per_repo=2)).run()
    assert [summary.by_repo[repo]["enqueued"] for repo in REPOS] == [2, 2, 2]


async def test_a_repository_named_twice_is_listed_once(client: GitHubClient) -> None:
    summary = await Engine(client, ["acme/one", "acme/one"], Triage(), options=dry()).run()
    assert list(summary.by_repo) == ["acme/one"]


def test_a_run_needs_a_repository_and_pages_replace_only_one() -> None:
    github = GitHubClient(base_url="http://127.0.0.1:9", token="t")
    with pytest.raises(ValueError, match="at least one repository"):
        Engine(github, [], Triage())

    async def nothing() -> AsyncIterator[list[object]]:
        yield []

    with pytest.raises(ValueError, match="not several"):
        Engine(github, REPOS, Triage(), pages=nothing())  # type: ignore[arg-type]


def create_issue(emulator: Emulator, repo: str, title: str) -> int:
    request = urllib.request.Request(
        f"{emulator.base_url}/repos/{repo}/issues",
        data=json.dumps({"title": title, "body": "It crashes with a traceback."}).encode(),
        headers={"Authorization": "token someone", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        number: int = json.load(answer)["number"]
        return number


async def one_issue(client: GitHubClient, repo: str, number: int) -> Issue:
    response = await client.request("GET", f"/repos/{repo}/issues/{number}")
    return decode_issue(response.body)


def live(client: GitHubClient, queue: MemoryQueue, state: MemoryStateStore) -> LiveIntake:
    return LiveIntake(client, queue, state, [Triage()], repos={"acme/one", "acme/two"})


async def drain(client: GitHubClient, queue: MemoryQueue, state: MemoryStateStore) -> int:
    worker = Worker(client, queue, state, [Triage()], options=WorkerOptions(dry_run=True))
    return (await worker.run()).processed


async def test_an_offered_issue_goes_ahead_of_the_backlog(
    client: GitHubClient, emulator: Emulator
) -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    intake = live(client, queue, state)
    number = create_issue(emulator, "acme/two", "Crash when saving")
    issue = await one_issue(client, "acme/two", number)
    assert await intake.offer("acme/two", [issue]) == 1
    assert await intake.offer("acme/two", [issue]) == 0  # the same version: already queued
    [lease] = await queue.claim_many(5)
    assert lease.priority == Priority.HIGH
    assert repr(intake) == "<LiveIntake repos=1>"


async def test_an_offer_for_a_repository_not_served_is_refused(client: GitHubClient) -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    intake = live(client, queue, state)
    issue = await one_issue(client, "acme/three", 1)
    assert await intake.offer("acme/three", [issue]) == 0
    assert intake.setup.tally.skipped["repository not served"] == 1
    assert not intake.serves("acme/three")
    assert intake.serves("acme/one")


async def test_sweeps_list_the_backlog_once_then_only_what_changed(
    client: GitHubClient, emulator: Emulator
) -> None:
    queue, state = MemoryQueue(), MemoryStateStore()
    intake = live(client, queue, state)
    backlog = await intake.sweep("acme/one")
    assert backlog > 0
    assert await drain(client, queue, state) == backlog
    assert await intake.sweep("acme/one") == 0  # nothing changed since: nothing again
    hits = client.statistics().cache_hits
    assert await intake.sweep("acme/one") == 0
    # The mark held, so the same listing was asked for again: answered by a 304.
    assert client.statistics().cache_hits > hits
    create_issue(emulator, "acme/one", "Crash when loading")
    assert await intake.sweep("acme/one") == 1


async def test_a_sweep_mark_holds_while_nothing_is_new_but_not_for_ever(
    client: GitHubClient,
) -> None:
    queue, state, clock = MemoryQueue(), MemoryStateStore(), FakeClock(time.time())
    intake = LiveIntake(client, queue, state, [Triage()], repos={"acme/two"}, clock=clock)

    async def mark() -> bytes | None:
        return await state.load_artifact("live:swept:acme/two")

    assert await intake.sweep("acme/two") > 0
    first = await mark()
    clock.advance(600)
    assert await intake.sweep("acme/two") == 0
    assert await mark() == first
    clock.advance(MARK_HOLD_S)
    assert await intake.sweep("acme/two") == 0
    assert await mark() != first


async def test_a_watching_run_goes_on_and_takes_what_changed_since(
    client: GitHubClient, emulator: Emulator
) -> None:
    options = EngineOptions(watch_s=0.2, concurrency=8)
    plans: list[Plan] = []
    engine = Engine(
        client, ["acme/three"], Triage(), options=options, observers=Observers(on_plan=plans.append)
    )
    running = asyncio.create_task(engine.run())
    while not engine.tally.processed or engine.worker.started < engine.tally.enqueued:  # noqa: ASYNC110 - polls the run's own counters
        await asyncio.sleep(0.05)
    listed, enqueued = engine.tally.listed, engine.tally.enqueued
    number = create_issue(emulator, "acme/three", "Crash when watching")
    while not any(plan.issue == number for plan in plans):
        assert not running.done()
        await asyncio.sleep(0.05)
    engine.request_stop("SIGINT")
    summary = await asyncio.wait_for(running, 10)
    assert summary.interrupted == "SIGINT"
    assert summary.listed > listed  # swept again (``since``: what changed lately)
    assert summary.enqueued == enqueued + 1  # and only the new issue is work again


def test_a_watch_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="watch_s"):
        EngineOptions(watch_s=0)


async def test_an_offer_is_not_held_back_by_a_full_queue(
    client: GitHubClient, emulator: Emulator
) -> None:
    queue, state = MemoryQueue(max_depth=1), MemoryStateStore()
    await queue.put(b"a backlog item")
    intake = live(client, queue, state)
    number = create_issue(emulator, "acme/one", "Crash when full")
    issue = await one_issue(client, "acme/one", number)
    assert await asyncio.wait_for(intake.offer("acme/one", [issue]), 2) == 1


async def test_an_older_version_queued_behind_a_newer_one_is_not_planned_again(
    client: GitHubClient,
) -> None:
    # Two deliveries for one issue: the newer version is worked first (or first of the two);
    # once it is done, the older one is stale, and is settled without a plan.
    queue, state = MemoryQueue(), MemoryStateStore()
    issue = await one_issue(client, "acme/two", 2)
    older = msgspec.structs.replace(issue, updated_at="2020-01-01T00:00:00Z")
    newer = msgspec.structs.replace(issue, updated_at="2020-01-02T00:00:00Z")
    await queue.put_many(
        [
            message_for(WorkItem("acme/two", "triage", newer), Priority.HIGH),
            message_for(WorkItem("acme/two", "triage", older), Priority.LOW),
        ]
    )
    plans: list[Plan] = []
    worker = Worker(client, queue, state, [Triage()], observers=Observers(on_plan=plans.append))
    summary = await worker.run()
    assert [plan.updated_at for plan in plans] == ["2020-01-02T00:00:00Z"]
    assert summary.skipped["already processed"] == 1
    assert summary.skipped_at_work == 1
    assert summary.still_queued == 0
