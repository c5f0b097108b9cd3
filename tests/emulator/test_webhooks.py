"""Webhook deliveries: GitHub's events, headers and signatures, failures, redelivery."""

from __future__ import annotations

import asyncio
import hmac
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from autoissue import ConfigurationError
from autoissue.emulator import Emulator, EmulatorConfig, FakeClock
from autoissue.emulator._events import SILENT
from autoissue.emulator._webhooks import Delivery, WebhookSender, signature

from .conftest import Api, Receiver, Start, push_branch

SECRET = "It's a Secret to Everybody"
REPO = "/repos/acme/widgets"


def _signed(secret: str, body: bytes, digest: str = "sha256") -> str:
    return f"{digest}=" + hmac.new(secret.encode(), body, digest).hexdigest()


async def _hooked(start: Start, receiver: Receiver, **options: Any) -> Emulator:
    return await start(webhook_url=receiver.url, webhook_secret=SECRET, **options)


async def _open_issue(emulator: Emulator, state: str = "open") -> int:
    """The number of a seeded issue (not a pull request) in ``state``."""
    items = emulator.state()["repos"][0]["issues"]
    found = (i for i in items if not i["is_pull_request"] and i["state"] == state)
    number: int = next(found)["number"]
    return number


async def test_api_writes_are_delivered_signed_as_github_sends_them(
    start: Start, receiver: Receiver, api: Api
) -> None:
    emulator = await _hooked(start, receiver)
    base = f"{emulator.base_url}{REPO}"
    number = await _open_issue(emulator)
    issue = f"{base}/issues/{number}"
    await api("PATCH", issue, json={"title": "Renamed", "state": "closed"})
    await api("POST", f"{issue}/labels", json=["triaged"])
    await api("DELETE", f"{issue}/labels/triaged")
    await api("POST", f"{issue}/comments", json={"body": "Looking"})
    status, _, created = await api(
        "POST", f"{base}/issues", json={"title": "New", "labels": ["bug"], "assignees": ["zoe-r"]}
    )
    assert status == 201
    await emulator.drain_webhooks()
    # In the order of the changes for each issue; no order across issues, as on GitHub.
    received = sorted(receiver.received, key=lambda item: item.payload["issue"]["number"])
    assert [item.kind for item in received] == [
        ("issues", "edited"),
        ("issues", "closed"),
        ("issues", "labeled"),
        ("issues", "unlabeled"),
        ("issue_comment", "created"),
        ("issues", "opened"),
        ("issues", "labeled"),
        ("issues", "assigned"),
    ]
    _, _, me = await api("GET", f"{emulator.base_url}/user")
    guids = set()
    for item in received:
        headers = item.headers
        assert headers["X-Hub-Signature-256"] == _signed(SECRET, item.body)
        assert headers["X-Hub-Signature"] == _signed(SECRET, item.body, "sha1")
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"].startswith("GitHub-Hookshot/")
        assert headers["X-GitHub-Hook-Installation-Target-ID"] == "1296269"
        guids.add(uuid.UUID(headers["X-GitHub-Delivery"]))
        assert item.payload["repository"]["full_name"] == "acme/widgets"
        assert {"archived", "fork", "private", "open_issues"} <= set(item.payload["repository"])
        assert "permissions" not in item.payload["repository"]
        assert item.payload["sender"]["login"] == me["login"]
    assert len(guids) == len(received)
    edited, closed, labeled, unlabeled, comment, opened, *_ = (item.payload for item in received)
    assert list(edited) == ["action", "issue", "changes", "repository", "sender"]
    assert edited["changes"] == {"title": {"from": edited["changes"]["title"]["from"]}}
    assert edited["issue"]["title"] == "Renamed"
    assert closed["issue"]["state"] == "closed"
    assert (labeled["label"]["name"], unlabeled["label"]["name"]) == ("triaged", "triaged")
    assert comment["comment"]["body"] == "Looking"
    assert comment["issue"]["number"] == number
    assert opened["issue"] == created
    assert received[-1].payload["assignee"]["login"] == "zoe-r"
    _, _, now = await api("GET", issue)
    assert comment["issue"] == now  # the same issue object the API serves


