"""Write-back against the emulator: every action, applied once, however often it is tried."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from autoissue import ConfigurationError, FakeClock, ValidationFailedError
from autoissue.emulator import Emulator, EmulatorConfig
from autoissue.engine import WriteBack
from autoissue.engine._writeback import comment_marker, plan_id
from autoissue.github import GitHubClient, IssueComment, PullRequest
from autoissue.github._retry import RetryPolicy
from autoissue.model import (
    AddLabels,
    Close,
    Comment,
    OpenPullRequest,
    Plan,
    RemoveLabels,
    User,
)
from autoissue.state import MemoryStateStore
from tests.emulator.conftest import push_branch

REPO = "acme/widgets"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    running = Emulator(EmulatorConfig(issues=20), clock=FakeClock())
    await running.start()
    yield running
    await running.close()


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(
        base_url=emulator.base_url, token="t0k3n", clock=FakeClock(), retry=RetryPolicy()
    ) as github:
        yield github


def item(emulator: Emulator, number: int) -> dict[str, Any]:
    issues: list[dict[str, Any]] = emulator.state()["repos"][0]["issues"]
    return issues[number - 1]


def plan(*actions: Any, issue: int = 1, updated_at: str = "2026-01-01T00:00:00Z") -> Plan:
    return Plan("triage", REPO, issue, updated_at, tuple(actions))


async def test_labels_are_added_once_and_remembered_as_ours(
    emulator: Emulator, client: GitHubClient
) -> None:
    state = MemoryStateStore()
    writeback = WriteBack(client, state)
    the_plan = plan(AddLabels(("bug", "p2")))
    assert await writeback.apply(the_plan) == 1
    assert await writeback.apply(the_plan) == 0  # finished: the ledger says so
    assert {"bug", "p2"} <= set(item(emulator, 1)["labels"])
    entry = await state.lookup(f"{REPO}#1", "triage")
    assert entry is not None
    assert set(entry.actions) == {"0:AddLabels", "label:bug", "label:p2"}


async def test_the_ledger_keeps_the_issue_as_our_writes_left_it(
    emulator: Emulator, client: GitHubClient
) -> None:
    state = MemoryStateStore()
    await WriteBack(client, state).apply(
        plan(AddLabels(("bug",)), updated_at="2000-01-01T00:00:00Z")
    )
    entry = await state.lookup(f"{REPO}#1", "triage")
    assert entry is not None
    assert entry.finished
    assert entry.updated_at == item(emulator, 1)["updated_at"]


async def test_only_labels_the_tool_added_are_removed(
    emulator: Emulator, client: GitHubClient
) -> None:
    state = MemoryStateStore()
    writeback = WriteBack(client, state)
    await client.add_labels(REPO, 1, ("users-own",))
    await writeback.apply(plan(AddLabels(("stale",))))
    writes = await writeback.apply(plan(RemoveLabels(("stale", "users-own")), updated_at="b"))
    assert writes == 1
    labels = item(emulator, 1)["labels"]
    assert "users-own" in labels
    assert "stale" not in labels


async def test_removing_labels_without_a_ledger_is_refused(client: GitHubClient) -> None:
    with pytest.raises(ConfigurationError, match="state store"):
        await WriteBack(client).apply(plan(RemoveLabels(("x",))))


async def test_a_comment_is_edited_in_place_never_posted_twice(
    emulator: Emulator, client: GitHubClient
) -> None:
    writeback = WriteBack(client)  # no ledger: the marker alone must prevent a duplicate
    assert await writeback.apply(plan(Comment("first take", slot="analysis"))) == 1
    assert await writeback.apply(plan(Comment("first take", slot="analysis"))) == 0
    assert await writeback.apply(plan(Comment("second take", slot="analysis"))) == 1
    comments = item(emulator, 1)["comments"]
    ours = [c for c in comments if comment_marker("triage", 1, "analysis") in c["body"]]
    assert len(ours) == 1
    assert ours[0]["body"].startswith("second take")


async def test_a_marker_pasted_by_someone_else_is_not_ours(
    emulator: Emulator, client: GitHubClient
) -> None:
    marker = comment_marker("triage", 2, "main")
    emulator._context().store.add_comment(
        emulator._context().store.records[1], "mallory", f"x {marker}-->"
    )
    await WriteBack(client).apply(plan(Comment("hello"), issue=2))
    bodies = [c["body"] for c in item(emulator, 2)["comments"]]
    assert bodies[-2] == f"x {marker}-->"  # untouched
    assert bodies[-1].startswith("hello")


async def test_comment_bodies_carry_the_plan_id(client: GitHubClient, emulator: Emulator) -> None:
    the_plan = plan(Comment("hi"))
    await WriteBack(client).apply(the_plan)
    assert f"plan={plan_id(the_plan)} -->" in item(emulator, 1)["comments"][-1]["body"]


def test_marker_names_are_checked() -> None:
    with pytest.raises(ValueError, match="slot names"):
        comment_marker("triage", 1, "no spaces --> please")


async def test_closing_is_one_write(emulator: Emulator, client: GitHubClient) -> None:
    assert await WriteBack(client).apply(plan(Close("not_planned"), issue=3)) == 1
    assert item(emulator, 3)["state"] == "closed"


async def test_a_resumed_plan_skips_the_steps_already_applied(
    emulator: Emulator, client: GitHubClient
) -> None:
    state = MemoryStateStore()
    the_plan = plan(Comment("once"), AddLabels(("bug",)), issue=4, updated_at="u1")
    await state.applied(f"{REPO}#4", "triage", "u1", "0:Comment")  # a crash after the comment...
    writes = await WriteBack(client, state).apply(the_plan)
    assert writes == 1  # ...so only the labels are left to do
    assert item(emulator, 4)["comments"] == [] or all(
        "once" not in c["body"] for c in item(emulator, 4)["comments"]
    )


async def test_a_pull_request_is_opened_once_per_branch(
    emulator: Emulator, client: GitHubClient, tmp_path: Path
) -> None:
    clone_url = emulator.state()["repos"][0]["clone_url"]
    push_branch(clone_url, "autoissue/cmd/issue-5", tmp_path)
    action = OpenPullRequest("autoissue/cmd/issue-5", "Fix #5", "Closes #5", labels=("bot",))
    writeback = WriteBack(client)
    assert await writeback.apply(plan(action, issue=5)) == 2
    assert await writeback.apply(plan(action, issue=5)) == 1  # only the labels, again
    pulls = [p for p in emulator.state()["repos"][0]["pulls"] if p["head"].startswith("autoissue/")]
    assert len(pulls) == 1
    assert pulls[0]["labels"] == ["bot"]
    assert pulls[0]["base"] == "main"


async def test_opening_a_pull_request_for_a_missing_branch_fails_clearly(
    client: GitHubClient,
) -> None:
    action = OpenPullRequest("autoissue/cmd/issue-6", "Fix #6", "Closes #6")
    with pytest.raises(ValidationFailedError):
        await WriteBack(client).apply(plan(action, issue=6))


def test_git_is_available() -> None:
    # The pull-request tests push real branches.
    subprocess.run(["git", "--version"], check=True, capture_output=True)


async def test_an_empty_label_action_sends_nothing(client: GitHubClient) -> None:
    writeback = WriteBack(client, MemoryStateStore())
    assert await writeback.apply(plan(AddLabels(()))) == 0
    assert "state=True" in repr(writeback)


class LaggingClient(GitHubClient):
    """Lists an open pull request only from the second look, as a lost answer would leave it."""

    looks = 0

    async def find_open_pull(self, repo: str, branch: str) -> PullRequest | None:
        self.looks += 1
        return None if self.looks == 1 else await super().find_open_pull(repo, branch)


async def test_a_pull_request_opened_by_a_lost_attempt_is_found_not_duplicated(
    emulator: Emulator, tmp_path: Path
) -> None:
    clone_url = emulator.state()["repos"][0]["clone_url"]
    push_branch(clone_url, "autoissue/cmd/issue-7", tmp_path)
    async with LaggingClient(base_url=emulator.base_url, token="t0k3n") as lagging:
        fields = {"head": "autoissue/cmd/issue-7", "base": "main", "title": "t", "body": "b"}
        first = await lagging.create_pull(REPO, fields)
        action = OpenPullRequest("autoissue/cmd/issue-7", "t", "b", base="main")
        assert await WriteBack(lagging).apply(plan(action, issue=7)) == 1  # the refused POST
    assert lagging.looks == 2
    heads = [p["head"] for p in emulator.state()["repos"][0]["pulls"]]
    assert heads.count("autoissue/cmd/issue-7") == 1
    assert first.number > 0


class Notebook:
    """Write-back's view of GitHub kept in dictionaries: any GitHubWrites will do."""

    base_url = "notebook://"
    last_write_at = ""

    def __init__(self) -> None:
        self.labels: dict[int, list[str]] = {}
        self.comments: dict[int, list[IssueComment]] = {}

    async def add_labels(self, repo: str, number: int, labels: tuple[str, ...]) -> list[str]:
        have = self.labels.setdefault(number, [])
        have += [label for label in labels if label not in have]
        return have

    async def remove_label(self, repo: str, number: int, label: str) -> bool:
        raise NotImplementedError

    async def list_comments(self, repo: str, number: int) -> list[IssueComment]:
        return list(self.comments.get(number, []))

    async def create_comment(self, repo: str, number: int, body: str) -> IssueComment:
        made = msgspec.convert({"id": 7, "body": body, "user": {"login": "me"}}, IssueComment)
        self.comments.setdefault(number, []).append(made)
        return made

    async def edit_comment(self, repo: str, comment_id: int, body: str) -> IssueComment:
        raise NotImplementedError

    async def close_issue(self, repo: str, number: int, reason: str = "completed") -> None:
        raise NotImplementedError

    async def get_authenticated_user(self) -> User:
        return User(login="me")

    async def get_repository(self, repo: str) -> Any:
        raise NotImplementedError

    async def find_open_pull(self, repo: str, branch: str) -> PullRequest | None:
        raise NotImplementedError

    async def create_pull(self, repo: str, fields: dict[str, Any]) -> PullRequest:
        raise NotImplementedError


