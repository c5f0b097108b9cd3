"""The timeline: when items were opened through the API and first labelled, and by whom."""

from __future__ import annotations

import aiohttp

from autoissue.emulator import Emulator
from autoissue.emulator._payloads import token_login
from autoissue.emulator._timeline import Timeline

from .conftest import Api, Receiver, Start

REPO = "/repos/acme/widgets"
LABELLER = "l4b3ll3r"


def test_each_item_is_opened_once_and_labelled_once_per_login() -> None:
    ticks = iter([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    timeline = Timeline(now=lambda: next(ticks))
    timeline.opened("acme/a", 7, "ann")
    timeline.opened("acme/a", 7, "bob")  # opened once: the first record stays
    timeline.labelled("acme/a", 7, "bot")
    timeline.labelled("acme/a", 7, "bot")  # a later label by the same login: not recorded
    timeline.labelled("acme/a", 7, "ann")
    timeline.labelled("acme/b", 7, "bot")  # another repository's item of the same number
    assert timeline.snapshot() == {
        "opened": [{"repo": "acme/a", "number": 7, "login": "ann", "at": 1.0}],
        "labelled": [
            {"repo": "acme/a", "number": 7, "login": "bot", "at": 2.0},
            {"repo": "acme/a", "number": 7, "login": "ann", "at": 3.0},
            {"repo": "acme/b", "number": 7, "login": "bot", "at": 4.0},
        ],
    }
    assert repr(timeline) == "Timeline(opened=1, labelled=3)"
    timeline.clear()
    assert timeline.snapshot() == {"opened": [], "labelled": []}


async def _timeline(emulator: Emulator, api: Api) -> dict[str, list[dict[str, object]]]:
    status, _, body = await api("GET", f"{emulator.base_url}/_emulator/timeline")
    assert status == 200
    return dict(body)


async def test_api_openings_and_label_writes_are_timed_by_who_made_them(
    start: Start, receiver: Receiver, api: Api
) -> None:
    emulator = await start(webhook_url=receiver.url)
    base = f"{emulator.base_url}{REPO}"
    _, _, created = await api("POST", f"{base}/issues", json={"title": "Crash on save"})
    number = created["number"]
    issue = f"{base}/issues/{number}"
    headers = {"Authorization": f"token {LABELLER}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        labeller = Api(session)
        await labeller("POST", f"{issue}/labels", json=["bug", "priority:high"])
        await labeller("POST", f"{issue}/labels", json=["later"])
    await api(
        "POST",
        f"{emulator.base_url}/_emulator/issues/acme/widgets/1",
        json={"labels": ["triaged"], "sender": "zoe-r"},
    )
    found = await _timeline(emulator, api)
    me = token_login("t0k3n")
    [opened] = found["opened"]
    assert {k: opened[k] for k in ("repo", "number", "login")} == {
        "repo": "acme/widgets",
        "number": number,
        "login": me,
    }
    labelled = [(item["number"], item["login"]) for item in found["labelled"]]
    assert labelled == [(number, token_login(LABELLER)), (1, "zoe-r")]
    assert float(found["labelled"][0]["at"]) >= float(opened["at"])  # type: ignore[arg-type]
    await api("POST", f"{emulator.base_url}/_emulator/reset", json={})
    assert await _timeline(emulator, api) == {"opened": [], "labelled": []}


async def test_without_webhooks_there_is_no_timeline(emulator: Emulator, api: Api) -> None:
    await api("POST", f"{emulator.base_url}{REPO}/issues", json={"title": "New"})
    assert emulator._context().timeline is None
    status, _, body = await api("GET", f"{emulator.base_url}/_emulator/timeline")
    assert status == 404
    assert body["message"].startswith("webhooks are off")
