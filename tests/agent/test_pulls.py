from __future__ import annotations

import pytest

from autoissue.agent import OpenPullIndex, closing_references, load_open_pulls
from autoissue.emulator import EmulatorConfig, run_in_thread
from autoissue.github import GitHubClient
from autoissue.processors import ReadOnlyGitHub
from tests.agent._emulated import REPO, TOKEN, admin


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fixes #12", {12}),
        ("fixes #123", {123}),
        ("This closes #12.", {12}),
        ("CLOSED #12, resolved #13 and Resolve: #14", {12, 13, 14}),
        ("fix #1 fixed #2 close #3 resolves #4", {1, 2, 3, 4}),
        ("Fixes acme/other#12", set()),
        ("Fixes owner/other#12", set()),
        ("Fixes acme/widgets#12", {12}),
        ("Fixes ACME/Widgets#12", {12}),
        ("Fixes #12abc", set()),
        ("prefixes #12", set()),
        ("unfixed #12", set()),
        ("See #12", set()),
        ("Fixes#12", set()),
        ("fixes\n#12", {12}),
        ("", set()),
    ],
)
def test_closing_references(text: str, expected: set[int]) -> None:
    assert closing_references(text, "acme/widgets") == expected


def test_twelve_never_matches_one_hundred_twenty_three() -> None:
    index = OpenPullIndex(frozenset(), closing_references("Fixes #123", "acme/widgets"))
    assert not index.already_covered(12, "autoissue/command/issue-12")
    assert index.already_covered(123, "autoissue/command/issue-123")


def test_a_head_branch_covers_its_issue() -> None:
    index = OpenPullIndex(frozenset({"autoissue/command/issue-12"}), frozenset())
    assert index.already_covered(12, "autoissue/command/issue-12")
    assert not index.already_covered(12, "autoissue/other/issue-12")


async def test_load_open_pulls_follows_every_page() -> None:
    # Enough items that the open pull requests fill more than one page of 100.
    with run_in_thread(EmulatorConfig(repo=REPO, issues=2600, seed=1)) as emulator:
        state = admin(emulator, "state")["repos"][0]
        open_heads = {p["head"] for p in state["pulls"] if p["state"] == "open"}
        assert len(open_heads) > 100
        async with GitHubClient(base_url=emulator.base_url, token=TOKEN) as client:
            index = await load_open_pulls(ReadOnlyGitHub(client), REPO)
        calls = admin(emulator, "stats")["requests"]["GET /repos/{owner}/{repo}/pulls"]
    assert index.heads == open_heads
    assert sum(calls.values()) == 1 + len(open_heads) // 100
