"""Running the emulator: on the caller's loop, in a thread beside another loop, or as a program.

:class:`Emulator` runs on the caller's loop, :func:`run_in_thread` on its own loop in a daemon
thread, :func:`serve` as a blocking program until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from autoissue._clock import Clock, SystemClock
from autoissue._exceptions import EmulatorError
from autoissue.emulator._admin import AdminRoutes
from autoissue.emulator._config import EmulatorConfig
from autoissue.emulator._context import Context
from autoissue.emulator._git import bare_paths, create_bare_repos
from autoissue.emulator._pipeline import Pipeline
from autoissue.emulator._routes_issues import IssueRoutes
from autoissue.emulator._routes_pulls import PullRoutes
from autoissue.emulator._routes_repos import RepoRoutes

__all__ = ["Emulator", "run_in_thread", "serve"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_TIMEOUT = 60.0


class Emulator:
    """A GitHub REST emulator serving seeded repositories over HTTP.

    ``clock`` is the seam for tests: a :class:`FakeClock` makes rate-limit windows and latency
    deterministic. Use ``async with Emulator(config) as emulator:`` or :meth:`start`/:meth:`close`.
    """

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = clock or SystemClock()
        self._ctx: Context | None = None
        self._runner: web.AppRunner | None = None
        self._temp: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0

    def __repr__(self) -> str:
        where = self._ctx.base_url if self._ctx else "not started"
        return f"Emulator({_describe(self.config.full_names)}, {where})"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``, without a trailing slash (GitHub paths sit at its root)."""
        return self._context().base_url

    def _context(self) -> Context:
        if self._ctx is None:
            raise EmulatorError("the emulator is not running: call start() first")
        return self._ctx

    async def start(self) -> str:
        """Create the git repository, generate the data, listen; return the base URL."""
        if self._ctx is not None:
            raise EmulatorError("the emulator is already running")
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        root = self.config.data_dir or Path(tempfile.mkdtemp(prefix="autoissue-emulator-"))
        self._temp = None if self.config.data_dir else root
        try:
            await self._listen(root)
        except BaseException:
            await self.close()
            raise
        logger.info("emulator serving %s at %s", _describe(self.config.full_names), self.base_url)
        return self.base_url

    async def _listen(self, root: Path) -> None:
        bares = bare_paths(root, self.config.full_names)
        await create_bare_repos(bares)
        sock = _bind(self.config.host, self.config.port)
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        base = f"http://{host}:{sock.getsockname()[1]}"
        try:
            ctx = Context(config=self.config, clock=self.clock, base_url=base, bares=bares)
        except BaseException:
            sock.close()  # an issues file that cannot be served leaves no socket behind
            raise
        self._runner = web.AppRunner(self._app(ctx), access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        if ctx.webhooks is not None:
            await ctx.webhooks.start()
        self._ctx = ctx

    def _app(self, ctx: Context) -> web.Application:
        """The application: the pipeline around GitHub's routes, and the admin routes."""
        app = web.Application(middlewares=[Pipeline(ctx)], client_max_size=8 * 2**20)
        routes = (RepoRoutes(ctx), IssueRoutes(ctx), PullRoutes(ctx), AdminRoutes(ctx, self._reset))
        for route in routes:
            route.register(app.router)
        ctx.installations.register(app.router)
        return app

    async def _reset(self) -> None:
        ctx = self._context()
        await create_bare_repos([repo.bare for repo in ctx.repos])
        ctx.reset()

    async def drain_webhooks(self) -> None:
        """Wait until every webhook delivery queued so far has been attempted (none: at once)."""
        webhooks = self._context().webhooks
        if webhooks is not None:
            await webhooks.drain()

    async def close(self) -> None:
        """Stop serving (queued webhook deliveries are not sent) and remove the temporary data."""
        runner, self._runner = self._runner, None
        ctx, self._ctx = self._ctx, None
        if runner is not None:
            await runner.cleanup()
        if ctx is not None and ctx.webhooks is not None:
            await ctx.webhooks.close()
        if self._temp is not None:
            await asyncio.to_thread(shutil.rmtree, self._temp, True)
            self._temp = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def state(self) -> dict[str, Any]:
        """What ``GET /_emulator/state`` answers (safe to call from another thread)."""
        return self._on_loop(self._state)

    def stats(self) -> dict[str, Any]:
        """What ``GET /_emulator/stats`` answers (safe to call from another thread)."""
        return self._on_loop(self._stats)

    def _state(self) -> dict[str, Any]:
        return {"repos": self._context().snapshot()}

    def _stats(self) -> dict[str, Any]:
        return self._context().statistics()

    def _on_loop(self, read: Callable[[], T]) -> T:
        """Run ``read`` on the emulator's loop when called from another thread."""
        if self._loop is None or threading.get_ident() == self._thread:
            return read()

        async def call() -> T:
            return read()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(_TIMEOUT)


def _describe(full_names: tuple[str, ...]) -> str:
    """The repositories in a few words: the first, and how many more."""
    more = len(full_names) - 1
    return full_names[0] + (f" and {more} more" if more else "")


def _bind(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port), family=_family(host), backlog=1024)
    except OSError as exc:
        raise EmulatorError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


@contextmanager
def run_in_thread(
    config: EmulatorConfig | None = None, *, clock: Clock | None = None
) -> Iterator[Emulator]:
    """Run an emulator on its own event loop in a daemon thread; stop it cleanly on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="autoissue-emulator", daemon=True)
    thread.start()
    emulator = Emulator(config, clock=clock)
    try:
        asyncio.run_coroutine_threadsafe(emulator.start(), loop).result(_TIMEOUT)
        yield emulator
    finally:
        asyncio.run_coroutine_threadsafe(emulator.close(), loop).result(_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_TIMEOUT)
        loop.close()


def serve(config: EmulatorConfig) -> None:
    """Serve until SIGINT or SIGTERM; print ``listening on URL`` once ready."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(config))


async def _serve(config: EmulatorConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Emulator(config) as emulator:
        # The one line a parent process waits for: the only output of library code.
        sys.stdout.write(f"listening on {emulator.base_url}\n")
        sys.stdout.flush()
        await stop.wait()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The uvloop loop when installed: it serves about twice as many requests per second."""
    try:
        import uvloop  # noqa: PLC0415 - optional, and absent on Windows
    except ImportError:  # pragma: no cover - uvloop is a dependency where it is supported
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