async def test_writes_that_change_nothing_deliver_nothing(
    start: Start, receiver: Receiver, api: Api
) -> None:
    emulator = await _hooked(start, receiver)
    number = await _open_issue(emulator)
    issue = f"{emulator.base_url}{REPO}/issues/{number}"
    _, _, before = await api("GET", issue)
    await api("PATCH", issue, json={"title": before["title"], "state": "open"})
    names = [label["name"] for label in before["labels"]]
    await api("POST", f"{issue}/labels", json=[name.upper() for name in names])
    _, _, comment = await api("POST", f"{issue}/comments", json={"body": "one"})
    edit = f"{emulator.base_url}{REPO}/issues/comments/{comment['id']}"
    await api("PATCH", edit, json={"body": "one"})  # the body it has
    await api("PATCH", edit, json={"body": "two"})
    await api("PUT", f"{issue}/labels", json=["x"])
    await api("DELETE", f"{issue}/labels")
    await emulator.drain_webhooks()
    expected = [("issue_comment", "created"), ("issue_comment", "edited")]
    expected += [("issues", "unlabeled")] * len(names) + [("issues", "labeled")]
    expected += [("issues", "unlabeled")]
    assert receiver.kinds() == expected
    edited = receiver.received[1].payload
    assert list(edited)[:4] == ["action", "changes", "issue", "comment"]
    assert (edited["changes"], edited["comment"]["body"]) == ({"body": {"from": "one"}}, "two")


async def test_pull_requests_get_pull_request_events(
    start: Start, receiver: Receiver, api: Api, tmp_path: Path
) -> None:
    emulator = await _hooked(start, receiver)
    clone_url = emulator.state()["repos"][0]["clone_url"]
    await asyncio.to_thread(push_branch, clone_url, "fix/one", tmp_path)
    body = {"title": "Fix one", "head": "fix/one", "base": "main"}
    status, _, opened = await api("POST", f"{emulator.base_url}{REPO}/pulls", json=body)
    assert status == 201
    await emulator.drain_webhooks()
    assert receiver.kinds() == [("pull_request", "opened")]
    assert receiver.received[0].payload["pull_request"] == opened
    receiver.received.clear()
    items = emulator.state()["repos"][0]["issues"]
    pull = next(i for i in items if i["is_pull_request"] and i["state"] == "open")["number"]
    issue = f"{emulator.base_url}{REPO}/issues/{pull}"
    await api("POST", f"{issue}/labels", json=["ready"])
    await api("PATCH", issue, json={"state": "closed"})
    await api("PATCH", issue, json={"state": "open"})
    await api("POST", f"{issue}/comments", json={"body": "LGTM"})
    await emulator.drain_webhooks()
    assert receiver.kinds() == [
        ("pull_request", "labeled"),
        ("pull_request", "closed"),
        ("pull_request", "reopened"),
        ("issue_comment", "created"),
    ]
    labeled = receiver.received[0].payload
    assert list(labeled)[:3] == ["action", "number", "pull_request"]
    assert labeled["number"] == labeled["pull_request"]["number"] == pull
    assert "pull_request" in receiver.received[3].payload["issue"]


async def test_admin_edits_are_delivered_with_their_sender(
    start: Start, receiver: Receiver, api: Api
) -> None:
    emulator = await _hooked(start, receiver)
    number = await _open_issue(emulator)
    url = f"{emulator.base_url}/_emulator/issues/acme/widgets/{number}"
    await api("POST", url, json={"body": "More detail", "sender": "maintainer"})
    status, _, _ = await api("POST", url, json={"state": "closed"})
    assert status == 200
    status, _, body = await api("POST", url, json={"sender": ""})
    assert (status, body["errors"][0]["field"]) == (422, "sender")
    await emulator.drain_webhooks()
    assert receiver.kinds() == [("issues", "edited"), ("issues", "closed")]
    edited, closed = (item.payload for item in receiver.received)
    assert edited["sender"]["login"] == "maintainer"
    assert closed["sender"]["login"] == closed["issue"]["user"]["login"]  # the author


async def test_failed_deliveries_are_recorded_listed_and_redelivered(
    start: Start, receiver: Receiver, api: Api
) -> None:
    emulator = await _hooked(start, receiver)
    admin = f"{emulator.base_url}/_emulator"
    receiver.status = 500
    status, _, _ = await api("POST", f"{emulator.base_url}{REPO}/issues", json={"title": "T"})
    assert status == 201  # the request never waits for, nor fails with, its delivery
    await emulator.drain_webhooks()
    _, _, listed = await api("GET", f"{admin}/deliveries")
    (failed,) = listed
    assert failed["status"] == "failed"
    assert (failed["status_code"], failed["error"]) == (500, "Invalid HTTP Response: 500")
    assert (failed["event"], failed["action"], failed["repo"]) == (
        "issues",
        "opened",
        "acme/widgets",
    )
    assert failed["issue"] == 121
    assert failed["delivered_at"] == "2027-01-15T08:00:00Z"  # the emulator's clock
    receiver.status = 204
    status, _, again = await api("POST", f"{admin}/deliveries/{failed['id']}/redeliver")
    assert status == 202
    assert (again["redelivery"], again["guid"], again["status"]) == (True, failed["guid"], "queued")
    assert again["id"] != failed["id"]
    await emulator.drain_webhooks()
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["X-GitHub-Delivery"] == second.headers["X-GitHub-Delivery"]
    _, _, listed = await api("GET", f"{admin}/deliveries")
    assert [(item["id"], item["status"]) for item in listed] == [
        (again["id"], "OK"),
        (failed["id"], "failed"),
    ]
    _, _, stats = await api("GET", f"{admin}/stats")
    assert stats["webhook_deliveries"] == {"sent": 1, "failed": 1, "dropped": 0, "pending": 0}


