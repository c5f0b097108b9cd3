"""Issue endpoints: shapes, pagination and link headers, filters, edits, labels, comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoissue.emulator import Emulator, FakeClock

from .conftest import Api, Start

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "octokit"
REPO = "/repos/acme/widgets"


def _fixture(name: str) -> list[dict[str, object]]:
    loaded: list[dict[str, object]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


async def test_issue_shapes_match_recorded_github(emulator: Emulator, api: Api) -> None:
    recorded = _fixture("paginate-issues.json")[0]["response"]
    assert isinstance(recorded, list)
    status, _, issue = await api("GET", f"{emulator.base_url}{REPO}/issues/1")
    assert status == 200
    assert set(recorded[0]) <= set(issue)
    assert set(recorded[0]["user"]) <= set(issue["user"])
    assert issue["url"] == f"{emulator.base_url}{REPO}/issues/1"
    _, _, repo = await api("GET", f"{emulator.base_url}{REPO}")
    assert set(_fixture("get-repository.json")[0]["response"]) <= set(repo)  # type: ignore[arg-type]
    assert repo["clone_url"].endswith("widgets.git")


async def test_pagination_link_headers_follow_github(emulator: Emulator, api: Api) -> None:
    base = emulator.base_url
    status, headers, page1 = await api("GET", f"{base}{REPO}/issues?state=all&per_page=50")
    assert status == 200
    assert len(page1) == 50
    assert [item["number"] for item in page1[:3]] == [120, 119, 118]  # newest first
    link = headers["Link"]
    assert f'<{base}/repositories/1296269/issues?state=all&per_page=50&page=2>; rel="next"' in link
    assert link.endswith('page=3>; rel="last"')
    seen = [item["number"] for item in page1]
    url = link.split(">")[0][1:]
    while url:
        _, headers, page = await api("GET", url)
        seen += [item["number"] for item in page]
        nxt = [part for part in headers["Link"].split(", ") if 'rel="next"' in part]
        url = nxt[0].split(">")[0][1:] if nxt else ""
    assert sorted(seen) == list(range(1, 121))
    assert 'rel="prev"' in headers["Link"]
    assert 'rel="first"' in headers["Link"]


async def test_single_page_has_no_link_and_bad_values_default(emulator: Emulator, api: Api) -> None:
    _, headers, items = await api("GET", f"{emulator.base_url}{REPO}/issues?state=all&per_page=500")
    assert len(items) == 100  # per_page is capped at 100
    _, headers, items = await api(
        "GET", f"{emulator.base_url}{REPO}/issues?state=closed&per_page=99"
    )
    assert 0 < len(items) < 99
    assert "Link" not in headers
    _, _, items = await api("GET", f"{emulator.base_url}{REPO}/issues?per_page=x&page=0")
    assert len(items) == 30
    _, _, empty = await api("GET", f"{emulator.base_url}{REPO}/issues?page=99")
    assert empty == []


async def test_filters_state_labels_sort_since(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues?per_page=100"
    _, _, closed = await api("GET", f"{url}&state=closed")
    assert closed
    assert {item["state"] for item in closed} == {"closed"}
    _, _, bugs = await api("GET", f"{url}&state=all&labels=BUG")
    assert bugs
    assert all("bug" in [label["name"] for label in item["labels"]] for item in bugs)
    _, _, by_update = await api("GET", f"{url}&state=all&sort=updated&direction=asc")
    stamps = [item["updated_at"] for item in by_update]
    assert stamps == sorted(stamps)
    since = stamps[50]
    _, _, recent = await api("GET", f"{url}&state=all&sort=updated&direction=asc&since={since}")
    assert recent
    assert all(item["updated_at"] >= since for item in recent)
    _, _, created = await api("GET", f"{url}&state=all&since={since}&sort=comments")
    assert all(item["updated_at"] >= since for item in created)
    counts = [item["comments"] for item in created]
    assert counts == sorted(counts, reverse=True)


async def test_pull_requests_are_in_the_issue_list(emulator: Emulator, api: Api) -> None:
    _, _, items = await api("GET", f"{emulator.base_url}{REPO}/issues?state=all&per_page=100")
    pulls = [item for item in items if "pull_request" in item]
    assert 0 < len(pulls) < len(items) / 4
    assert pulls[0]["pull_request"]["url"].startswith(f"{emulator.base_url}{REPO}/pulls/")


@pytest.mark.parametrize(
    ("query", "field"),
    [("state=maybe", "state"), ("sort=stars", "sort"), ("since=yesterday", "since")],
)
async def test_bad_list_parameters_are_422(
    emulator: Emulator, api: Api, query: str, field: str
) -> None:
    status, _, body = await api("GET", f"{emulator.base_url}{REPO}/issues?{query}")
    assert status == 422
    assert body["message"] == "Validation Failed"
    assert body["errors"][0]["field"] == field


async def test_unknown_things_are_github_404s(emulator: Emulator, api: Api) -> None:
    base = emulator.base_url
    for method, path in [
        ("GET", "/nowhere"),
        ("GET", "/repos/other/repo/issues"),
        ("GET", f"{REPO}/issues/9999"),
        ("GET", f"{REPO}/issues/abc"),
        ("GET", "/repositories/1/issues"),
        ("GET", "/repositories/1296269/issues/9999/comments"),
        ("DELETE", f"{REPO}/issues"),
    ]:
        status, _, body = await api(method, base + path)
        assert (status, body["message"]) == (404, "Not Found"), path
        assert body["documentation_url"].startswith("https://docs.github.com/")


async def test_etag_and_last_modified_give_304(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues/7"
    _, headers, _ = await api("GET", url)
    etag = headers["ETag"]
    assert etag[0] == etag[-1] == '"'

    status, _, body = await api("GET", url, headers={"If-None-Match": etag})
    assert (status, body) == (304, None)
    modified = headers["Last-Modified"]
    status, _, _ = await api("GET", url, headers={"If-Modified-Since": modified})
    assert status == 304
    status, _, _ = await api("GET", url, headers={"If-Modified-Since": "garbage"})
    assert status == 200
    list_url = f"{emulator.base_url}{REPO}/issues?per_page=5"
    _, headers, _ = await api("GET", list_url)
    status, _, _ = await api("GET", list_url, headers={"If-None-Match": headers["ETag"]})
    assert status == 304
    await api("PATCH", url, json={"title": "changed"})
    status, _, _ = await api("GET", url, headers={"If-None-Match": etag})
    assert status == 200


async def test_etags_vary_with_the_token(emulator: Emulator, api: Api, anon: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues/3"
    _, mine, _ = await api("GET", url)
    _, theirs, _ = await anon("GET", url)
    assert mine["ETag"] != theirs["ETag"]


async def test_patch_issue_edits_and_bumps_updated_at(start: Start, api: Api) -> None:
    clock = FakeClock(start=1_900_000_000)
    emulator = await start(clock=clock)
    url = f"{emulator.base_url}{REPO}/issues/4"
    _, _, before = await api("GET", url)
    status, _, after = await api(
        "PATCH", url, json={"title": "New", "body": None, "state": "closed", "labels": ["p1"]}
    )
    assert status == 200
    assert (after["title"], after["body"], after["state"]) == ("New", None, "closed")
    assert after["state_reason"] == "completed"
    assert after["closed_at"] is not None
    assert after["updated_at"] == "2030-03-17T17:46:40Z" != before["updated_at"]
    assert [label["name"] for label in after["labels"]] == ["p1"]
    _, _, reopened = await api("PATCH", url, json={"state": "open"})
    assert (reopened["state"], reopened["state_reason"], reopened["closed_at"]) == (
        "open",
        "reopened",
        None,
    )
    _, _, reason = await api("PATCH", url, json={"state_reason": "not_planned"})
    assert reason["state_reason"] == "not_planned"


@pytest.mark.parametrize(
    ("body", "status"),
    [({"state": "gone"}, 422), ({"title": 5}, 422), ({"labels": "bug"}, 422), ([1], 400)],
)
async def test_patch_refuses_bad_fields(
    emulator: Emulator, api: Api, body: object, status: int
) -> None:
    got, _, answer = await api("PATCH", f"{emulator.base_url}{REPO}/issues/4", json=body)
    assert got == status
    assert answer["message"] in ("Validation Failed", "Problems parsing JSON")


async def test_bad_json_is_400(emulator: Emulator, api: Api) -> None:
    status, _, body = await api("PATCH", f"{emulator.base_url}{REPO}/issues/4", data=b"{nope")
    assert (status, body["message"]) == (400, "Problems parsing JSON")


async def test_labels_add_set_remove_and_clear(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues/10/labels"
    await api("PUT", url, json=[])
    status, _, labels = await api("POST", url, json={"labels": ["bug", "Brand New"]})
    assert status == 200
    assert [label["name"] for label in labels] == ["bug", "Brand New"]
    assert labels[1]["color"] == "ededed"
    _, _, labels = await api("POST", url, json=[{"name": "BUG"}, "p2"])
    assert [label["name"] for label in labels] == ["bug", "Brand New", "p2"]
    _, _, labels = await api("PUT", url, json={"labels": ["low"]})
    assert [label["name"] for label in labels] == ["low"]
    status, _, labels = await api("DELETE", f"{url}/low")
    assert (status, labels) == (200, [])
    status, _, body = await api("DELETE", f"{url}/low")
    assert (status, body["message"]) == (404, "Label does not exist")
    await api("POST", url, json=["a", "b"])
    status, _, _ = await api("DELETE", url)
    assert status == 204
    _, _, labels = await api("GET", url)
    assert labels == []
    status, _, _ = await api("POST", url, json={"labels": [""]})
    assert status == 422
    status, _, _ = await api("POST", url, json={"nothing": 1})
    assert status == 422


async def test_label_changes_move_the_issue_in_updated_order(start: Start, api: Api) -> None:
    emulator = await start(clock=FakeClock(start=1_900_000_000))
    base = f"{emulator.base_url}{REPO}/issues"
    await api("POST", f"{base}/3/labels", json=["help wanted"])
    _, _, newest = await api("GET", f"{base}?state=all&sort=updated&per_page=1")
    assert newest[0]["number"] == 3
    _, _, helped = await api("GET", f"{base}?state=all&labels=help%20wanted&per_page=100")
    assert 3 in [item["number"] for item in helped]


async def test_comments_create_list_and_count_duplicates(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues/12/comments"
    _, _, before = await api("GET", url)
    status, headers, created = await api("POST", url, json={"body": "Triaged <!-- mark -->"})
    assert status == 201
    assert headers["Location"] == created["url"]
    assert created["body"] == "Triaged <!-- mark -->"
    assert created["user"]["login"].startswith("user-")
    _, _, after = await api("GET", url)
    assert len(after) == len(before) + 1
    assert after[-1]["id"] == created["id"]
    await api("POST", url, json={"body": "Triaged <!-- mark -->"})
    assert emulator.stats()["duplicate_writes"] == 1
    status, _, _ = await api("POST", url, json={"body": ""})
    assert status == 422
    _, _, issue = await api("GET", f"{emulator.base_url}{REPO}/issues/12")
    assert issue["comments"] == len(before) + 2


async def test_comment_pages_link_by_repository_id(emulator: Emulator, api: Api) -> None:
    url = f"{emulator.base_url}{REPO}/issues/20/comments"
    for index in range(3):
        await api("POST", url, json={"body": f"note {index}"})
    _, headers, page = await api("GET", f"{url}?per_page=1")
    assert len(page) == 1
    assert "/repositories/1296269/issues/20/comments?per_page=1&page=2" in headers["Link"]
    nxt = headers["Link"].split(">")[0][1:]
    status, _, second = await api("GET", nxt)
    assert status == 200
    assert len(second) == 1
    status, _, _ = await api("GET", f"{url}?since=never")
    assert status == 422
    _, _, fresh = await api("GET", f"{url}?since=2099-01-01T00:00:00Z")
    assert fresh == []
