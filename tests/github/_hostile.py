"""Hostile servers and a hand-driven clock for the client's robustness tests.

:class:`HostileServer` is the scripted loopback server plus answers no honest server sends:
one that stalls after its headers, and one that streams a body of any size. It also notes
the fake time at which each request arrived, so a test can tell *when* the client sent it.
:class:`ManualClock` is a fake clock whose ``sleep`` really waits, until the test moves time
past its deadline: the way to see that a request is held back rather than merely delayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from aiohttp import web

from autoissue import FakeClock
from tests.github._scripted import Scripted, ScriptedServer

# Long enough for a slow CI machine, short enough that a broken test fails fast.
WAIT_S = 10.0


@dataclass
class Stall(Scripted):
    """Send the status line, the headers and part of the body, then go silent.

    ``announce`` is the ``Content-Length`` claimed; with ``before_headers`` not even the
    headers are sent. The silence lasts until the server closes.
    """

    announce: int = 1000
    partial: bytes = b'[{"number": 1, "title": "'
    before_headers: bool = False


@dataclass
class Stream(Scripted):
    """A chunked answer (no ``Content-Length``) whose body is a JSON string of ``size`` bytes."""

    size: int = 0


class HostileServer(ScriptedServer):
    """A :class:`ScriptedServer` that can also stall or stream, and timestamps arrivals.

    ``arrivals`` holds ``(method, path, clock time)`` of each request as it arrives (before
    its body is read); ``clock`` is the fake clock the client under test uses, if any.
    """

    def __init__(self, clock: FakeClock | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.arrivals: list[tuple[str, str, float]] = []
        self._arrived = asyncio.Event()
        self._release = asyncio.Event()

    def count(self, method: str, path: str) -> int:
        """How many requests for ``METHOD path`` arrived."""
        return sum(1 for m, p, _ in self.arrivals if (m, p) == (method, path))

    async def wait_for_requests(self, count: int) -> None:
        """Return once ``count`` requests have arrived (fail after :data:`WAIT_S`)."""
        async with asyncio.timeout(WAIT_S):
            while len(self.arrivals) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = self.clock.time() if self.clock is not None else 0.0
        self.arrivals.append((request.method, request.path, now))
        self._arrived.set()
        queue = self.route(request)
        answer = queue[0] if queue else None
        if not isinstance(answer, Stall | Stream):
            return await super()._handle(request)
        assert queue is not None
        body = await request.read()
        self.requests.append((request.method, request.path_qs, dict(request.headers), body))
        if len(queue) > 1:
            queue.popleft()
        if isinstance(answer, Stall):
            return await self._stall(request, answer)
        return await self._stream(request, answer)

    async def _stall(self, request: web.Request, answer: Stall) -> web.StreamResponse:
        if answer.before_headers:
            await self._release.wait()
            return web.Response(status=204)
        response = web.StreamResponse(headers={"content-type": "application/json"})
        response.content_length = answer.announce
        await response.prepare(request)
        await response.write(answer.partial)
        await self._release.wait()
        # The answer was never finished: drop the connection rather than end it cleanly.
        if request.transport is not None:
            request.transport.abort()
        return response

    async def _stream(self, request: web.Request, answer: Stream) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"a" * 2**20
        # A client that stops reading part-way closes the connection: that is its right.
        with contextlib.suppress(ConnectionError):
            await response.write(b'"')
            for start in range(0, answer.size, len(chunk)):
                await response.write(chunk[: answer.size - start])
            await response.write(b'"')
            await response.write_eof()
        return response

    async def close(self) -> None:
        self._release.set()
        await super().close()


class ManualClock(FakeClock):
    """A fake clock on which ``sleep`` waits until :meth:`advance` passes its deadline.

    ``FakeClock.sleep`` jumps time forward at once, which hides *who* waited for *whom*;
    here every sleeper stays parked, visible in :meth:`sleepers`, until the test moves time.
    :meth:`run` moves it as trio's autojump clock does: to the next deadline whenever every
    task is parked.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        super().__init__(start)
        self._parked: list[tuple[float, asyncio.Future[None], asyncio.Task[object] | None]] = []
        self._changed = asyncio.Event()

    def sleepers(self) -> int:
        """How many sleeps are waiting for time to move."""
        return sum(1 for _, future, _ in self._parked if not future.done())

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        entry = (self.now + seconds, future, asyncio.current_task())
        self._parked.append(entry)
        self._changed.set()
        try:
            await future
        finally:
            self._parked.remove(entry)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, future, _ in self._parked:
            if deadline <= self.now and not future.done():
                future.set_result(None)

    async def wait_for_sleepers(self, count: int) -> None:
        """Return once ``count`` sleeps are parked (fail after :data:`WAIT_S`)."""
        async with asyncio.timeout(WAIT_S):
            while self.sleepers() < count:
                self._changed.clear()
                await self._changed.wait()

    async def run(self, tasks: list[asyncio.Task[None]]) -> None:
        """Drive ``tasks`` to completion, jumping time whenever all of them are parked."""
        async with asyncio.timeout(WAIT_S):
            while not all(task.done() for task in tasks):
                await self._settle(tasks)
                deadlines = [when for when, future, _ in self._parked if not future.done()]
                if deadlines:
                    self.advance(max(0.0, min(deadlines) - self.now))
        await asyncio.gather(*tasks)

    async def _settle(self, tasks: list[asyncio.Task[None]]) -> None:
        """Return once every task is done or parked on this clock."""
        while True:
            parked = {task for _, future, task in self._parked if not future.done()}
            running = [task for task in tasks if not task.done() and task not in parked]
            if not running:
                return
            self._changed.clear()
            changed = asyncio.ensure_future(self._changed.wait())
            await asyncio.wait([*running, changed], return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
