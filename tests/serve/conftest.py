"""A real receiver on loopback, a real client posting signed deliveries, and fake admissions."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from autoissue import BackendUnavailableError, FakeClock
from autoissue.model import Issue
from autoissue.observe import Sources, metrics_response
from autoissue.serve import WebhookOptions, WebhookReceiver, WebhookServer, signature_for
from autoissue.state import MemoryStateStore, StateStore

SECRET = "It's a Secret to Everybody"
REPO = "acme/widgets"
_ids = itertools.count(1)


class RecordingAdmission:
    """Admits everything and records each offer; ``failures`` are raised first, in order.

    While ``gate`` is set to an unset event, offers wait for it (to hold one in flight).
    """

    def __init__(self, failures: Sequence[BaseException] = ()) -> None:
        self.offers: list[tuple[str, tuple[Issue, ...]]] = []
        self.calls = 0
        self.failures = list(failures)
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def offer(self, repo: str, issues: Sequence[Issue]) -> int:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.offers.append((repo, tuple(issues)))
        return len(issues)

    @property
    def numbers(self) -> list[int]:
        return [issue.number for _, issues in self.offers for issue in issues]


class UnavailableAdmission:
    """An admission whose backend is down: every offer raises."""

    def __init__(self) -> None:
        self.calls = 0

    async def offer(self, repo: str, issues: Sequence[Issue]) -> int:
        self.calls += 1
        raise BackendUnavailableError("sqlite database 'state.db': disk I/O error")


def issue_payload(number: int = 7, **changes: Any) -> dict[str, Any]:
    issue = {
        "number": number,
        "title": f"Widget {number} breaks",
        "state": "open",
        "body": "It breaks.",
        "labels": [],
        "user": {"login": "reporter", "id": 5},
        "updated_at": "2024-05-01T10:00:00Z",
        "created_at": "2024-04-01T10:00:00Z",
        "comments": 0,
    }
    return {**issue, **changes}


def event_payload(
    action: str = "opened",
    *,
    issue: dict[str, Any] | None = None,
    sender: str = "reporter",
    repo: str = REPO,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "action": action,
        "issue": issue_payload() if issue is None else issue,
        "repository": {"full_name": repo, "id": 1},
        "sender": {"login": sender, "id": 9},
        **extra,
    }


def new_delivery_id() -> str:
    return f"72d3162e-cc78-11e3-81ab-{next(_ids):012x}"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


@dataclass
class Hook:
    """A started receiver and a client that posts to it as GitHub would."""

    receiver: WebhookReceiver
    server: WebhookServer
    session: aiohttp.ClientSession
    admission: Any
    base_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.server.url.removesuffix(self.receiver.options.path)

    async def deliver(
        self,
        event: str = "issues",
        payload: dict[str, Any] | bytes | None = None,
        *,
        delivery: str | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
        drop: Sequence[str] = (),
    ) -> Answer:
        """Post a delivery signed with ``secret``; ``headers`` override, ``drop`` removes."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload or event_payload())
        body = body.encode() if isinstance(body, str) else body
        sent = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/044aadd",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or new_delivery_id(),
            "X-GitHub-Hook-ID": "292430182",
            "X-Hub-Signature-256": signature_for(body, secret),
            **(headers or {}),
        }
        for name in drop:
            del sent[name]
        return await self.post(body, sent)

    async def post(self, body: Any, headers: dict[str, str]) -> Answer:
        async with self.session.post(self.server.url, data=body, headers=headers) as answer:
            return Answer(answer.status, await answer.json())

    async def metrics(self, accept: str = "") -> str:
        """``GET /metrics``, unsigned as a scraper sends it."""
        headers = {"Accept": accept} if accept else {}
        async with self.session.get(f"{self.base_url}/metrics", headers=headers) as answer:
            assert answer.status == 200
            return await answer.text()

    async def samples(self) -> dict[str, float]:
        """The scraped samples by name and labels, as ``name{label="value"}``."""
        return {
            named(sample.name, sample.labels): sample.value
            for family in text_string_to_metric_families(await self.metrics())
            for sample in family.samples
        }

    async def health(self) -> dict[str, Any]:
        async with self.session.get(f"{self.base_url}/healthz") as answer:
            assert answer.status == 200
            result: dict[str, Any] = await answer.json()
            return result


def named(name: str, labels: dict[str, str]) -> str:
    """A sample's name with its labels, sorted, as the Prometheus text format writes them."""
    if not labels:
        return name
    pairs = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{pairs}}}"


Serve = Callable[..., Any]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def serve(clock: FakeClock) -> AsyncIterator[Serve]:
    """``await serve(admission=..., state=..., **options)``: a started :class:`Hook`.

    ``metrics=True`` serves ``/metrics`` beside the deliveries: the receiver's own figures.
    """
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())

        async def start(
            admission: Any = None,
            state: StateStore | None = None,
            *,
            metrics: bool = False,
            **options: Any,
        ) -> Hook:
            admission = admission or RecordingAdmission()
            sources = Sources()
            receiver = WebhookReceiver(
                secret=SECRET,
                admission=admission,
                state=state or MemoryStateStore(),
                options=WebhookOptions(**options),
                clock=clock,
                metrics=functools.partial(metrics_response, sources) if metrics else None,
            )
            sources.webhooks = receiver
            server = await stack.enter_async_context(WebhookServer(receiver, port=0))
            return Hook(receiver, server, session, admission)

        yield start


@pytest.fixture
def state(each_state: StateStore) -> StateStore:
    """The state store of each backend in turn."""
    return each_state
