"""Several repositories: generation, addressing, the repository lists, the admin API, git."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from autoissue import ConfigurationError
from autoissue.emulator import Emulator, EmulatorConfig, FakeClock, numbered_repos
from autoissue.emulator._admin import AdminRoutes
from autoissue.emulator._events import SILENT
from autoissue.emulator._git import bare_paths, branch_shas
from autoissue.emulator._routes_repos import RepoRoutes

from .conftest import Api, Start

THREE = numbered_repos("acme/widgets", 3)


def _titles(emulator: Emulator) -> dict[str, list[str]]:
    return {
        repo["full_name"]: [issue["title"] for issue in repo["issues"]]
        for repo in emulator.state()["repos"]
    }


async def test_numbered_repositories_differ_and_repeat_with_the_seed(start: Start) -> None:
    assert THREE == ("acme/widgets-1", "acme/widgets-2", "acme/widgets-3")
    first = await start(repos=THREE, issues=30, seed=5)
    again = await start(repos=THREE, issues=30, seed=5)
    alone = await start(repo="acme/widgets-1", issues=30, seed=5)
    titles = _titles(first)
    assert list(titles) == list(THREE)
    assert titles == _titles(again)
    assert titles["acme/widgets-1"] != titles["acme/widgets-2"] != titles["acme/widgets-3"]
    assert titles["acme/widgets-1"] == _titles(alone)["acme/widgets-1"]  # the first: as alone
    assert first.config.repo == "acme/widgets-1"
    assert repr(first).startswith("Emulator(acme/widgets-1 and 2 more, http://")


async def test_each_repository_answers_at_its_own_paths(start: Start, api: Api) -> None:
    emulator = await start(repos=THREE, issues=30)
    base = emulator.base_url
    ids, comment_ids, comment_count = set(), set(), 0
    for offset, name in enumerate(THREE):
        _, _, repo = await api("GET", f"{base}/repos/{name.upper()}")
        assert (repo["full_name"], repo["id"]) == (name, 1296269 + offset)
        status, headers, page = await api(
            "GET", f"{base}/repos/{name}/issues?state=all&per_page=20"
        )
        assert status == 200
        assert f"{base}/repositories/{1296269 + offset}/issues?" in headers["Link"]
        assert all(item["repository_url"] == f"{base}/repos/{name}" for item in page)
        ids |= {item["id"] for item in page}
        with_comments = next(item for item in page if item["comments"])
        _, _, comments = await api("GET", with_comments["comments_url"])
        comment_ids |= {comment["id"] for comment in comments}
        comment_count += len(comments)
        _, _, pulls = await api("GET", f"{base}/repos/{name}/pulls?state=all")
        by_id = f"{base}/repositories/{1296269 + offset}/pulls?state=all"
        assert (await api("GET", by_id))[2] == pulls
    assert len(ids) == 60  # unique across the repositories, as GitHub's are
    assert len(comment_ids) == comment_count
    for path in ("/repos/acme/widgets/issues", "/repositories/1296272/issues"):
        status, _, _ = await api("GET", base + path)
        assert status == 404, path


async def test_comment_ids_differ_between_repositories(start: Start, api: Api) -> None:
    emulator = await start(repos=THREE, issues=5)
    ids = []
    for name in THREE:
        url = f"{emulator.base_url}/repos/{name}/issues/1/comments"
        _, _, comment = await api("POST", url, json={"body": "same"})
        ids.append(comment["id"])
        edit = f"{emulator.base_url}/repos/{name}/issues/comments/{comment['id']}"
        status, _, _ = await api("PATCH", edit, json={"body": "edited"})
        assert status == 200
    assert len(set(ids)) == 3
    other = f"{emulator.base_url}/repos/{THREE[1]}/issues/comments/{ids[0]}"
    status, _, _ = await api("PATCH", other, json={"body": "not here"})
    assert status == 404  # a comment of another repository
    assert emulator.stats()["duplicate_writes"] == 0  # one body per issue, in three repos


async def _all_pages(api: Api, url: str) -> tuple[list[dict[str, Any]], list[str]]:
    items: list[dict[str, Any]] = []
    links = []
    while url:
        status, headers, page = await api("GET", url)
        assert status == 200, url
        items += page
        links.append(headers.get("Link", ""))
        nxt = [part for part in links[-1].split(", ") if 'rel="next"' in part]
        url = nxt[0].split(">")[0][1:] if nxt else ""
    return items, links


async def test_organization_and_user_repositories_paginate(start: Start, api: Api) -> None:
    names = ("acme/zeta", "acme/alpha", "other/mid", "acme/Beta", "acme/gamma")
    emulator = await start(repos=names, issues=3)
    base = emulator.base_url
    acme, links = await _all_pages(api, f"{base}/orgs/ACME/repos?per_page=2")
    assert [repo["full_name"] for repo in acme] == [
        "acme/gamma",
        "acme/Beta",
        "acme/alpha",
        "acme/zeta",
    ]
    assert links[0].endswith('page=2>; rel="last"')
    assert all(not (repo["archived"] or repo["fork"] or repo["private"]) for repo in acme)
    _, _, one = await api("GET", f"{base}/repos/acme/alpha")
    assert next(repo for repo in acme if repo["name"] == "alpha") == one
    mine, _ = await _all_pages(api, f"{base}/user/repos?per_page=3")
    assert [repo["full_name"] for repo in mine] == [
        "acme/alpha",
        "acme/Beta",
        "acme/gamma",
        "acme/zeta",
        "other/mid",
    ]
    _, _, asc = await api("GET", f"{base}/orgs/acme/repos?sort=created&direction=asc")
    assert [repo["name"] for repo in asc] == ["zeta", "alpha", "Beta", "gamma"]
    await api("POST", f"{base}/repos/acme/alpha/issues", json={"title": "bump"})
    _, _, pushed = await api("GET", f"{base}/user/repos?sort=pushed")
    assert pushed[0]["full_name"] == "acme/alpha"
    for query, count in (("type=private", 0), ("type=forks", 0), ("type=sources", 4)):
        _, _, found = await api("GET", f"{base}/orgs/acme/repos?{query}")
        assert len(found) == count, query
    _, _, private = await api("GET", f"{base}/user/repos?visibility=private")
    assert private == []
    status, _, body = await api("GET", f"{base}/orgs/acme/repos?sort=stars")
    assert (status, body["errors"][0]["field"]) == (422, "sort")
    status, _, _ = await api("GET", f"{base}/orgs/nobody/repos")
    assert status == 404


async def test_repository_lists_revalidate_with_etags(start: Start, api: Api) -> None:
    emulator = await start(repos=THREE, issues=3)
    url = f"{emulator.base_url}/user/repos"
    _, headers, _ = await api("GET", url)
    status, _, _ = await api("GET", url, headers={"If-None-Match": headers["ETag"]})
    assert status == 304
    await api("PATCH", f"{emulator.base_url}/repos/{THREE[0]}/issues/1", json={"state": "closed"})
    status, _, _ = await api("GET", url, headers={"If-None-Match": headers["ETag"]})
    assert status == 200  # an open-issue count moved


async def test_installation_repositories_need_an_installation_token(
    start: Start, api: Api, anon: Api
) -> None:
    clock = FakeClock()
    emulator = await start(repos=THREE, issues=3, clock=clock)
    installation = {"Authorization": f"token {await _installation_token(emulator, anon, clock)}"}
    url = f"{emulator.base_url}/installation/repositories?per_page=2"
    status, headers, body = await anon("GET", url, headers=installation)
    assert status == 200
    assert (body["total_count"], body["repository_selection"]) == (3, "all")
    assert [repo["full_name"] for repo in body["repositories"]] == [
        "acme/widgets-3",
        "acme/widgets-2",
    ]
    assert 'rel="next"' in headers["Link"]
    status, _, _ = await api("GET", url)
    assert status == 403  # a user's token
    status, _, body = await anon("GET", f"{emulator.base_url}/user/repos", headers=installation)
    assert (status, body["message"]) == (403, "Resource not accessible by integration")
    status, _, _ = await anon("GET", f"{emulator.base_url}/user/repos")
    assert status == 401


async def _installation_token(emulator: Emulator, anon: Api, clock: FakeClock) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(clock.time())
    jwt = f"{part({'alg': 'RS256'})}.{part({'iss': '1', 'iat': now, 'exp': now + 500})}.c2ln"
    url = f"{emulator.base_url}/app/installations/1/access_tokens"
    _, _, body = await anon("POST", url, headers={"Authorization": f"Bearer {jwt}"})
    token: str = body["token"]
    return token


async def test_the_admin_api_addresses_each_repository(start: Start, api: Api) -> None:
    emulator = await start(repos=THREE, issues=10)
    admin = f"{emulator.base_url}/_emulator"
    before = emulator.state()
    status, _, issue = await api("POST", f"{admin}/issues/acme/widgets-2/3", json={"title": "Hi"})
    assert (status, issue["title"]) == (200, "Hi")
    state = emulator.state()["repos"]
    assert [repo["full_name"] for repo in state] == list(THREE)
    assert state[1]["issues"][2]["title"] == "Hi"
    assert state[0] == before["repos"][0]
    assert state[2] == before["repos"][2]
    _, _, one = await api("GET", f"{admin}/state?repo=ACME/widgets-2")
    assert one == {"repos": [state[1]]}
    status, _, _ = await api("GET", f"{admin}/state?repo=acme/nothing")
    assert status == 404
    _, _, reset = await api("POST", f"{admin}/reset")
    assert reset == {"reset": True, "issues": 30}
    assert emulator.state() == before


def _jsonl(path: Path, titles: list[str]) -> Path:
    path.write_text("".join(json.dumps({"title": t}) + "\n" for t in titles), encoding="utf-8")
    return path


async def test_issues_files_pair_with_repositories_in_order(start: Start, tmp_path: Path) -> None:
    files = (_jsonl(tmp_path / "a.jsonl", ["A1", "A2"]), _jsonl(tmp_path / "b.jsonl", ["B1"]))
    emulator = await start(repos=THREE, issues=4, issues_files=files)
    titles = _titles(emulator)
    assert titles["acme/widgets-1"] == ["A1", "A2"]
    assert titles["acme/widgets-2"] == ["B1"]
    assert len(titles["acme/widgets-3"]) == 4  # no file left: generated


async def test_owners_sharing_a_name_get_separate_git_repositories(
    start: Start, tmp_path: Path, api: Api
) -> None:
    names = ("a/tool", "b/Tool", "c/other")
    assert bare_paths(tmp_path, names) == [
        tmp_path / "a" / "tool.git",
        tmp_path / "b" / "Tool.git",
        tmp_path / "other.git",
    ]
    emulator = await start(repos=names, issues=2, data_dir=tmp_path)
    clones = [repo["clone_url"] for repo in emulator.state()["repos"]]
    assert clones == [str(path) for path in bare_paths(tmp_path, names)]
    shas = [(await branch_shas(Path(clone), "main"))["main"] for clone in clones]
    assert shas[0] is not None
    assert shas == [shas[0]] * 3  # the same seeded commit everywhere
    body = {"title": "Fix", "head": "a:main", "base": "main"}
    status, _, answer = await api("POST", f"{emulator.base_url}/repos/b/Tool/pulls", json=body)
    assert (status, answer["errors"][0]["field"]) == (422, "head")  # another owner's branch
    await api("POST", f"{emulator.base_url}/_emulator/reset")
    assert await asyncio.to_thread((tmp_path / "b" / "Tool.git" / "HEAD").is_file)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"repos": ("acme/a", "ACME/A")}, "repos must not repeat"),
        ({"repos": ("acme/a", "nope")}, "repo must be OWNER/NAME \\(got 'nope'\\)"),
        ({"repo": "x/y", "repos": ("acme/a",)}, "repo and repos disagree"),
        ({"repos": tuple(f"o/r{n}" for n in range(1001)), "issues": 0}, "at most 1000"),
        ({"repos": ("o/a", "o/b"), "issues": 600_000}, "issues x repos must be at most"),
        ({"issues_files": (Path("a"), Path("b"))}, "more issues_files than repos"),
        ({"issues_file": Path("a"), "issues_files": (Path("a"),)}, "give issues_file or"),
    ],
)
def test_repository_settings_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EmulatorConfig(**options)


def test_numbered_repos_refuses_counts_out_of_range() -> None:
    for count in (0, 1001):
        with pytest.raises(ConfigurationError, match="repos must be 1-1000"):
            numbered_repos("acme/widgets", count)
    config = EmulatorConfig(repos=("acme/a", "acme/b"))
    assert (config.repo, config.full_names, config.owner, config.name) == (
        "acme/a",
        ("acme/a", "acme/b"),
        "acme",
        "a",
    )
    assert config.issues_file_of(1) is None


async def test_the_new_parts_describe_themselves_in_one_line(start: Start) -> None:
    emulator = await start(repos=THREE, issues=2, webhook_url="http://127.0.0.1:9/hook")
    ctx = emulator._context()
    assert ctx.bare == ctx.repos.first.bare
    assert ctx.bare.name == "widgets-1.git"

    async def reset() -> None:
        ctx.reset()

    admin = AdminRoutes(ctx, reset)
    for obj, text in (
        (ctx.repos, "Repositories(3, first=acme/widgets-1)"),
        (ctx.repos.first, "Repository(acme/widgets-1, id=1296269, items=2)"),
        (RepoRoutes(ctx), "RepoRoutes(3 repos)"),
        (admin, "AdminRoutes(acme/widgets-1)"),
        (SILENT, "SilentHooks()"),
        (
            ctx.hooks,
            "Notifier(WebhookSender(http://127.0.0.1:9/hook, pending=0, sent=0, failed=0))",
        ),
        (ctx, f"Context(3 repos at {emulator.base_url}, Stats(requests=0, in_flight=0))"),
    ):
        assert repr(obj) == text