async def test_one_delivery_shows_what_was_sent(start: Start, receiver: Receiver, api: Api) -> None:
    emulator = await _hooked(start, receiver, repos=("acme/widgets", "acme/gadgets"))
    admin = f"{emulator.base_url}/_emulator"
    await api("POST", f"{emulator.base_url}/repos/acme/gadgets/issues", json={"title": "G"})
    await api("POST", f"{emulator.base_url}{REPO}/issues/2/comments", json={"body": "W"})
    await emulator.drain_webhooks()
    _, _, gadgets = await api("GET", f"{admin}/deliveries?repo=ACME/gadgets")
    assert [(item["repo"], item["repository_id"]) for item in gadgets] == [
        ("acme/gadgets", 1296270)
    ]
    status, _, one = await api("GET", f"{admin}/deliveries/{gadgets[0]['id']}")
    assert status == 200
    sent = one["request"]["headers"]
    (got,) = (i for i in receiver.received if i.headers["X-GitHub-Delivery"] == one["guid"])
    assert one["request"]["payload"] == got.payload
    assert sent["X-Hub-Signature-256"] == got.headers["X-Hub-Signature-256"]
    for path in ("deliveries/999", "deliveries/x", "deliveries/999/redeliver"):
        method = "POST" if path.endswith("redeliver") else "GET"
        status, _, body = await api(method, f"{admin}/{path}")
        assert (status, body["message"]) == (404, f"no recent delivery {path.split('/')[1]}")


async def test_an_unreachable_receiver_fails_only_the_delivery(start: Start, api: Api) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    emulator = await start(webhook_url=f"http://127.0.0.1:{port}/hook")
    status, _, _ = await api("POST", f"{emulator.base_url}{REPO}/issues/1/labels", json=["new"])
    assert status == 200
    await emulator.drain_webhooks()
    (delivery,) = await _deliveries(emulator, api)
    assert delivery["status"] == "failed"
    assert delivery["status_code"] is None
    assert "ClientConnectorError" in delivery["error"]
    assert emulator.stats()["webhook_deliveries"]["failed"] == 1


async def _deliveries(emulator: Emulator, api: Api) -> list[dict[str, Any]]:
    _, _, listed = await api("GET", f"{emulator.base_url}/_emulator/deliveries")
    assert isinstance(listed, list)
    return listed


async def test_without_a_secret_deliveries_are_unsigned(
    start: Start, receiver: Receiver, api: Api
) -> None:
    emulator = await start(webhook_url=receiver.url)
    await api("POST", f"{emulator.base_url}{REPO}/issues/1/labels", json=["new"])
    await emulator.drain_webhooks()
    (item,) = receiver.received
    assert "X-Hub-Signature-256" not in item.headers
    assert "X-Hub-Signature" not in item.headers


async def test_a_reset_forgets_deliveries_and_their_counts(
    start: Start, receiver: Receiver, api: Api
) -> None:
    emulator = await _hooked(start, receiver)
    await api("POST", f"{emulator.base_url}{REPO}/issues/1/labels", json=["new"])
    await emulator.drain_webhooks()
    assert emulator.stats()["webhook_deliveries"]["sent"] == 1
    await api("POST", f"{emulator.base_url}/_emulator/reset")
    assert await _deliveries(emulator, api) == []
    assert emulator.stats()["webhook_deliveries"] == {
        "sent": 0,
        "failed": 0,
        "dropped": 0,
        "pending": 0,
    }


async def test_without_a_webhook_url_nothing_is_built_or_sent(emulator: Emulator, api: Api) -> None:
    ctx = emulator._context()
    assert ctx.hooks is SILENT
    await api("PATCH", f"{emulator.base_url}{REPO}/issues/1", json={"title": "Changed"})
    await api("POST", f"{emulator.base_url}{REPO}/issues", json={"title": "New"})
    await emulator.drain_webhooks()  # nothing to wait for
    assert ctx.store._hook_repo is None  # no webhook payload was ever built
    for method, path in (
        ("GET", "deliveries"),
        ("GET", "deliveries/1"),
        ("POST", "deliveries/1/redeliver"),
    ):
        status, _, body = await api(method, f"{emulator.base_url}/_emulator/{path}")
        assert status == 404
        assert body["message"].startswith("webhooks are off")
    assert emulator.stats()["webhook_deliveries"]["sent"] == 0


