"""The webhook receiver: GitHub's deliveries in, issues offered to admission, 2xx once queued.

::

    POST path ──▶ signature header well formed? ──no──▶ 401 (body not read)
                  body within the cap? ─────────no──▶ 413
                  HMAC of the raw body matches? ─no──▶ 401 (nothing parsed before this)
                  X-GitHub-Delivery, X-GitHub-Event and the payload readable? ──no──▶ 400
                  ping ──▶ 200 · other events, actions, pull requests, own echoes ──▶ 202 ignored
                  claim the delivery id (a lock) ──held by another request──▶ 409
                  id admitted before? ──yes──▶ 200 duplicate, offered nowhere
                  admission.offer(repo, [issue]) within offer_timeout_s ──raised / timed out──▶ 503
                  remember the id (remember_s) ──▶ 202 accepted
    GET /healthz ──▶ the counts as JSON · GET /metrics (when given a page) ──▶ Prometheus text

GitHub's side, which this answers to: every delivery is signed with the hook's secret; it
carries a GUID (``X-GitHub-Delivery``) that a redelivery reuses, and two hooks sent the same
event share; a delivery not answered 2xx within 10 s is marked failed and is **not** retried
by GitHub: only a redelivery (the UI, or the ``redeliver`` API a sweeper calls) sends it again.

So the receiver answers 2xx only once admission has returned, the work durably queued; a
failure is a 503 (or a 409 while another request holds the same delivery), never a silent
2xx, and leaves the id unremembered so a redelivery is admitted. The ids, their claims and
their memory live in the state store: a restart, or a second receiver on the same backend,
dedupes too. One window remains: a process that dies after ``offer`` returned and before the
id was remembered sees its redelivery offered again, which admission (ledger, idempotency
keys) must tolerate. The secret is never logged, shown or put in an answer; refusals are
logged at most once per ``log_interval_s`` for each reason, with a count of those held back.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import AutoIssueError
from autoissue.model import Issue
from autoissue.serve._events import PING, Ignored, Malformed, Work, classify, json_payload
from autoissue.serve._options import HEALTH_PATH, METRICS_PATH, WebhookOptions
from autoissue.serve._signature import SIGNATURE_HEADER, Secret, well_formed
from autoissue.serve._statistics import Tally, WebhookStatistics
from autoissue.state import StateStore

__all__ = [
    "HEALTH_PATH",
    "METRICS_PATH",
    "Admission",
    "HealthFigures",
    "MetricsPage",
    "WebhookReceiver",
]

logger = logging.getLogger(__name__)

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"

# A delivery id is GitHub's GUID and an event a lower-case name; anything else is not GitHub's
# (and must not become part of a key in the state store).
_DELIVERY_ID = re.compile(r"[0-9A-Za-z._-]{1,100}")
_EVENT_NAME = re.compile(r"[a-z_]{1,64}")
# State store names: the lock held while a delivery is admitted, and the key remembering it.
_CLAIM = "webhook:admitting:"
_ADMITTED = "webhook:admitted:"
# A claim outlives the offer's timeout by this much, so a receiver that died holding it
# blocks its redelivery only briefly.
_CLAIM_MARGIN_S = 5.0
# Why a delivery was refused.
SIGNATURE, TOO_LARGE, MALFORMED = "signature", "too_large", "malformed"
# Why a delivery was not queued: admission raised or timed out (503), or another request holds
# its claim (409).
UNAVAILABLE, IN_PROGRESS = "unavailable", "in_progress"

#: More figures for ``GET /healthz``, from the process around the receiver (its worker's
#: counts, its queue's), asked once per request and shown beside the deliveries'. An
#: :class:`~autoissue.AutoIssueError` it raises makes the answer a 503 saying why.
HealthFigures = Callable[[], Awaitable[Mapping[str, Any]]]

#: Answers ``GET /metrics`` beside the deliveries, from the process around the receiver (which
#: knows what to measure and how to render it): no signature asked, nothing counted as a
#: delivery.
MetricsPage = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Admission(Protocol):
    """Where deliveries' issues go: it selects, consults the ledger and queues durably.

    Offers may run concurrently (one per delivery in flight). One issue may be offered many
    times: each edit, label and comment is a delivery of its own, and a delivery queued but
    not remembered (see the module's contract) is offered again when redelivered. An offer
    that outruns the receiver's timeout is cancelled: what it queued must then be either
    complete or absent. Whatever it raises makes the delivery a 503.
    """

    async def offer(self, repo: str, issues: Sequence[Issue]) -> int:
        """Admit what should be processed; return how many were enqueued."""
        ...


@dataclass(frozen=True, slots=True)
class _Delivery:
    id: str
    event: str
    payload: bytes


class _Refused(Exception):
    """A delivery answered with a client error before it could reach admission."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class _Throttle:
    """Lets a report through at most once per ``interval_s``, counting those held back."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next_at = float("-inf")
        self._held = 0

    def admit(self, now: float) -> int | None:
        """``None`` to hold this report back; else how many were held back before it."""
        if now < self._next_at:
            self._held += 1
            return None
        held, self._held = self._held, 0
        self._next_at = now + self.interval_s
        return held


class WebhookReceiver:
    """Receives GitHub's webhook deliveries and offers their issues to ``admission``.

    ``secret`` is the hook's secret (kept out of every repr, log and answer); ``state`` is
    the backend's state store, where delivery ids are claimed and remembered; ``clock``
    stamps deliveries and paces the refusal log; ``figures`` adds to what ``/healthz``
    answers (see :data:`HealthFigures`); ``metrics``, when given, answers ``GET /metrics``
    (see :data:`MetricsPage`). :meth:`make_app` gives the aiohttp application (``POST``
    :attr:`WebhookOptions.path`, ``GET /healthz``, ``GET /metrics``), which
    :class:`~autoissue.serve.WebhookServer` serves.
    """

    def __init__(
        self,
        *,
        secret: str | bytes,
        admission: Admission,
        state: StateStore,
        options: WebhookOptions | None = None,
        clock: Clock | None = None,
        figures: HealthFigures | None = None,
        metrics: MetricsPage | None = None,
    ) -> None:
        self.options = options or WebhookOptions()
        self._figures = figures
        self._metrics = metrics
        self._secret = Secret(secret)
        self._admission = admission
        self._state = state
        self._clock: Clock = clock or SystemClock()
        self._tally = Tally()
        self._throttles: dict[str, _Throttle] = {}
        # Each request claims a delivery as an owner of its own: two copies of one delivery
        # in this process exclude each other as they would in two processes.
        self._owner = uuid.uuid4().hex[:12]
        self._requests = itertools.count(1)

    def __repr__(self) -> str:
        s = self.statistics()
        return (
            f"<WebhookReceiver {self.options.path} received={s.received} accepted={s.accepted}"
            f" duplicate={s.duplicate} rejected={s.rejected} ignored={s.ignored}"
            f" failed={s.failed}>"
        )

    def statistics(self) -> WebhookStatistics:
        """The deliveries so far, as a frozen snapshot."""
        return self._tally.snapshot()

    def make_app(self) -> web.Application:
        """A new aiohttp application serving this receiver (bodies capped at the option's)."""
        app = web.Application(client_max_size=self.options.max_body_bytes)
        app.router.add_post(self.options.path, self._on_delivery)
        app.router.add_get(HEALTH_PATH, self._on_health)
        if self._metrics is not None:
            app.router.add_get(METRICS_PATH, self._metrics)
        return app

    # -- one delivery ------------------------------------------------------------------------

    async def _on_delivery(self, request: web.Request) -> web.Response:
        self._tally.received += 1
        self._tally.last_delivery_at = self._clock.time()
        try:
            delivery = await self._authenticate(request)
            outcome = self._classify(delivery)
        except _Refused as refused:
            return self._refuse(request, refused)
        if isinstance(outcome, Ignored):
            return self._ignore(delivery, outcome.reason)
        return await self._admit(delivery, outcome)

    async def _authenticate(self, request: web.Request) -> _Delivery:
        """The delivery, once its signature matched; :class:`_Refused` otherwise."""
        signature = request.headers.get(SIGNATURE_HEADER)
        if signature is None or not well_formed(signature):
            raise _Refused(401, SIGNATURE, f"no valid {SIGNATURE_HEADER} header")
        body = await self._read_body(request)
        if not self._secret.verifies(signature, body):
            raise _Refused(401, SIGNATURE, "the signature does not match the body")
        return _Delivery(
            _header(request, DELIVERY_HEADER, _DELIVERY_ID),
            _header(request, EVENT_HEADER, _EVENT_NAME),
            _payload(request.content_type, body),
        )

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.options.max_body_bytes
        too_large = _Refused(413, TOO_LARGE, f"the body is over {limit} bytes")
        if request.content_length is not None and request.content_length > limit:
            raise too_large
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:  # a body sent without its length, or lying
            raise too_large from None

    def _classify(self, delivery: _Delivery) -> Work | Ignored:
        try:
            return classify(delivery.event, delivery.payload, own_login=self.options.own_login)
        except Malformed as error:
            raise _Refused(400, MALFORMED, str(error)) from None

    def _refuse(self, request: web.Request, refused: _Refused) -> web.Response:
        self._tally.rejected_by[refused.reason] += 1
        throttle = self._throttles.setdefault(
            refused.reason, _Throttle(self.options.log_interval_s)
        )
        held = throttle.admit(self._clock.time())
        if held is not None:
            logger.warning(
                "refused a webhook delivery from %s with %d: %s (%d more like it held back)",
                request.remote,
                refused.status,
                refused.message,
                held,
            )
        response = _answer(refused.status, "rejected", reason=refused.reason)
        response.force_close()  # the body may be unread: do not read on for the next request
        return response

    def _ignore(self, delivery: _Delivery, reason: str) -> web.Response:
        self._tally.ignored_by[reason] += 1
        logger.debug("ignored delivery %s (%s): %s", delivery.id, delivery.event, reason)
        if reason == PING:
            return _answer(200, "pong")
        return _answer(202, "ignored", reason=reason)

    # -- admission ---------------------------------------------------------------------------

    async def _admit(self, delivery: _Delivery, work: Work) -> web.Response:
        claim, owner = _CLAIM + delivery.id, f"{self._owner}:{next(self._requests)}"
        claim_s = self.options.offer_timeout_s + _CLAIM_MARGIN_S
        try:
            if not await self._state.acquire(claim, owner, claim_s):
                return self._fail(
                    delivery, 409, IN_PROGRESS, "another request is admitting this delivery"
                )
            try:
                return await self._admit_claimed(delivery, work)
            finally:
                await self._release(claim, owner)
        except Exception as error:  # noqa: BLE001 - not queued, for any reason: a 503
            return self._unavailable(delivery, error)

    async def _admit_claimed(self, delivery: _Delivery, work: Work) -> web.Response:
        admitted = _ADMITTED + delivery.id
        if await self._state.is_present(admitted):
            self._tally.duplicate += 1
            logger.info("delivery %s was admitted before: not offered again", delivery.id)
            return _answer(200, "duplicate")
        async with asyncio.timeout(self.options.offer_timeout_s):
            enqueued = await self._admission.offer(work.repo, (work.issue,))
        await self._remember(admitted, delivery)
        self._tally.accepted += 1
        self._tally.enqueued += enqueued
        logger.info(
            "delivery %s (%s, %s#%d): %d enqueued",
            delivery.id,
            delivery.event,
            work.repo,
            work.issue.number,
            enqueued,
        )
        return _answer(202, "accepted", enqueued=enqueued)

    async def _remember(self, admitted: str, delivery: _Delivery) -> None:
        """Remember the id; the work is queued, so failing here only risks a repeated offer."""
        try:
            if not await self._state.add_if_absent(admitted, ttl_s=self.options.remember_s):
                logger.debug("delivery %s was remembered meanwhile elsewhere", delivery.id)
        except AutoIssueError as error:
            logger.warning(
                "delivery %s is queued but could not be remembered (%s): a redelivery of it"
                " would be offered again",
                delivery.id,
                error,
            )

    async def _release(self, claim: str, owner: str) -> None:
        try:
            await self._state.release(claim, owner)
        except AutoIssueError as error:  # the claim expires by itself soon
            logger.warning("could not release %s: %s", claim, error)

    def _unavailable(self, delivery: _Delivery, error: Exception) -> web.Response:
        if isinstance(error, AutoIssueError):
            logger.warning("delivery %s not queued, answered 503: %s", delivery.id, error)
        elif isinstance(error, TimeoutError):
            timeout = self.options.offer_timeout_s
            logger.warning(
                "delivery %s not queued, answered 503: no answer in %s s", delivery.id, timeout
            )
        else:
            logger.error("delivery %s not queued, answered 503", delivery.id, exc_info=error)
        message = f"not queued ({type(error).__name__}): redeliver it"
        return self._fail(delivery, 503, UNAVAILABLE, message)

    def _fail(self, delivery: _Delivery, status: int, reason: str, message: str) -> web.Response:
        self._tally.failed_by[reason] += 1
        return _answer(status, "failed", delivery=delivery.id, message=message)

    # -- health ------------------------------------------------------------------------------

    async def _on_health(self, request: web.Request) -> web.Response:
        answer = {"status": "ok", **self.statistics().as_json()}
        if self._figures is None:
            return web.json_response(answer)
        try:
            answer.update(await self._figures())
        except AutoIssueError as error:
            logger.warning("health figures unavailable: %s", error)
            return web.json_response(
                {**answer, "status": "unavailable", "error": str(error)}, status=503
            )
        return web.json_response(answer)


def _header(request: web.Request, name: str, pattern: re.Pattern[str]) -> str:
    value = request.headers.get(name, "")
    if not pattern.fullmatch(value):
        raise _Refused(400, MALFORMED, f"no valid {name} header")
    return value


def _payload(content_type: str, body: bytes) -> bytes:
    try:
        return json_payload(content_type, body)
    except Malformed as error:
        raise _Refused(400, MALFORMED, str(error)) from None


def _answer(code: int, outcome: str, **fields: Any) -> web.Response:
    """A JSON answer; GitHub shows it beside the delivery, so it says what became of it."""
    return web.json_response({"status": outcome, **fields}, status=code)