async def test_write_back_needs_only_githubs_writes_not_a_client() -> None:
    notebook, state = Notebook(), MemoryStateStore()
    plan = Plan(
        "triage",
        REPO,
        3,
        "2026-01-01T00:00:00Z",
        actions=(AddLabels(("bug",)), Comment("Thanks!")),
    )
    writes = WriteBack(notebook, state)
    assert await writes.apply(plan) == 2
    assert await writes.apply(plan) == 0  # the ledger says both are done
    assert await WriteBack(notebook).apply(plan) == 1  # no ledger: the comment found by marker
    assert notebook.labels == {3: ["bug"]}
    [comment] = notebook.comments[3]
    assert "Thanks!" in comment.body


class TickingNotebook(Notebook):
    """A notebook whose every label write is answered one second after the one before."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0

    async def add_labels(self, repo: str, number: int, labels: tuple[str, ...]) -> list[str]:
        self.seconds += 1
        self.last_write_at = f"2026-01-01T00:00:{self.seconds:02d}Z"
        return await super().add_labels(repo, number, labels)


class HeldState(MemoryStateStore):
    """A ledger whose second record waits until the test lets it go (once)."""

    def __init__(self) -> None:
        super().__init__()
        self.records = 0
        self.held = asyncio.Event()
        self.go_on = asyncio.Event()

    async def record(self, name: str, processor: str, *args: Any, **kwargs: Any) -> None:
        self.records += 1
        if self.records == 2:
            self.held.set()
            await self.go_on.wait()
        await super().record(name, processor, *args, **kwargs)


async def test_the_ledger_is_stamped_with_the_plans_own_writes_not_a_later_one() -> None:
    # A write to another issue answered while this plan's last step is being recorded must
    # not move this issue's finished version: an edit to this issue made in between would
    # then read as already processed, and be lost.
    notebook, state = TickingNotebook(), HeldState()
    first = Plan("triage", REPO, 1, "2026-01-01T00:00:00Z", (Comment("Hi"), AddLabels(("bug",))))
    other = Plan("triage", REPO, 2, "2026-01-01T00:00:00Z", (AddLabels(("p1",)),))
    writes = WriteBack(notebook, state)
    applying = asyncio.ensure_future(writes.apply_after(first, None))
    await state.held.wait()  # the first plan wrote its label and is recording that last step
    assert await writes.apply(other) == 1  # answered a second later
    state.go_on.set()
    _, entry = await applying
    assert entry is not None
    assert entry.updated_at == "2026-01-01T00:00:01Z"
    assert notebook.last_write_at == "2026-01-01T00:00:02Z"
