"""A transport that answers in process, from a function: the client's tests need no server.

Like httpx's ``MockTransport``: the handler sees each :class:`Request` and returns a
:class:`~autoissue.github.Response` (or raises
:class:`~autoissue.github._transport.SendFailure` for a request that got no answer). Every
request is kept, headers included, so a test can see what the client really sent.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from autoissue.github._transport import Response

__all__ = ["FakeTransport", "Request", "answer"]


class Request(msgspec.Struct, frozen=True):
    """One request as the transport received it."""

    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]

    def json(self) -> Any:
        """The body, decoded from JSON (``None`` without one)."""
        return None if self.body is None else msgspec.json.decode(self.body)


Handler = Callable[[Request], Response | Awaitable[Response]]


class FakeTransport:
    """Answers every request with ``handler(request)``, sync or async; keeps the requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.closed = 0

    def __repr__(self) -> str:
        return f"<FakeTransport requests={len(self.requests)} closed={self.closed}>"

    async def send(
        self, method: str, url: str, *, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        """The handler's answer to this request."""
        request = Request(method, url, body, dict(headers))
        self.requests.append(request)
        made = self.handler(request)
        return await made if inspect.isawaitable(made) else made

    async def close(self) -> None:
        """Count the close: nothing is held open."""
        self.closed += 1


def answer(
    request: Request,
    status: int = 200,
    payload: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A JSON answer to ``request``: ``payload`` encoded, header names lower-cased."""
    body = b"" if payload is None else msgspec.json.encode(payload)
    lowered = {"content-type": "application/json"} | {
        k.lower(): v for k, v in (headers or {}).items()
    }
    return Response(status, lowered, body, request.url)
