"""``/metrics`` over HTTP, served by aiohttp on the run's own event loop.

The engine, its controller and the GitHub client keep their figures without locks because one
event loop owns them; serving scrapes on that same loop (rather than from prometheus_client's
server thread) means every scrape reads them between two steps of the run, never halfway
through one. Each scrape awaits one :class:`~autoissue.observe._sources.Reading` of every source and
renders it; nothing is polled in between. :func:`metrics_response` is that scrape, for any
aiohttp application: ``autoissue serve`` answers it beside its webhooks, on the same port.
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from prometheus_client.exposition import choose_encoder

from autoissue._exceptions import AutoIssueError
from autoissue._serving import bind, http_url
from autoissue.observe._metrics import ReadingCollector
from autoissue.observe._sources import Sources

__all__ = ["DEFAULT_METRICS_HOST", "MetricsServer", "metrics_response"]

logger = logging.getLogger(__name__)

#: Only this machine can scrape unless asked otherwise: the figures describe private work.
DEFAULT_METRICS_HOST = "127.0.0.1"
#: Where the metrics are served.
METRICS_PATH = "/metrics"


async def metrics_response(sources: Sources, request: web.Request) -> web.Response:
    """One scrape: read ``sources`` now and render them as ``request``'s Accept header asks.

    Prometheus's text format unless OpenMetrics is asked for. A source that cannot be read
    now (a locked database, Redis away) makes the answer a 503 saying why: the scraper marks
    the target down for this scrape and tries again at the next.
    """
    try:
        reading = await sources.read()
    except AutoIssueError as error:
        logger.warning("metrics unavailable: %s", error)
        return web.Response(status=503, text=f"metrics unavailable: {error}\n")
    accept = ",".join(request.headers.getall(hdrs.ACCEPT, []))
    encode, content_type = choose_encoder(accept)
    body = encode(ReadingCollector(reading))
    return web.Response(body=body, headers={hdrs.CONTENT_TYPE: content_type})


class MetricsServer:
    """Serves ``sources`` at ``http://HOST:PORT/metrics``; port 0 picks a free one.

    ``async with MetricsServer(sources, port=9464) as server:`` or ``start()``/``stop()``;
    :attr:`url` gives the address actually bound.
    """

    def __init__(self, sources: Sources, *, host: str = DEFAULT_METRICS_HOST, port: int) -> None:
        self.sources = sources
        self.host, self.port = host, port
        app = web.Application()
        app.router.add_get(METRICS_PATH, self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._bound: tuple[str, int] | None = None

    def __repr__(self) -> str:
        where = self.url if self._bound else f"{self.host}:{self.port} (stopped)"
        return f"<MetricsServer {where}>"

    @property
    def url(self) -> str:
        """The metrics URL actually served (after :meth:`start`)."""
        if self._bound is None:
            raise RuntimeError("the metrics server is not running")
        return http_url(self._bound, METRICS_PATH)

    async def start(self) -> None:
        """Bind and begin serving; a port already taken is a :class:`ConfigurationError`."""
        self._bound = await bind(self._runner, self.host, self.port, "metrics")
        logger.info("serving metrics at %s", self.url)

    async def stop(self) -> None:
        """Stop serving (scrapes in progress finish first)."""
        self._bound = None
        await self._runner.cleanup()

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _metrics(self, request: web.Request) -> web.Response:
        # Through the attribute at each scrape, so sources swapped after start are served.
        return await metrics_response(self.sources, request)
