from __future__ import annotations

from collections.abc import Iterator

import pytest

from autoissue.emulator import Emulator, EmulatorConfig, run_in_thread
from autoissue.engine import Engine, EngineOptions
from autoissue.github import GitHubClient
from autoissue.model import (
    AddLabels,
    Close,
    Comment,
    Issue,
    OpenPullRequest,
    Plan,
    Priority,
    RemoveLabels,
)
from autoissue.processors import Isolation, ProcessContext, Processor, Triage
from autoissue.processors._duplicates import Duplicates
from autoissue.scan import ScanEntry, ScanOptions, scan
from autoissue.scan._forecast import REMOVE_LABEL
from autoissue.scan._scan import ALREADY_PROCESSED, Scanner, queue_order
from autoissue.selection import complexity
from autoissue.state import MemoryStateStore, issue_name

REPO = "acme/widgets"


class Mixed:
    """Comments on even issues, closes every third, and declines every fifth after a look."""

    name = "mixed"
    isolation = Isolation.INLINE

    def select(self, issue: Issue) -> Priority | None:
        return Priority(issue.number % 4)

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        plan = Plan(self.name, context.repo, issue.number, issue.updated_at)
        if issue.number % 5 == 0:
            return Plan(self.name, context.repo, issue.number, issue.updated_at, skip_reason="meh")
        actions: list[AddLabels | Comment | Close] = [AddLabels(("seen",))]
        if issue.number % 2 == 0:
            actions.append(Comment(f"seen #{issue.number}"))
        if issue.number % 3 == 0:
            actions.append(Close())
        return Plan(plan.processor, plan.repo, plan.issue, plan.updated_at, tuple(actions))


class Reader(Mixed):
    """Reads each issue's comments before planning, as the stale processor does."""

    name = "reader"

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        await context.github.get(f"/repos/{context.repo}/issues/{issue.number}/comments")
        return await super().process(issue, context)


class Unlabel(Mixed):
    """Takes back the labels it marked issues with: which ones, only the ledger knows."""

    name = "unlabel"

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        action = RemoveLabels(("seen", "x"))
        return Plan(self.name, context.repo, issue.number, issue.updated_at, (action,))


class Failing(Mixed):
    name = "failing"

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        if issue.number % 2:
            raise RuntimeError("boom")
        return await super().process(issue, context)


class BadSlot(Mixed):
    """Plans a comment in a slot whose name write-back refuses."""

    name = "badslot"

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        action = Comment("hi", slot="not a name")
        return Plan(self.name, context.repo, issue.number, issue.updated_at, (action,))


class Agent(Mixed):
    name = "agent"
    isolation = Isolation.COMMAND

    async def process(self, issue: Issue, context: ProcessContext) -> Plan:
        raise AssertionError("a scan never runs a command processor")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with run_in_thread(EmulatorConfig(repo=REPO, issues=150, seed=11)) as running:
        yield running


def writes_seen(emulator: Emulator) -> int:
    requests = emulator.stats()["requests"]
    return sum(sum(v.values()) for k, v in requests.items() if not k.startswith("GET"))


async def scanned(url: str, processor: Processor, **kwargs: object):  # type: ignore[no-untyped-def]
    async with GitHubClient(base_url=url, token="t0k3n") as client:
        await client.warm_up()
        return await scan(client, REPO, processor, **kwargs)  # type: ignore[arg-type]


async def run_calls(url: str, processor: Processor, state: MemoryStateStore | None = None) -> int:
    async with GitHubClient(base_url=url, token="t0k3n") as client:
        await client.warm_up()
        await client.get_repository(REPO)
        options = EngineOptions(state="open", concurrency=1)
        summary = await Engine(client, REPO, processor, options=options, state=state).run()
        assert summary.failed == 0
        return client.statistics().requests


@pytest.mark.parametrize("processor", [Mixed, Reader, Triage, Duplicates])
async def test_the_forecast_counts_exactly_the_calls_the_run_makes(
    emulator: Emulator, processor: type[Processor]
) -> None:
    report = await scanned(emulator.base_url, processor())
    assert writes_seen(emulator) == 0  # a scan writes nothing
    actual = await run_calls(emulator.base_url, processor())
    assert report.forecast.calls.total == actual
    assert report.forecast.note  # the emulator has no limits


async def test_processor_reads_are_counted(emulator: Emulator) -> None:
    report = await scanned(emulator.base_url, Duplicates())
    assert report.processor_reads == report.pages  # it lists the open issues once, too
    assert report.pages == 2
    reader = await scanned(emulator.base_url, Reader())
    assert reader.processor_reads == len(reader.admitted) + reader.skipped["meh"]


def test_a_scanner_says_what_it_scans() -> None:
    client = GitHubClient(base_url="http://127.0.0.1:9", token="t0k3n")
    assert repr(Scanner(client, REPO, Triage())) == f"<Scanner {REPO} triage reads=0>"


async def test_admitted_issues_come_in_queue_order_then_the_skipped(emulator: Emulator) -> None:
    report = await scanned(emulator.base_url, Mixed())
    admitted = report.admitted
    keys = [(entry.priority, entry.position) for entry in admitted]
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert admitted[0].priority is Priority.CRITICAL
    rest = report.entries[len(admitted) :]
    assert [e.position for e in rest] == sorted(e.position for e in rest)
    assert report.skipped["meh"] == sum(1 for e in rest if e.skip_reason == "meh") > 0
    assert {"pull request", "locked"} <= set(report.skipped)
    entry = next(e for e in admitted if e.number % 2 == 0 and e.number % 3 == 0)
    assert entry.calls == 4  # labels, comment listing, comment, close
    assert entry.priority_reason.startswith("mixed says") or entry.priority is Priority.LOW


