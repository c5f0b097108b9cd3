"""``/healthz`` with the figures of the process around the receiver: shown, or a 503 saying why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from autoissue import BackendUnavailableError
from autoissue.serve import WebhookReceiver, WebhookServer
from autoissue.state import MemoryStateStore

from .conftest import SECRET, RecordingAdmission


async def _health(figures: Any) -> tuple[int, dict[str, Any]]:
    receiver = WebhookReceiver(
        secret=SECRET, admission=RecordingAdmission(), state=MemoryStateStore(), figures=figures
    )
    async with (
        WebhookServer(receiver, port=0) as server,
        aiohttp.ClientSession() as session,
    ):
        url = server.url.removesuffix(receiver.options.path) + "/healthz"
        async with session.get(url) as answer:
            return answer.status, await answer.json()


async def test_the_figures_are_shown_beside_the_deliveries() -> None:
    asked = []

    async def figures() -> Mapping[str, Any]:
        asked.append(True)
        return {"worker": {"processed": 3}, "queue": {"unfinished": 0}}

    status, body = await _health(figures)
    assert status == 200
    assert body["status"] == "ok"
    assert body["worker"] == {"processed": 3}
    assert body["queue"] == {"unfinished": 0}
    assert body["deliveries"]["received"] == 0
    assert asked == [True]


async def test_figures_that_cannot_be_read_make_the_answer_a_503() -> None:
    async def figures() -> Mapping[str, Any]:
        raise BackendUnavailableError("sqlite database 'state.db': disk I/O error")

    status, body = await _health(figures)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["error"] == "sqlite database 'state.db': disk I/O error"
    assert body["deliveries"]["received"] == 0
