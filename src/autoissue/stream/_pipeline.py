"""A pipeline: a source and async-generator stages, each in a task, joined by bounded buffers.

::

    source ─▶ intake ─▶ [buf 0] ─▶ stage 1 ─▶ [buf 1] ─▶ stage 2 ─▶ [buf 2] ─▶ … ─▶ sink
       ▲      (watermark                                                           (run's
       │       admits)       each buffer: ≤ items, ≤ bytes; a full one makes       caller)
       └────── pushback ──── its producer wait, and so on back to the source

What the pipeline holds is bounded by the sum of its buffers' budgets plus what each stage
holds in flight, never by the length of the source. A stage that fails fails its output
buffer, and so every stage after it, up to :meth:`Pipeline.run`, which cancels the rest and
raises the error. Every stage generator is closed (``aclosing``) however its task ends.

Stopping: :meth:`Pipeline.stop`, or cancelling :meth:`Pipeline.run` (Ctrl-C), stops the
intake at once (the source generator is closed, cancelling what it was fetching) and lets
every item already inside go through to the sink, for at most ``drain_timeout`` seconds;
after a cancellation ``run`` then re-raises it. A second cancellation stops at once.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from autoissue.stream._buffer import Budget, Buffer, BufferStatistics
from autoissue.stream._stages import Stage
from autoissue.stream._watermark import RssWatermark, WatermarkStatistics

__all__ = ["Pipeline", "PipelineState", "PipelineStatistics", "Step"]

Sink = Callable[[Any], object]


class PipelineState(enum.Enum):
    """Where a pipeline is in its life."""

    IDLE = "idle"
    RUNNING = "running"
    DRAINING = "draining"  # intake stopped; items inside go on to the sink
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class Step:
    """One stage, by name, and the budget of the buffer it writes to."""

    name: str
    stage: Stage
    budget: Budget = field(default_factory=Budget)


@dataclass(frozen=True, slots=True)
class PipelineStatistics:
    """A snapshot: the state, the items delivered to the sink, every buffer, the watermark."""

    state: PipelineState
    delivered: int
    buffers: tuple[BufferStatistics, ...]
    watermark: WatermarkStatistics | None


class Pipeline:
    """Runs ``source`` through ``steps`` into a sink; runs once.

    ``intake`` is the budget of the buffer after the source; ``watermark`` is asked before
    every item is taken from the source.
    """

    def __init__(
        self,
        source: AsyncIterable[Any],
        steps: Sequence[Step],
        *,
        intake: Budget | None = None,
        watermark: RssWatermark | None = None,
        drain_timeout: float | None = 30.0,
    ) -> None:
        self._source, self._steps = source, tuple(steps)
        self._watermark, self._drain_timeout = watermark, drain_timeout
        names = ["intake", *(step.name for step in self._steps)]
        budgets = [intake or Budget(), *(step.budget for step in self._steps)]
        self._buffers: list[Buffer[Any]] = [
            Buffer(budget, name=name) for name, budget in zip(names, budgets, strict=True)
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._state = PipelineState.IDLE
        self._stop_requested = False
        self._delivered = 0

    def __repr__(self) -> str:
        held = sum(len(buffer) for buffer in self._buffers)
        steps = ",".join(step.name for step in self._steps)
        return (
            f"<Pipeline {self._state.value} steps={steps} held={held} delivered={self._delivered}>"
        )

    @property
    def state(self) -> PipelineState:
        """Where the pipeline is in its life."""
        return self._state

    def statistics(self) -> PipelineStatistics:
        """A frozen snapshot of the pipeline and its buffers."""
        watermark = self._watermark.statistics() if self._watermark is not None else None
        buffers = tuple(buffer.statistics() for buffer in self._buffers)
        return PipelineStatistics(self._state, self._delivered, buffers, watermark)

    def stop(self) -> None:
        """Stop the intake; what is already inside still reaches the sink."""
        self._stop_requested = True
        if self._tasks and not self._tasks[0].done():
            self._tasks[0].cancel()
        if self._state is PipelineState.RUNNING:
            self._state = PipelineState.DRAINING

    async def run(self, sink: Sink | None = None) -> int:
        """Run to the end of the source, giving every output to ``sink``; returns their count."""
        if self._state is not PipelineState.IDLE:
            raise RuntimeError("a pipeline runs once")
        self._state = PipelineState.RUNNING
        self._start()
        try:
            await self._consume(sink)
        except asyncio.CancelledError:
            self._state = PipelineState.CANCELLED
            await self._drain(sink)
            raise
        except BaseException:
            self._state = PipelineState.FAILED
            raise
        finally:
            await self._teardown()
        self._state = PipelineState.FINISHED
        return self._delivered

    def _start(self) -> None:
        buffers = self._buffers
        feeds = [self._intake(buffers[0])]
        for index, step in enumerate(self._steps):
            feeds.append(self._feed(step.stage, buffers[index], buffers[index + 1]))
        for feed, out in zip(feeds, buffers, strict=True):
            task = asyncio.create_task(feed)
            # However the task ends, even cancelled before it ran, its consumer must not wait.
            task.add_done_callback(_closing(out))
            self._tasks.append(task)
        if self._stop_requested:
            self._tasks[0].cancel()

    async def _intake(self, out: Buffer[Any]) -> None:
        iterator = aiter(self._source)
        try:
            while True:
                if self._watermark is not None:
                    await self._watermark.admit()
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    break
                await out.put(item)
        except Exception as error:
            out.fail(error)  # a cancellation is a stop, not a failure: what is inside goes on
            raise
        finally:
            await _close(iterator)

    async def _feed(self, stage: Stage, upstream: Buffer[Any], out: Buffer[Any]) -> None:
        try:
            async with aclosing(stage(upstream)) as items:
                async for item in items:
                    await out.put(item)
        except Exception as error:
            out.fail(error)
            raise

    async def _consume(self, sink: Sink | None) -> None:
        async for item in self._buffers[-1]:
            self._delivered += 1
            if sink is not None:
                sink(item)

    async def _drain(self, sink: Sink | None) -> None:
        """After a cancellation: stop the intake and deliver what is inside, within the timeout."""
        self.stop()
        try:
            async with asyncio.timeout(self._drain_timeout):
                await self._consume(sink)
        except TimeoutError:
            pass  # what is left is cancelled by the teardown

    async def _teardown(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _closing(buffer: Buffer[Any]) -> Callable[[asyncio.Task[None]], None]:
    """A done-callback that closes ``buffer`` (closing a failed buffer keeps its error)."""
    return lambda _task: buffer.close()


async def _close(iterator: AsyncIterator[Any]) -> None:
    """Close ``iterator`` if it can be closed (an async generator can)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