async def test_what_the_ledger_says_is_done_is_skipped(emulator: Emulator) -> None:
    state = MemoryStateStore()
    await run_calls(emulator.base_url, Triage(), state)
    report = await scanned(emulator.base_url, Triage(), state=state)
    assert not report.admitted
    assert report.skipped[ALREADY_PROCESSED] > 50
    assert report.forecast.calls.mutations == 0


async def test_labels_are_removed_as_the_ledger_says_and_counted_as_the_run_removes_them(
    emulator: Emulator,
) -> None:
    # Write-back removes only the labels its ledger says the tool added: the scan hands the
    # ledger's entries to the write-back it counts with, so it counts what the run sends.
    unknown = await scanned(emulator.base_url, Unlabel())
    assert unknown.forecast.calls.mutations == 0  # no ledger: the tool added nothing
    first, second, third = (entry.number for entry in unknown.admitted[:3])
    state = MemoryStateStore()
    owned = {first: ["label:seen"], second: ["label:seen", "label:x"], third: []}
    for number, actions in owned.items():
        await state.record(
            issue_name(REPO, number), "unlabel", "2000-01-01T00:00:00Z", "done", actions
        )
    report = await scanned(emulator.base_url, Unlabel(), state=state)
    calls = {entry.number: entry.calls for entry in report.admitted}
    assert (calls[first], calls[second], calls[third]) == (1, 2, 0)
    assert report.forecast.calls.counts[REMOVE_LABEL] == 3
    assert report.forecast.calls.total == await run_calls(emulator.base_url, Unlabel(), state)


async def test_a_failing_plan_is_reported_not_raised(emulator: Emulator) -> None:
    report = await scanned(emulator.base_url, Failing())
    reasons = {e.skip_reason for e in report.entries if e.number % 2 and e.priority is not None}
    assert "would fail: RuntimeError: boom" in reasons


async def test_a_plan_write_back_refuses_is_reported_as_failing(emulator: Emulator) -> None:
    # The hand model counted such a plan's calls; write-back, run for the count, refuses it.
    report = await scanned(emulator.base_url, BadSlot())
    assert not report.admitted
    assert "would fail: ValueError: processor and slot names" in next(iter(report.skipped))
    assert report.forecast.calls.mutations == 0


async def test_a_command_processor_is_assumed_to_open_a_pull_request(emulator: Emulator) -> None:
    report = await scanned(emulator.base_url, Agent(), options=ScanOptions(repository=False))
    plan = report.admitted[0].plan
    assert plan is not None
    assert isinstance(plan.actions[0], OpenPullRequest)
    assert plan.reasons[0].startswith("assumed")
    assert report.admitted[0].calls == 3  # find, default branch, create


async def test_on_github_limits_the_budget_is_read_and_writes_bind() -> None:
    config = EmulatorConfig(repo=REPO, issues=150, seed=11, limits="github")
    with run_in_thread(config) as emulator:
        report = await scanned(emulator.base_url, Triage())
    forecast = report.forecast
    assert forecast.limited
    assert forecast.budget is not None
    assert forecast.budget.limit == 5_000
    assert forecast.budget.remaining < 5_000
    assert forecast.binding.startswith("mutation spacing:")
    assert forecast.seconds == forecast.calls.mutations - 1


def entry(number: int, position: int, priority: Priority | None, skip: str = "") -> ScanEntry:
    issue = Issue(number=number, title="t", state="open", updated_at="x")
    return ScanEntry(
        number=number,
        title="t",
        position=position,
        priority=priority,
        priority_reason="",
        complexity=complexity(issue),
        skip_reason=skip,
    )


def test_queue_order_is_priority_then_listing_order_then_the_skipped_as_listed() -> None:
    entries = [
        entry(1, 0, Priority.LOW),
        entry(2, 1, None, "locked"),
        entry(3, 2, Priority.CRITICAL),
        entry(4, 3, Priority.LOW),
        entry(5, 4, None, "closed"),
        entry(6, 5, Priority.CRITICAL),
    ]
    assert [e.number for e in queue_order(entries)] == [3, 6, 1, 4, 2, 5]


def test_scan_options_are_checked() -> None:
    with pytest.raises(ValueError, match="state"):
        ScanOptions(state="merged")
    with pytest.raises(ValueError, match="per_page"):
        ScanOptions(per_page=101)
    with pytest.raises(ValueError, match="max_issues_per_repo"):
        ScanOptions(max_issues_per_repo=0)
    assert ScanOptions(max_issues=5, max_issues_per_repo=3).repo_cap == 3
    assert ScanOptions().repo_cap is None


def test_entry_data_names_its_factors_and_actions() -> None:
    issue = Issue(number=1, title="t", state="open", updated_at="x", body="a" * 4_000, comments=30)
    plan = Plan("p", REPO, 1, "x", (AddLabels(("bug",)),), ("why",))
    data = ScanEntry(
        number=1,
        title="t",
        position=0,
        priority=Priority.HIGH,
        priority_reason="label",
        complexity=complexity(issue),
        plan=plan,
        calls=1,
    ).to_dict()
    assert data["factors"] == ["body_length=4000", "comments=30"]
    assert (data["priority"], data["actions"], data["reasons"]) == ("high", ["AddLabels"], ["why"])
