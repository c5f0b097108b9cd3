"""The webhook receiver over real HTTP on loopback: signatures, caps, dedupe, admission."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from autoissue import BackendUnavailableError, FakeClock, QueueFullError
from autoissue.serve import signature_for
from autoissue.state import MemoryStateStore, SqliteStateStore, StateStore

from .conftest import (
    REPO,
    SECRET,
    RecordingAdmission,
    Serve,
    UnavailableAdmission,
    event_payload,
    issue_payload,
    new_delivery_id,
)

pytestmark = pytest.mark.timeout(30)


# -- what becomes work ---------------------------------------------------------------------


async def test_a_signed_opened_issue_is_offered_then_answered_accepted(serve: Serve) -> None:
    hook = await serve()
    answer = await hook.deliver("issues", event_payload("opened", issue=issue_payload(12)))
    assert (answer.status, answer.body) == (202, {"status": "accepted", "enqueued": 1})
    [(repo, issues)] = hook.admission.offers
    assert repo == REPO
    assert [(i.number, i.title, i.author) for i in issues] == [(12, "Widget 12 breaks", "reporter")]


async def test_a_labeled_issue_is_offered_with_its_labels(serve: Serve) -> None:
    hook = await serve()
    labels = [{"name": "bug", "color": "d73a4a"}, {"name": "help wanted"}]
    payload = event_payload("labeled", issue=issue_payload(3, labels=labels), label=labels[0])
    assert (await hook.deliver("issues", payload)).status == 202
    [(_, (issue,))] = hook.admission.offers
    assert issue.label_names == {"bug", "help wanted"}


@pytest.mark.parametrize("action", ["opened", "edited", "reopened", "labeled", "unlabeled"])
async def test_every_issue_action_that_can_change_a_decision_is_offered(
    serve: Serve, action: str
) -> None:
    hook = await serve()
    assert (await hook.deliver("issues", event_payload(action))).status == 202
    assert hook.admission.numbers == [7]


async def test_a_new_comment_offers_its_issue(serve: Serve) -> None:
    hook = await serve()
    comment = {"id": 11, "body": "Same here", "user": {"login": "someone"}}
    payload = event_payload("created", issue=issue_payload(21, comments=1), comment=comment)
    answer = await hook.deliver("issue_comment", payload)
    assert answer.status == 202
    [(_, (issue,))] = hook.admission.offers
    assert (issue.number, issue.comments) == (21, 1)


async def test_a_form_encoded_delivery_is_read_from_its_payload_field(serve: Serve) -> None:
    hook = await serve()
    form = urllib.parse.urlencode({"payload": json.dumps(event_payload("reopened"))}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (await hook.deliver("issues", form, headers=headers)).status == 202
    assert hook.admission.numbers == [7]


# -- what is ignored -----------------------------------------------------------------------


async def test_ping_is_answered_200_and_offers_nothing(serve: Serve) -> None:
    hook = await serve()
    ping = {"zen": "Design for failure.", "hook_id": 292430182, "hook": {"type": "Repository"}}
    answer = await hook.deliver("ping", ping)
    assert (answer.status, answer.body) == (200, {"status": "pong"})
    assert hook.admission.calls == 0


@pytest.mark.parametrize(
    ("event", "payload", "reason"),
    [
        ("push", {"ref": "refs/heads/main", "commits": []}, "event"),
        ("pull_request", event_payload("opened"), "event"),
        ("issues", event_payload("closed"), "action"),
        ("issues", event_payload("assigned"), "action"),
        ("issue_comment", event_payload("edited"), "action"),
        ("issue_comment", event_payload("deleted"), "action"),
    ],
)
async def test_other_events_and_actions_are_ignored_and_counted(
    serve: Serve, event: str, payload: dict[str, object], reason: str
) -> None:
    hook = await serve()
    answer = await hook.deliver(event, payload)
    assert (answer.status, answer.body) == (202, {"status": "ignored", "reason": reason})
    assert hook.admission.calls == 0
    assert hook.receiver.statistics().ignored_by == {reason: 1}


async def test_pull_requests_are_ignored_whichever_event_names_them(serve: Serve) -> None:
    hook = await serve()
    pull = issue_payload(
        5, pull_request={"url": "https://api.github.com/repos/acme/widgets/pulls/5"}
    )
    for event, action in (("issues", "opened"), ("issue_comment", "created")):
        answer = await hook.deliver(event, event_payload(action, issue=pull))
        assert answer.body == {"status": "ignored", "reason": "pull_request"}
    assert hook.admission.calls == 0
    assert hook.receiver.statistics().ignored_by == {"pull_request": 2}


async def test_our_own_writes_echoed_back_are_ignored(serve: Serve) -> None:
    hook = await serve(own_login="autoissue-bot[bot]")
    echoes = [
        ("issues", event_payload("labeled", sender="autoissue-bot[bot]")),
        ("issue_comment", event_payload("created", sender="AutoIssue-Bot[bot]")),
    ]
    for event, payload in echoes:
        assert (await hook.deliver(event, payload)).body["reason"] == "own_login"
    assert (
        await hook.deliver("issues", event_payload("labeled", sender="maintainer"))
    ).status == 202
    assert hook.admission.numbers == [7]
    assert hook.receiver.statistics().ignored_by == {"own_login": 2}


# -- authentication and limits -------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "z" * 64,
        "sha256=" + "0" * 63,
        "sha256=" + "é" * 64,
        "sha256=" + "0" * 64,
    ],
)
async def test_a_missing_malformed_or_wrong_signature_is_401_and_offers_nothing(
    serve: Serve, signature: str | None
) -> None:
    hook = await serve()
    drop = ("X-Hub-Signature-256",) if signature is None else ()
    headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    answer = await hook.deliver("issues", headers=headers, drop=drop)
    assert (answer.status, answer.body) == (401, {"status": "rejected", "reason": "signature"})
    assert hook.admission.calls == 0
    assert hook.receiver.statistics().rejected_by == {"signature": 1}


async def test_a_body_signed_with_another_secret_or_changed_after_signing_is_401(
    serve: Serve,
) -> None:
    hook = await serve()
    assert (await hook.deliver(secret="not the secret")).status == 401
    body = json.dumps(event_payload()).encode()
    tampered = body.replace(b"Widget", b"Gadget")
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": new_delivery_id(),
        "X-Hub-Signature-256": signature_for(body, SECRET),
    }
    assert (await hook.post(tampered, headers)).status == 401
    assert hook.admission.calls == 0


async def test_an_upper_case_signature_is_accepted(serve: Serve) -> None:
    hook = await serve()
    body = json.dumps(event_payload()).encode()
    upper = "sha256=" + signature_for(body, SECRET).removeprefix("sha256=").upper()
    answer = await hook.deliver("issues", body, headers={"X-Hub-Signature-256": upper})
    assert answer.status == 202


async def test_a_body_over_the_cap_is_413_whether_or_not_it_says_its_length(
    serve: Serve,
) -> None:
    hook = await serve(max_body_bytes=2048)
    big = json.dumps(event_payload(issue=issue_payload(body="x" * 4000))).encode()
    assert (await hook.deliver("issues", big)).status == 413

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to check first
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": new_delivery_id(),
        "X-Hub-Signature-256": signature_for(big, SECRET),
    }
    answer = await hook.post(chunks(), headers)
    assert (answer.status, answer.body) == (413, {"status": "rejected", "reason": "too_large"})
    assert hook.admission.calls == 0
    assert hook.receiver.statistics().rejected_by == {"too_large": 2}


async def test_a_body_at_the_cap_is_accepted(serve: Serve) -> None:
    body = json.dumps(event_payload()).encode()
    hook = await serve(max_body_bytes=len(body))
    assert (await hook.deliver("issues", body)).status == 202


@pytest.mark.parametrize(
    ("event", "body", "drop", "headers"),
    [
        ("issues", b"{not json", (), {}),
        ("issues", b"[1, 2]", (), {}),
        ("issues", json.dumps({"action": "opened", "repository": {"full_name": REPO}}), (), {}),
        ("issues", json.dumps(event_payload(issue={"title": "no number"})), (), {}),
        ("issues", json.dumps(event_payload(repo="")), (), {}),
        ("issues", json.dumps(event_payload(repo="no-slash")), (), {}),
        ("issues", json.dumps(event_payload()), ("X-GitHub-Delivery",), {}),
        ("issues", json.dumps(event_payload()), ("X-GitHub-Event",), {}),
        ("issues", json.dumps(event_payload()), (), {"X-GitHub-Delivery": "a b/c"}),
        ("Issues!", json.dumps(event_payload()), (), {}),
        ("issues", b"payload=%FF", (), {"Content-Type": "application/x-www-form-urlencoded"}),
        ("issues", "payload=é".encode(), (), {"Content-Type": "application/x-www-form-urlencoded"}),
        ("issues", b"a=1&b=2", (), {"Content-Type": "application/x-www-form-urlencoded"}),
        ("issues", b"a=1&" * 20, (), {"Content-Type": "application/x-www-form-urlencoded"}),
    ],
)
async def test_a_signed_delivery_that_is_not_a_readable_event_is_400(
    serve: Serve, event: str, body: bytes | str, drop: tuple[str, ...], headers: dict[str, str]
) -> None:
    hook = await serve()
    raw = body.encode() if isinstance(body, str) else body
    answer = await hook.deliver(event, raw, drop=drop, headers=headers)
    assert (answer.status, answer.body) == (400, {"status": "rejected", "reason": "malformed"})
    assert hook.admission.calls == 0


async def test_the_secret_never_shows_in_reprs_answers_or_logs(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = await serve(log_interval_s=0)
    answers = [
        await hook.deliver(secret="wrong"),
        await hook.deliver(drop=("X-Hub-Signature-256",)),
        await hook.deliver("issues", b"{not json"),
        await hook.deliver(),
        await hook.deliver("ping", {}),
    ]
    shown = [repr(hook.receiver), repr(hook.server), caplog.text, *map(str, answers)]
    assert all(SECRET not in text for text in shown)
    assert "refused a webhook delivery" in caplog.text


async def test_refusals_are_logged_at_most_once_per_interval_per_reason(
    serve: Serve, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="autoissue.serve")
    hook = await serve(log_interval_s=60)
    for _ in range(5):
        assert (await hook.deliver(secret="wrong")).status == 401
    assert (await hook.deliver("issues", b"{not json")).status == 400  # another reason: logged
    clock.advance(60)
    assert (await hook.deliver(secret="wrong")).status == 401
    reports = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(reports) == 3
    assert "(0 more like it held back)" in reports[0]
    assert "401" in reports[0]
    assert "400" in reports[1]
    assert "(4 more like it held back)" in reports[2]


# -- dedupe --------------------------------------------------------------------------------


async def test_a_delivery_seen_before_is_answered_200_and_offered_once(
    serve: Serve, state: StateStore
) -> None:
    hook = await serve(state=state)
    delivery = new_delivery_id()
    first = await hook.deliver(delivery=delivery)
    again = await hook.deliver(delivery=delivery)
    assert (first.status, again.status, again.body) == (202, 200, {"status": "duplicate"})
    assert hook.admission.numbers == [7]
    assert (await hook.deliver()).status == 202  # another delivery of the same issue is new
    assert hook.admission.numbers == [7, 7]
    stats = hook.receiver.statistics()
    assert (stats.accepted, stats.duplicate, stats.enqueued) == (2, 1, 2)


async def test_two_receivers_on_one_sqlite_file_dedupe_each_others_deliveries(
    serve: Serve, tmp_path: Path
) -> None:
    path = tmp_path / "state.db"
    async with (
        await SqliteStateStore(path).open() as one,
        await SqliteStateStore(path).open() as two,
    ):
        first, second = await serve(state=one), await serve(state=two)
        delivery = new_delivery_id()
        assert (await first.deliver(delivery=delivery)).status == 202
        assert (await second.deliver(delivery=delivery)).status == 200
        redelivered = new_delivery_id()
        assert (await second.deliver(delivery=redelivered)).status == 202
        assert (await first.deliver(delivery=redelivered)).status == 200
    assert first.admission.numbers == second.admission.numbers == [7]


async def test_a_delivery_is_remembered_across_a_restart(serve: Serve, tmp_path: Path) -> None:
    path, delivery = tmp_path / "state.db", new_delivery_id()
    async with await SqliteStateStore(path).open() as before:
        assert (await (await serve(state=before)).deliver(delivery=delivery)).status == 202
    async with await SqliteStateStore(path).open() as after:
        restarted = await serve(state=after)
        assert (await restarted.deliver(delivery=delivery)).status == 200
        assert restarted.admission.calls == 0


async def test_a_delivery_is_forgotten_once_its_memory_expires(serve: Serve) -> None:
    clock = FakeClock()
    state = SqliteStateStore(":memory:", clock=clock)
    async with await state.open():
        hook, delivery = await serve(state=state, remember_s=3600), new_delivery_id()
        assert (await hook.deliver(delivery=delivery)).status == 202
        clock.advance(3599)
        assert (await hook.deliver(delivery=delivery)).status == 200
        clock.advance(1)
        assert (await hook.deliver(delivery=delivery)).status == 202
    assert hook.admission.numbers == [7, 7]


async def test_concurrent_copies_of_one_delivery_are_offered_once(serve: Serve) -> None:
    admission = RecordingAdmission()
    admission.gate = asyncio.Event()
    hook, delivery = await serve(admission=admission), new_delivery_id()
    first = asyncio.create_task(hook.deliver(delivery=delivery))
    await admission.entered.wait()  # the first copy holds the claim, inside offer()
    second = await hook.deliver(delivery=delivery)
    assert (second.status, second.body["status"]) == (409, "failed")
    admission.gate.set()
    assert (await first).status == 202
    assert (await hook.deliver(delivery=delivery)).status == 200  # and the claim was released
    assert admission.numbers == [7]
    assert hook.receiver.statistics().failed_by == {"in_progress": 1}


# -- admission failures --------------------------------------------------------------------


async def test_an_unavailable_backend_is_503_and_the_delivery_is_not_remembered(
    serve: Serve, state: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    down = UnavailableAdmission()
    hook, delivery = await serve(admission=down, state=state), new_delivery_id()
    answer = await hook.deliver(delivery=delivery)
    assert answer.status == 503
    assert answer.body["delivery"] == delivery
    assert "BackendUnavailableError" in answer.body["message"]
    assert "disk I/O error" in caplog.text
    up = await serve(state=state)  # the same backend, admission back: the redelivery is new
    assert (await up.deliver(delivery=delivery)).status == 202
    assert up.admission.numbers == [7]
    assert hook.receiver.statistics().failed == 1
    assert hook.receiver.statistics().failed_by == {"unavailable": 1}


async def test_a_failed_offer_then_its_redelivery_is_admitted(serve: Serve) -> None:
    admission = RecordingAdmission(failures=[QueueFullError("the queue is full")])
    hook, delivery = await serve(admission=admission), new_delivery_id()
    assert (await hook.deliver(delivery=delivery)).status == 503
    assert (await hook.deliver(delivery=delivery)).status == 202
    assert (await hook.deliver(delivery=delivery)).status == 200
    assert (admission.calls, admission.numbers) == (2, [7])


async def test_an_offer_that_outruns_its_timeout_is_503_and_can_be_redelivered(
    serve: Serve,
) -> None:
    admission = RecordingAdmission()
    admission.gate = asyncio.Event()  # never set: the offer hangs
    hook, delivery = await serve(admission=admission, offer_timeout_s=0.05), new_delivery_id()
    answer = await hook.deliver(delivery=delivery)
    assert (answer.status, answer.body["message"]) == (
        503,
        "not queued (TimeoutError): redeliver it",
    )
    admission.gate = None
    assert (await hook.deliver(delivery=delivery)).status == 202
    assert admission.numbers == [7]


async def test_an_admission_that_breaks_unexpectedly_is_503_with_its_traceback_logged(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    admission = RecordingAdmission(failures=[RuntimeError("a bug in admission")])
    hook = await serve(admission=admission)
    assert (await hook.deliver()).status == 503
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None
    assert "a bug in admission" in caplog.text


async def test_a_state_store_that_fails_is_503_before_anything_is_offered(
    serve: Serve, tmp_path: Path
) -> None:
    state = await SqliteStateStore(tmp_path / "state.db").open()
    await state.close()
    hook = await serve(state=state)
    answer = await hook.deliver()
    assert answer.status == 503
    assert hook.admission.calls == 0


# -- health and statistics -----------------------------------------------------------------


async def test_healthz_counts_every_outcome(serve: Serve, clock: FakeClock) -> None:
    hook = await serve(own_login="bot")
    before = await hook.health()
    assert before["deliveries"]["received"] == 0
    assert before["last_delivery_at"] is None
    delivery = new_delivery_id()
    await hook.deliver(delivery=delivery)
    await hook.deliver(delivery=delivery)
    await hook.deliver(secret="wrong")
    await hook.deliver("ping", {})
    await hook.deliver("issues", event_payload(sender="bot"))
    clock.advance(5)
    await hook.deliver("push", {})
    health = await hook.health()
    assert health["status"] == "ok"
    assert health["deliveries"] == {
        "received": 6,
        "accepted": 1,
        "duplicate": 1,
        "rejected": 1,
        "ignored": 3,
        "failed": 0,
    }
    assert health["enqueued"] == 1
    assert health["rejected_by"] == {"signature": 1}
    assert health["ignored_by"] == {"ping": 1, "own_login": 1, "event": 1}
    assert health["failed_by"] == {}
    assert health["last_delivery_at"] == clock.now
    stats = hook.receiver.statistics()
    assert (stats.in_flight, stats.rejected, stats.ignored) == (0, 1, 3)
    assert "received=6 accepted=1 duplicate=1 rejected=1 ignored=3 failed=0" in repr(hook.receiver)


async def test_the_server_reports_where_it_listens(serve: Serve) -> None:
    hook = await serve(path="/hooks/github")
    server = hook.server
    assert server.url == f"http://127.0.0.1:{server.bound_port}/hooks/github"
    assert server.url in repr(server)
    assert (await hook.deliver()).status == 202


class ShakyState(MemoryStateStore):
    """A memory store whose backend fails, or loses a race, at chosen steps."""

    def __init__(self, *, remember: str = "ok", release: str = "ok") -> None:
        super().__init__()
        self.remember, self.release_mode = remember, release

    async def _add_if_absent(self, key: str, now: float, until: float | None) -> bool:
        if self.remember == "error":
            raise BackendUnavailableError("redis at redis://cache:6379/0 is unreachable")
        if self.remember == "raced":  # another receiver remembered it first
            await super()._add_if_absent(key, now, until)
            return False
        return await super()._add_if_absent(key, now, until)

    async def _release(self, issue: str, owner: str) -> bool:
        if self.release_mode == "error":
            raise BackendUnavailableError("redis at redis://cache:6379/0 is unreachable")
        return await super()._release(issue, owner)


async def test_a_queued_delivery_that_cannot_be_remembered_is_still_accepted(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    hook, delivery = await serve(state=ShakyState(remember="error")), new_delivery_id()
    assert (await hook.deliver(delivery=delivery)).status == 202
    assert "is queued but could not be remembered" in caplog.text
    # The window the contract names: its redelivery is offered again, for admission to drop.
    assert (await hook.deliver(delivery=delivery)).status == 202
    assert hook.admission.numbers == [7, 7]


async def test_a_delivery_remembered_meanwhile_elsewhere_is_accepted(serve: Serve) -> None:
    hook, delivery = await serve(state=ShakyState(remember="raced")), new_delivery_id()
    assert (await hook.deliver(delivery=delivery)).status == 202
    assert (await hook.deliver(delivery=delivery)).status == 200


async def test_a_claim_that_cannot_be_released_does_not_fail_the_delivery(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    hook = await serve(state=ShakyState(release="error"))
    assert (await hook.deliver()).status == 202
    assert "could not release webhook:admitting:" in caplog.text
