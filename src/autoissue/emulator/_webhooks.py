"""Webhook deliveries: signed POSTs of GitHub's event payloads, sent in the background.

::

    a route's change ─▶ payload built (_events.py) ─▶ WebhookSender.send, which never waits
      ─▶ the issue's lane: a bounded queue ─▶ the lane's sender task ─▶ POST to the URL
      ─▶ the delivery's status

The request that made the change neither waits for its deliveries nor fails with them. A full
lane drops a delivery, recorded as failed so it can be redelivered. A failed POST is recorded
and never retried on its own, as GitHub does not retry either; :meth:`WebhookSender.redeliver`
sends one again under its GUID, as GitHub's redelivery does.

Lanes send concurrently, each one delivery at a time: one sender alone falls far behind a busy
emulator, since every POST waits for a turn of an event loop crowded with requests. An issue
always takes the same lane, so the deliveries about one issue arrive in the order of its
changes (``opened`` before ``labeled``); GitHub promises no order across issues, nor does this.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from typing import Any

import aiohttp

from autoissue._clock import Clock
from autoissue.emulator._payloads import iso

__all__ = ["HOOK_ID", "USER_AGENT", "Delivery", "WebhookSender"]

#: The ``X-GitHub-Hook-ID`` of the one webhook the emulator has.
HOOK_ID = 1
USER_AGENT = "GitHub-Hookshot/autoissue-emulator"
_QUEUE_SIZE = 10_000
_LANES = 32
_HISTORY = 1_000
_TIMEOUT_S = 10.0  # GitHub gives a receiver ten seconds to answer
_SEND_ERRORS = (aiohttp.ClientError, TimeoutError, OSError, ValueError)

logger = logging.getLogger(__name__)


class Delivery:
    """One delivery: what was sent (event, action, body) and what came of it.

    ``status`` is ``queued`` until sent, then ``OK`` (a 2xx answer) or ``failed``, with
    ``error`` saying why: ``Invalid HTTP Response: 500``, ``timed out``, a connection error,
    or ``delivery queue full``.
    """

    __slots__ = (
        "action",
        "body",
        "delivered_at",
        "duration",
        "error",
        "event",
        "guid",
        "id",
        "issue",
        "redelivery",
        "repo",
        "repo_id",
        "status",
        "status_code",
    )

    def __init__(
        self,
        *,
        delivery_id: int,
        guid: str,
        event: str,
        action: str,
        repo: tuple[str, int],
        issue: int,
        body: bytes,
        redelivery: bool = False,
    ) -> None:
        self.id = delivery_id
        self.guid = guid
        self.event = event
        self.action = action
        self.repo, self.repo_id = repo
        self.issue = issue
        self.body = body
        self.redelivery = redelivery
        self.status = "queued"
        self.status_code: int | None = None
        self.error: str | None = None
        self.delivered_at: str | None = None
        self.duration: float | None = None

    def __repr__(self) -> str:
        return f"Delivery({self.id}, {self.event}.{self.action}, {self.status})"

    def again(self, delivery_id: int) -> Delivery:
        """A redelivery of this one: a new id, the same GUID and body."""
        return Delivery(
            delivery_id=delivery_id,
            guid=self.guid,
            event=self.event,
            action=self.action,
            repo=(self.repo, self.repo_id),
            issue=self.issue,
            body=self.body,
            redelivery=True,
        )

    def summary(self) -> dict[str, Any]:
        """The delivery as ``GET /_emulator/deliveries`` lists it."""
        return {
            "id": self.id,
            "guid": self.guid,
            "event": self.event,
            "action": self.action,
            "repo": self.repo,
            "repository_id": self.repo_id,
            "issue": self.issue,
            "status": self.status,
            "status_code": self.status_code,
            "error": self.error,
            "redelivery": self.redelivery,
            "delivered_at": self.delivered_at,
            "duration": self.duration,
        }


def signature(secret: str, body: bytes, digest: str = "sha256") -> str:
    """The ``X-Hub-Signature-256`` (or, with ``sha1``, ``X-Hub-Signature``) of ``body``."""
    return f"{digest}=" + hmac.new(secret.encode(), body, digest).hexdigest()


class WebhookSender:
    """Queues deliveries, posts them from background tasks, and keeps the recent ones.

    ``lanes`` deliveries are sent at once, at most; ``queue_size`` wait, at most, shared evenly
    between the lanes; ``history`` are kept for listing and redelivery. Call :meth:`start` on the
    running loop before sending, and :meth:`close` at the end.
    """

    def __init__(
        self,
        *,
        url: str,
        secret: str | None,
        clock: Clock,
        lanes: int = _LANES,
        queue_size: int = _QUEUE_SIZE,
        history: int = _HISTORY,
        timeout_s: float = _TIMEOUT_S,
    ) -> None:
        self.url = url
        self._secret = secret
        self._clock = clock
        self._history = history
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        per_lane = max(queue_size // lanes, 1)
        self._lanes: list[asyncio.Queue[Delivery]] = [asyncio.Queue(per_lane) for _ in range(lanes)]
        self._deliveries: dict[int, Delivery] = {}
        self._last_id = 0
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.sent = self.failed = self.dropped = 0

    def __repr__(self) -> str:
        return (
            f"WebhookSender({self.url}, pending={self._pending()}, sent={self.sent}, "
            f"failed={self.failed})"
        )

    def _pending(self) -> int:
        return sum(lane.qsize() for lane in self._lanes)

    async def start(self) -> None:
        """Open the connection pool and start a sender task per lane."""
        connector = aiohttp.TCPConnector(limit=len(self._lanes))
        self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        self._tasks = [
            asyncio.create_task(self._run(lane), name=f"autoissue-emulator-webhooks-{number}")
            for number, lane in enumerate(self._lanes)
        ]

    async def close(self) -> None:
        """Stop sending (deliveries still queued are not sent) and close the connections."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def drain(self) -> None:
        """Wait until every delivery queued so far has been attempted."""
        for lane in self._lanes:
            await lane.join()

    def send(
        self, *, event: str, action: str, repo: tuple[str, int], issue: int, body: bytes
    ) -> Delivery:
        """Queue a delivery of ``body`` about ``repo`` (full name, id); never waits."""
        self._last_id += 1
        delivery = Delivery(
            delivery_id=self._last_id,
            guid=str(uuid.uuid4()),
            event=event,
            action=action,
            repo=repo,
            issue=issue,
            body=body,
        )
        return self._admit(delivery)

    def redeliver(self, original: Delivery) -> Delivery:
        """Queue a new delivery of ``original``'s body under its GUID, as GitHub redelivers."""
        self._last_id += 1
        return self._admit(original.again(self._last_id))

    def _admit(self, delivery: Delivery) -> Delivery:
        """Keep ``delivery`` among the recent ones and queue it; drop it when the queue is full."""
        self._deliveries[delivery.id] = delivery
        if len(self._deliveries) > self._history:
            del self._deliveries[next(iter(self._deliveries))]
        lane = self._lanes[(delivery.repo_id * 1_000_003 + delivery.issue) % len(self._lanes)]
        try:
            lane.put_nowait(delivery)
        except asyncio.QueueFull:
            self.dropped += 1
            self._finish(delivery, time.perf_counter(), error="delivery queue full")
        return delivery

    def find(self, delivery_id: int) -> Delivery | None:
        """Delivery ``delivery_id``, if it is still among the recent ones."""
        return self._deliveries.get(delivery_id)

    def recent(self) -> list[Delivery]:
        """The recent deliveries, newest first."""
        return list(reversed(self._deliveries.values()))

    def statistics(self) -> dict[str, int]:
        """Deliveries answered 2xx, failed (dropped ones included), dropped, and pending."""
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
            "pending": self._pending(),
        }

    def clear(self) -> None:
        """Forget every delivery and count from zero; queued ones are not sent."""
        for lane in self._lanes:
            while not lane.empty():
                lane.get_nowait()
                lane.task_done()
        self._deliveries.clear()
        self.sent = self.failed = self.dropped = 0

    def headers(self, delivery: Delivery) -> dict[str, str]:
        """The headers GitHub sends with a delivery; signatures only when there is a secret."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Hook-ID": str(HOOK_ID),
            "X-GitHub-Hook-Installation-Target-ID": str(delivery.repo_id),
            "X-GitHub-Hook-Installation-Target-Type": "repository",
        }
        if self._secret is not None:
            headers["X-Hub-Signature"] = signature(self._secret, delivery.body, "sha1")
            headers["X-Hub-Signature-256"] = signature(self._secret, delivery.body)
        return headers

    async def _run(self, lane: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await lane.get()
            try:
                await self._post(delivery)
            finally:
                lane.task_done()

    async def _post(self, delivery: Delivery) -> None:
        assert self._session is not None  # noqa: S101 - start() opened it before this task ran
        started = time.perf_counter()
        delivery.delivered_at = iso(int(self._clock.time()))
        try:
            headers = self.headers(delivery)
            async with self._session.post(self.url, data=delivery.body, headers=headers) as answer:
                await answer.read()
        except _SEND_ERRORS as exc:
            self._finish(delivery, started, error=_reason(exc))
        else:
            ok = 200 <= answer.status < 300
            error = None if ok else f"Invalid HTTP Response: {answer.status}"
            self._finish(delivery, started, status_code=answer.status, error=error)

    def _finish(
        self,
        delivery: Delivery,
        started: float,
        *,
        status_code: int | None = None,
        error: str | None = None,
    ) -> None:
        delivery.duration = round(time.perf_counter() - started, 6)
        delivery.status_code = status_code
        delivery.error = error
        delivery.status = "failed" if error else "OK"
        if error:
            self.failed += 1
            logger.debug("webhook delivery %d failed: %s", delivery.id, error)
        else:
            self.sent += 1


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
