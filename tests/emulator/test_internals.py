"""Edges of the building blocks: git failures, caches, one-line reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoissue import EmulatorError
from autoissue.emulator import EmulatorConfig, FakeClock
from autoissue.emulator._context import Context
from autoissue.emulator._git import _git, branch_shas, create_bare_repo
from autoissue.emulator._listing import Listing, page_slice
from autoissue.emulator._pipeline import Pipeline
from autoissue.emulator._query import IssueQuery, link_header
from autoissue.emulator._routes_issues import IssueRoutes
from autoissue.emulator._routes_pulls import PullRoutes
from autoissue.emulator._store import RepoStore


async def test_git_failures_are_emulator_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = await create_bare_repo(tmp_path, "demo")
    found = await branch_shas(bare, "main", "--help", "ma*", "")
    assert found["main"] is not None
    assert found["--help"] is None
    assert found["ma*"] is None  # a glob in a name matches nothing but itself
    assert found[""] is None
    assert await branch_shas(tmp_path / "absent.git", "main") == {"main": None}
    assert (await branch_shas(bare, "../../HEAD", "../heads"))["../../HEAD"] is None
    _git("-C", bare, "pack-refs", "--all")  # as git gc leaves them: in packed-refs only
    assert not (bare / "refs" / "heads" / "main").exists()
    assert await branch_shas(bare, "main", "gone") == {"main": found["main"], "gone": None}
    with pytest.raises(EmulatorError, match="git no-such-command failed: "):
        _git("no-such-command")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(EmulatorError, match="cannot run git"):
        await create_bare_repo(tmp_path / "other", "demo")


def test_reprs_are_one_line_with_live_counts(tmp_path: Path) -> None:
    ctx = Context(
        config=EmulatorConfig(issues=10), clock=FakeClock(), base_url="http://h", bares=[tmp_path]
    )
    for obj in (
        ctx,
        ctx.store,
        ctx.listing,
        ctx.limiter,
        ctx.latency,
        ctx.stats,
        Pipeline(ctx),
        IssueRoutes(ctx),
        PullRoutes(ctx),
    ):
        text = repr(obj)
        assert "\n" not in text
        assert text.startswith(type(obj).__name__)


def test_listing_caches_are_bounded_and_fresh(tmp_path: Path) -> None:
    ctx = Context(
        config=EmulatorConfig(issues=300), clock=FakeClock(), base_url="http://h", bares=[tmp_path]
    )
    listing = Listing(ctx.store)
    first, last = listing.issues(IssueQuery(per_page=100))
    again, _ = listing.issues(IssueQuery(per_page=100))
    assert again is first
    for per_page in range(1, 101):
        for labels in ((), ("bug",)):
            listing.issues(IssueQuery(per_page=per_page, labels=labels, page=2))
    ctx.store.set_labels(ctx.store.records[0], ["bug"], replace=False)
    fresh, _ = listing.issues(IssueQuery(state="all", labels=("bug",), direction="asc"))
    assert b'"number":1,' in fresh.body
    assert isinstance(ctx.store, RepoStore)
    assert last >= 1


def test_page_slices_and_links_at_the_edges() -> None:
    items = list(range(10))
    assert page_slice(items, 2, 1, 3, asc=False) == [9, 8, 7]
    assert page_slice(items, 8, 2, 3, asc=False) == []
    assert link_header("u", {}, 1, 1) is None
    assert link_header("u", {}, 3, 2) == '<u?page=2>; rel="prev", <u?page=1>; rel="first"'