async def test_a_full_queue_drops_deliveries_and_a_slow_receiver_times_out(
    receiver: Receiver,
) -> None:
    sender = WebhookSender(
        url=receiver.url,
        secret=None,
        clock=FakeClock(),
        lanes=1,
        queue_size=1,
        history=2,
        timeout_s=0.2,
    )
    receiver.gate = asyncio.Event()
    await sender.start()
    try:
        first = _send(sender, 1)
        await receiver.arrived.wait()  # the sender task holds it: the queue is empty again
        queued, dropped = _send(sender, 2), _send(sender, 3)
        assert (queued.status, dropped.status, dropped.error) == (
            "queued",
            "failed",
            "delivery queue full",
        )
        assert [item.id for item in sender.recent()] == [3, 2]  # history keeps two
        assert sender.find(first.id) is None
        await sender.drain()  # both time out: the receiver never answers
        assert (first.status, first.error, queued.error) == ("failed", "timed out", "timed out")
        assert sender.statistics() == {"sent": 0, "failed": 3, "dropped": 1, "pending": 0}
        assert repr(sender).startswith(f"WebhookSender({receiver.url}, pending=0, sent=0, failed=3")
        assert repr(first) == "Delivery(1, issues.opened, failed)"
    finally:
        await sender.close()
    await sender.close()  # closing twice is harmless


async def test_a_slow_answer_holds_up_only_its_own_lane(receiver: Receiver) -> None:
    sender = WebhookSender(url=receiver.url, secret=None, clock=FakeClock(), lanes=2)
    receiver.gate = asyncio.Event()
    await sender.start()
    try:
        for issue in (1, 2, 1):  # issues 1 and 2 take different lanes
            _send(sender, issue)
        await asyncio.wait_for(_arrivals(receiver, 2), timeout=5)
        assert sorted(item.headers["X-GitHub-Hook-ID"] for item in receiver.received) == ["1"] * 2
        assert sender.statistics()["pending"] == 1  # issue 1's second waits for its first
        receiver.gate.set()
        await sender.drain()
    finally:
        await sender.close()
    assert sender.statistics() == {"sent": 3, "failed": 0, "dropped": 0, "pending": 0}


async def _arrivals(receiver: Receiver, count: int) -> None:
    while len(receiver.received) < count:
        receiver.arrived.clear()
        await receiver.arrived.wait()


def _send(sender: WebhookSender, issue: int) -> Delivery:
    return sender.send(
        event="issues", action="opened", repo=("acme/widgets", 1), issue=issue, body=b"{}"
    )


async def test_a_reset_drops_queued_deliveries(receiver: Receiver) -> None:
    sender = WebhookSender(url=receiver.url, secret="s", clock=FakeClock(), lanes=1)
    receiver.gate = asyncio.Event()
    await sender.start()
    try:
        _send(sender, 1)
        await receiver.arrived.wait()
        _send(sender, 2)
        assert sender.statistics()["pending"] == 1
        sender.clear()
        assert (sender.statistics()["pending"], sender.recent()) == (0, [])
        receiver.gate.set()
        await sender.drain()
    finally:
        await sender.close()
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"webhook_url": "ftp://example.com/hook"}, "webhook_url must be an http(s) URL"),
        ({"webhook_url": "http://[::1/hook"}, "webhook_url must be an http(s) URL"),
        ({"webhook_url": "http:///hook"}, "webhook_url must be an http(s) URL"),
        ({"webhook_secret": "s"}, "webhook_secret needs a webhook_url"),
        ({"webhook_url": "http://h/", "webhook_secret": ""}, "webhook_secret must not be empty"),
    ],
)
def test_webhook_settings_are_checked(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EmulatorConfig(**options)  # type: ignore[arg-type]


def test_the_secret_stays_out_of_the_config_repr() -> None:
    config = EmulatorConfig(webhook_url="http://127.0.0.1:9/hook", webhook_secret=SECRET)
    assert SECRET not in repr(config)
    assert "webhook_url='http://127.0.0.1:9/hook'" in repr(config)


def test_signatures_match_githubs_documented_example() -> None:
    # docs.github.com, "Validating webhook deliveries": this secret and body give this digest.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(SECRET, b"Hello, World!") == expected
    assert signature("another secret", b"Hello, World!") != expected
