"""Serve a :class:`~autoissue.serve.WebhookReceiver` over HTTP with aiohttp, on the run's loop.

The receiver's admission, state store and counters belong to the event loop the worker runs
on; serving on that same loop (an ``AppRunner`` and a ``TCPSite``, no thread) keeps every
delivery between two steps of the run, never halfway through one.
"""

from __future__ import annotations

import logging

from aiohttp import web

from autoissue._serving import bind, http_url
from autoissue.serve._receiver import WebhookReceiver

__all__ = ["DEFAULT_WEBHOOK_HOST", "WebhookServer"]

logger = logging.getLogger(__name__)

#: Only this machine can post unless asked otherwise: GitHub usually reaches a receiver
#: through a reverse proxy or a tunnel, which then forwards to loopback.
DEFAULT_WEBHOOK_HOST = "127.0.0.1"


class WebhookServer:
    """Serves ``receiver`` at ``http://HOST:PORT``; port 0 picks a free one.

    ``port = await server.start()`` … ``await server.stop()``, or ``async with``. Stopping
    stops taking connections and lets deliveries in progress finish, each bounded by the
    receiver's offer timeout, for at most ``shutdown_timeout_s``.
    """

    def __init__(
        self,
        receiver: WebhookReceiver,
        *,
        host: str = DEFAULT_WEBHOOK_HOST,
        port: int = 0,
        shutdown_timeout_s: float = 15.0,
    ) -> None:
        self.receiver = receiver
        self.host, self.port = host, port
        self._runner = web.AppRunner(
            receiver.make_app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=shutdown_timeout_s,
        )
        self._bound: tuple[str, int] | None = None

    def __repr__(self) -> str:
        where = self.url if self._bound else f"{self.host}:{self.port} (stopped)"
        return f"<WebhookServer {where}>"

    @property
    def bound_port(self) -> int:
        """The port actually bound (after :meth:`start`)."""
        return self._address()[1]

    @property
    def url(self) -> str:
        """The URL deliveries are posted to (after :meth:`start`)."""
        return http_url(self._address(), self.receiver.options.path)

    async def start(self) -> int:
        """Bind and serve; return the bound port. A port in use is a :class:`ConfigurationError`."""
        self._bound = await bind(self._runner, self.host, self.port, "webhooks")
        logger.info("receiving webhooks at %s", self.url)
        return self._bound[1]

    async def stop(self) -> None:
        """Stop serving, letting deliveries in progress finish. Idempotent."""
        self._bound = None
        await self._runner.cleanup()

    async def __aenter__(self) -> WebhookServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _address(self) -> tuple[str, int]:
        if self._bound is None:
            raise RuntimeError("the webhook server is not running")
        return self._bound
