"""Serving an aiohttp application on a host and port: what the metrics and webhook servers share."""

from __future__ import annotations

from aiohttp import web

from autoissue._exceptions import ConfigurationError


async def bind(runner: web.AppRunner, host: str, port: int, what: str) -> tuple[str, int]:
    """Set ``runner`` up and serve it on ``host``:``port``; return the address bound.

    Port 0 picks a free one. A port that cannot be bound is a :class:`ConfigurationError`
    naming ``what`` was to be served (the runner is cleaned up).
    """
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigurationError(
            f"cannot serve {what} on {host}:{port}: {error.strerror or error}"
        ) from error
    address = runner.addresses[0]
    return str(address[0]), int(address[1])


def http_url(bound: tuple[str, int], path: str) -> str:
    """``http://HOST:PORT/PATH`` for a bound address (an IPv6 host in brackets)."""
    host, port = bound
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{path}"
