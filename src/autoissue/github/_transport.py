"""Sending one HTTP request, and nothing more: the client's seam to the network.

:class:`HttpTransport` is the contract; :class:`AiohttpTransport` (a pooled keep-alive
session) is what the client uses unless it is handed another, such as
:class:`~autoissue.github.FakeTransport` in tests. Failures are reported with whether the
request may have reached the server: a refused connection never did (safe to send again), a
dropped one or a timeout may have (a POST sent again could create a second comment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import aiohttp
import msgspec

# Answers larger than this are refused: no API answer we read comes close.
MAX_BODY_BYTES = 64 * 1024 * 1024


class Response(msgspec.Struct, frozen=True):
    """A complete answer: status, lower-cased headers and the raw body.

    ``from_cache`` is true when GitHub answered 304 and the body is the cached one.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    from_cache: bool = False


class SendFailure(Exception):
    """No answer. ``sent`` tells whether the server may have received the request."""

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.sent = sent


@dataclass(frozen=True, kw_only=True)
class PoolSettings:
    """The connection pool: its size and its timeouts (seconds)."""

    max_connections: int = 256
    timeout: float = 30.0  # a whole request
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # silence on an open connection: it stalled
    keepalive_timeout: float = 30.0


class HttpTransport(Protocol):
    """Sends one request and returns the whole answer; knows nothing of GitHub.

    Every header, the token's included, comes with the request: a transport holds none.
    """

    async def send(
        self, method: str, url: str, *, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        """The answer to one request; raises :class:`SendFailure` when none came."""
        ...

    async def close(self) -> None:
        """Let go of every connection; the transport may be used again afterwards."""
        ...


class AiohttpTransport:
    """One keep-alive aiohttp session, opened lazily and re-opened after ``close``."""

    def __init__(self, settings: PoolSettings | None = None) -> None:
        self.settings = settings or PoolSettings()
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        state = "open" if self._session is not None else "idle"
        return f"<AiohttpTransport {state} max_connections={self.settings.max_connections}>"

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            settings = self.settings
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=settings.max_connections,
                    keepalive_timeout=settings.keepalive_timeout,
                ),
                timeout=aiohttp.ClientTimeout(
                    total=settings.timeout,
                    sock_connect=settings.connect_timeout,
                    sock_read=settings.read_timeout,
                ),
            )
        return self._session

    async def send(
        self, method: str, url: str, *, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        """Send one request; raises :class:`SendFailure` when no answer came."""
        try:
            async with self._session_or_new().request(
                method, url, data=body, headers=headers
            ) as answer:
                content = await _read_bounded(answer)
                lowered = {key.lower(): value for key, value in answer.headers.items()}
                return Response(answer.status, lowered, content, str(answer.url))
        except aiohttp.ClientConnectorError as error:
            raise SendFailure(str(error) or "connection refused", sent=False) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            raise SendFailure(str(error) or type(error).__name__, sent=True) from error

    async def close(self) -> None:
        """Close every pooled connection."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class OversizedAnswerError(SendFailure):
    """The answer is larger than any API answer we read: refused, not buffered."""


async def _read_bounded(answer: aiohttp.ClientResponse) -> bytes:
    """The body, refusing more than ``MAX_BODY_BYTES`` whether announced or chunked."""
    length = answer.content_length
    if length is not None:
        if length > MAX_BODY_BYTES:
            raise OversizedAnswerError(f"answer of {length} bytes", sent=True)
        # Announced and within bounds (aiohttp reads no more than announced): read it whole,
        # without a chunk iterator per answer.
        return await answer.read()
    chunks, size = [], 0
    async for chunk in answer.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise OversizedAnswerError(f"answer of more than {MAX_BODY_BYTES} bytes", sent=True)
        chunks.append(chunk)
    return b"".join(chunks)
