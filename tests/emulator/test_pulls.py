"""Pull requests: creation against the real bare git repository, duplicates, listing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from autoissue.emulator import Emulator

from .conftest import Api, push_branch

REPO = "/repos/acme/widgets"


def _branch(emulator: Emulator, name: str) -> None:
    clone_url = emulator.state()["repos"][0]["clone_url"]
    subprocess.run(["git", "-C", clone_url, "branch", name, "main"], check=True)


async def test_missing_head_branch_is_422(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/pulls"
    status, _, body = await api("POST", url, json={"title": "t", "head": "nope", "base": "main"})
    assert status == 422
    assert body["message"] == "Validation Failed"
    assert body["errors"] == [{"resource": "PullRequest", "code": "invalid", "field": "head"}]


async def test_pushed_branch_opens_a_pull_then_a_duplicate_is_refused(
    emulator: Emulator, api: Api, tmp_path: Path
) -> None:
    clone_url = emulator.state()["repos"][0]["clone_url"]
    push_branch(clone_url, "autoissue/fix-7", tmp_path)
    url = f"{emulator.base_url}{REPO}/pulls"
    request = {
        "title": "Fix #7",
        "head": "acme:autoissue/fix-7",
        "base": "main",
        "body": "Closes #7",
    }
    status, headers, pull = await api("POST", url, json=request | {"draft": True})
    assert status == 201
    assert headers["Location"] == pull["url"]
    assert (pull["number"], pull["head"]["ref"], pull["base"]["ref"]) == (
        121,
        "autoissue/fix-7",
        "main",
    )
    assert pull["draft"] is True
    assert len(pull["head"]["sha"]) == 40
    status, _, body = await api("POST", url, json=request)
    assert status == 422
    assert body["errors"][0]["message"] == "A pull request already exists for acme:autoissue/fix-7."
    assert emulator.stats()["duplicate_writes"] == 1
    _, _, item = await api("GET", f"{emulator.base_url}{REPO}/issues/121")
    assert item["pull_request"]["url"] == pull["url"]
    _, _, newest = await api("GET", f"{emulator.base_url}{REPO}/issues?per_page=1")
    assert newest[0]["number"] == 121
    state = emulator.state()["repos"][0]
    assert state["pulls"][-1] == {
        "number": 121,
        "head": "autoissue/fix-7",
        "base": "main",
        "state": "open",
        "title": "Fix #7",
        "body": "Closes #7",
        "draft": True,
        "labels": [],
    }


async def test_closing_a_pull_frees_its_head(emulator: Emulator, api: Api) -> None:
    _branch(emulator, "topic")
    url = f"{emulator.base_url}{REPO}/pulls"
    request = {"title": "Topic", "head": "topic", "base": "main"}
    _, _, pull = await api("POST", url, json=request)
    await api(
        "PATCH", f"{emulator.base_url}{REPO}/issues/{pull['number']}", json={"state": "closed"}
    )
    status, _, again = await api("POST", url, json=request)
    assert status == 201
    assert again["number"] == pull["number"] + 1


async def test_pull_fields_are_validated(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/pulls"
    _branch(emulator, "ok")
    cases = [
        ({"head": "ok", "base": "main"}, "title", "missing_field"),
        ({"title": "t", "head": "ok", "base": 3}, "base", "invalid"),
        ({"title": "t", "head": "ok", "base": "nobase"}, "base", "invalid"),
        ({"title": "t", "head": "stranger:ok", "base": "main"}, "head", "invalid"),
        ({"title": "t", "head": "ok", "base": "main", "body": 5}, "body", "invalid"),
    ]
    for body, field, code in cases:
        status, _, answer = await api("POST", url, json=body)
        assert (status, answer["errors"][0]["field"], answer["errors"][0]["code"]) == (
            422,
            field,
            code,
        ), body
    status, _, _ = await api("POST", url, json=["not", "an", "object"])
    assert status == 400


async def test_list_pulls_filters_by_head_state_and_base(emulator: Emulator, api: Api) -> None:
    _branch(emulator, "feature-x")
    await api(
        "POST",
        f"{emulator.base_url}{REPO}/pulls",
        json={"title": "X", "head": "feature-x", "base": "main"},
    )
    url = f"{emulator.base_url}{REPO}/pulls"
    _, _, found = await api("GET", f"{url}?head=acme:feature-x")
    assert [pull["head"]["ref"] for pull in found] == ["feature-x"]
    _, _, none = await api("GET", f"{url}?head=someone:feature-x")
    assert none == []
    _, _, closed = await api("GET", f"{url}?state=closed&base=main&per_page=100")
    assert closed
    assert {pull["state"] for pull in closed} == {"closed"}
    _, headers, page = await api("GET", f"{url}?state=all&per_page=2&sort=updated&direction=asc")
    assert len(page) == 2
    assert "/repositories/1296269/pulls?" in headers["Link"]
    status, _, _ = await api("GET", headers["Link"].split(">")[0][1:])
    assert status == 200
    status, _, _ = await api("GET", f"{emulator.base_url}/repositories/7/pulls")
    assert status == 404


async def test_get_single_pull(emulator: Emulator, api: Api) -> None:
    _, _, items = await api("GET", f"{emulator.base_url}{REPO}/pulls?state=all&per_page=1")
    number = items[0]["number"]
    status, headers, pull = await api("GET", f"{emulator.base_url}{REPO}/pulls/{number}")
    assert status == 200
    assert "ETag" in headers
    assert pull["number"] == number
    assert pull["mergeable"] is True
    _, _, issues = await api("GET", f"{emulator.base_url}{REPO}/issues?state=all&per_page=100")
    plain = next(item["number"] for item in issues if "pull_request" not in item)
    status, _, _ = await api("GET", f"{emulator.base_url}{REPO}/pulls/{plain}")
    assert status == 404
