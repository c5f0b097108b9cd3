from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from autoissue import FakeClock
from autoissue.engine import Engine, EngineOptions, Observers, PlanWriter, RunTally
from autoissue.github import GitHubClient
from autoissue.github._retry import RetryPolicy
from autoissue.model import Issue, Plan, decode_plan
from autoissue.processors import ProcessContext, Triage
from autoissue.queue import MemoryQueue
from autoissue.queue import RetryPolicy as QueueRetryPolicy
from tests.github._scripted import Scripted, ScriptedServer


def issue_json(number: int, title: str, **extra: object) -> dict[str, object]:
    return {
        "number": number,
        "title": title,
        "state": "open",
        "updated_at": "2026-01-01T00:00:00Z",
        "labels": [],
        **extra,
    }


PAGE_ONE = [
    issue_json(1, "Crash on start"),
    issue_json(2, "Add dark mode", labels=[{"name": "p0"}]),
    issue_json(3, "A pull request", pull_request={"url": "x"}),
]
PAGE_TWO = [issue_json(4, "Typo in docs", labels=[{"name": "wontfix"}]), issue_json(5, "Why?")]


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    base = await scripted.start()
    next_link = f'<{base}/repositories/9/issues?page=2>; rel="next"'
    scripted.add("GET", "/repos/o/r/issues", Scripted(200, PAGE_ONE, {"link": next_link}))
    scripted.add("GET", "/repositories/9/issues", Scripted(200, PAGE_TWO))
    for number in (1, 2, 5):
        scripted.add("POST", f"/repos/o/r/issues/{number}/labels", Scripted(200, []))
    yield scripted
    await scripted.close()


def client(server: ScriptedServer) -> GitHubClient:
    return GitHubClient(base_url=server.base_url, token="t", clock=FakeClock())


def label_posts(server: ScriptedServer) -> dict[str, list[str]]:
    return {
        path: json.loads(body)["labels"]
        for method, path, _, body in server.requests
        if method == "POST"
    }


async def test_runs_every_page_and_writes_each_plan(server: ScriptedServer) -> None:
    plans: list[Plan] = []
    async with client(server) as github:
        engine = Engine(github, "o/r", Triage(), observers=Observers(on_plan=plans.append))
        summary = await engine.run()
    assert (summary.listed, summary.processed, summary.failed, summary.writes) == (5, 3, 0, 3)
    assert summary.skipped == {"pull request": 1, "label wontfix": 1}
    assert summary.api_calls == 5
    assert sorted(plan.issue for plan in plans) == [1, 2, 5]
    assert label_posts(server) == {
        "/repos/o/r/issues/1/labels": ["bug", "priority:high"],
        "/repos/o/r/issues/2/labels": ["enhancement"],  # its p0 names the priority already
        "/repos/o/r/issues/5/labels": ["question", "priority:low"],
    }
    assert summary.issues_per_s > 0
    assert summary.to_dict()["issues_per_s"] == round(summary.issues_per_s, 1)


async def test_dry_run_saves_plans_and_writes_nothing(
    server: ScriptedServer, tmp_path: Path
) -> None:
    writer = PlanWriter(tmp_path / "plans" / "run.jsonl")
    async with client(server) as github:
        options = EngineOptions(dry_run=True, concurrency=2)
        summary = await Engine(
            github, "o/r", Triage(), options=options, observers=Observers(plan_writer=writer)
        ).run()
    writer.close()
    assert summary.writes == 0
    assert label_posts(server) == {}
    lines = (tmp_path / "plans" / "run.jsonl").read_bytes().splitlines()
    assert sorted(decode_plan(line).issue for line in lines) == [1, 2, 5]
    assert writer.count == 3
    assert "plans=3" in repr(writer)


async def test_a_failing_write_fails_only_its_issue(server: ScriptedServer) -> None:
    failing = Scripted(422, {"message": "Validation Failed"})
    server.answers["POST /repos/o/r/issues/2/labels"].clear()
    server.add("POST", "/repos/o/r/issues/2/labels", failing)
    async with client(server) as github:
        summary = await Engine(github, "o/r", Triage()).run()
    assert (summary.processed, summary.failed) == (2, 1)
    url = f"{server.base_url}/repos/o/r/issues/2/labels"
    error = f"ValidationFailedError: 422 Validation Failed (POST {url})"
    assert summary.failures == [{"issue": 2, "error": error}]


class Exploding(Triage):
    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        if issue.number == 1:
            raise RuntimeError("processor bug")
        return await super().process(issue, context)


async def test_a_processor_exception_fails_only_its_issue(server: ScriptedServer) -> None:
    progress: list[int] = []
    async with client(server) as github:
        engine = Engine(
            github,
            "o/r",
            Exploding(),
            observers=Observers(on_progress=lambda t: progress.append(t.done)),
            # Retried as a run retries it, up to the dead letter, without a run's backoff.
            queue=MemoryQueue(retry=QueueRetryPolicy(base_s=0.01, cap_s=0.05)),
        )
        summary = await engine.run()
    assert summary.failed == 1
    assert summary.failures[0]["error"] == "RuntimeError: processor bug"
    assert progress[-1] == 5
    assert "done=5/5" in repr(engine)


async def test_a_listing_error_ends_the_run_with_that_error(server: ScriptedServer) -> None:
    server.answers["GET /repositories/9/issues"].clear()
    server.add("GET", "/repositories/9/issues", Scripted(500, {"message": "boom"}))
    once = RetryPolicy(attempts=1)
    github = GitHubClient(base_url=server.base_url, clock=FakeClock(), retry=once)
    async with github:
        with pytest.raises(Exception, match="500 boom"):
            await Engine(github, "o/r", Triage()).run()


def test_tally_keeps_only_the_first_failures() -> None:
    tally = RunTally()
    for number in range(150):
        tally.fail(number, ValueError("x"))
    assert tally.failed == 150
    assert len(tally.failures) == 100


@pytest.mark.parametrize(("kwargs"), [{"concurrency": 0}, {"state": "merged"}])
def test_engine_options_refuse_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"concurrency|state"):
        EngineOptions(**kwargs)  # type: ignore[arg-type]
