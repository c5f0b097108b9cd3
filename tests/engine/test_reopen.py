"""Reopened issues come back at high priority; after three rounds a human is asked instead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from autoissue import FakeClock
from autoissue.emulator import Emulator, EmulatorConfig
from autoissue.engine import Engine
from autoissue.engine._reopen import HandOff, ReopenCounter
from autoissue.github import GitHubClient
from autoissue.model import Issue, Priority
from autoissue.state import MemoryStateStore, open_state
from tests.engine._commenter import Commenter

REPO = "acme/widgets"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emulator(clock: FakeClock) -> AsyncIterator[Emulator]:
    running = Emulator(EmulatorConfig(repo=REPO, issues=12, seed=2), clock=clock)
    await running.start()
    yield running
    await running.close()


def item(emulator: Emulator, number: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = emulator.state()["repos"][0]["issues"]
    return items[number - 1]


def first_open(emulator: Emulator) -> int:
    items: list[dict[str, Any]] = emulator.state()["repos"][0]["issues"]
    return next(
        i["number"]
        for i in items
        if i["state"] == "open" and not i["is_pull_request"] and not i["locked"] and not i["labels"]
    )


async def test_reopened_three_times_then_handed_to_a_human(
    emulator: Emulator, clock: FakeClock
) -> None:
    state = MemoryStateStore()
    async with GitHubClient(base_url=emulator.base_url, token="t0k3n") as client:
        await client.warm_up()

        async def run() -> int:
            clock.advance(10)  # every step lands in a later second, as people's do
            summary = await Engine(client, REPO, Commenter(), state=state).run()
            return summary.processed

        number = first_open(emulator)
        assert await run() > 1
        assert await run() == 0  # nothing changed
        for _ in range(2):
            await reopen(client, clock, number)
            assert await run() == 1  # the reopened issue, again
        await reopen(client, clock, number)
        assert await run() == 1  # the handoff, this time
    labels = item(emulator, number)["labels"]
    assert "needs-human" in labels
    bodies = [c["body"] for c in item(emulator, number)["comments"]]
    assert sum("left to a human" in body for body in bodies) == 1
    assert sum("seen #" in body for body in bodies) == 1  # edited in place, never duplicated


async def reopen(client: GitHubClient, clock: FakeClock, number: int) -> None:
    path = f"/repos/{REPO}/issues/{number}"
    clock.advance(5)
    await client.request("PATCH", path, json={"state": "closed"}, idempotent=True)
    clock.advance(5)
    await client.request("PATCH", path, json={"state": "open"}, idempotent=True)


async def test_a_round_is_counted_once() -> None:
    counter = ReopenCounter(MemoryStateStore(), "triage")
    assert await counter.count("o/r#1", "t1") == 1
    assert await counter.count("o/r#1", "t1") == 1
    assert await counter.count("o/r#1", "t2") == 2
    assert "limit=3" in repr(counter)


async def test_workers_counting_at_once_count_each_round_once(tmp_path: Path) -> None:
    async with await open_state(f"sqlite:///{tmp_path / 'state.db'}") as state:
        workers = [ReopenCounter(state, "triage") for _ in range(4)]
        rounds = ["t1", "t2", "t1", "t2"]
        await asyncio.gather(*(w.count("o/r#1", r) for w, r in zip(workers, rounds, strict=True)))
        assert await workers[0].count("o/r#1", "t2") == 2
        assert await ReopenCounter(state, "other").count("o/r#1", "t1") == 1  # per processor
        assert await workers[0].count("o/r#2", "t1") == 1  # per issue
        assert (await state.statistics()).entries == 0  # not in the ledger


def test_the_handoff_takes_only_what_it_is_sent() -> None:
    handoff = HandOff()
    issue = Issue(number=1, title="t", state="open", updated_at="u")
    assert handoff.select(issue) is Priority.HIGH
    assert repr(handoff) == "<HandOff>"
