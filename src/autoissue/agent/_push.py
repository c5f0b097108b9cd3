"""Pushing many issues' commits in few ``git push`` processes: one push, many refspecs.

A push is the dearest git step of an issue: ``git push`` starts the remote side, packs, and
on a local remote unpacks, several processes in all. Issues finish their agents at about the
same rate as pushes complete, so while one push runs the next few commits queue up, and
they go together in the next one (a group commit). An issue that may push says so first
(:meth:`BatchedPush.expect`), and a batch waits for the issues still expected, up to
``linger_s`` after its first request: a push's cost is mostly the same whatever it carries (the
remote's ref advertisement and connectivity check walk every branch it holds), so against a
remote of 2,000 branches a ref costs about 9 ms in batches of 8 and 1.5 ms in batches of 64
(measured), while a few seconds of latency cost an agent run nothing. A batch leaves at once
when it is full or when no expected issue is still to come, as at the end of a run.

``git push --porcelain`` reports each ref on its own line, so one rejected branch fails only
its own issue. When the whole push fails (the remote is unreachable, or one bad object spoils
the pack) every ref of a batch of several is pushed again on its own, so that a failure is
always the failing issue's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from autoissue._exceptions import GitCommandError
from autoissue.agent._runner import Completed

__all__ = ["BatchedPush", "ExpectedPush"]

logger = logging.getLogger(__name__)

#: ``git ARGS`` in the mirror, returning how it ended without raising on a non-zero exit.
GitRunner = Callable[..., Awaitable[Completed]]

#: Refspecs per push: bounded so the command line stays short.
MAX_BATCH = 64
#: How long the first request of a batch waits for the issues still expected.
LINGER_S = 5.0
#: ``git push --porcelain`` flags of a ref that now points where asked: fast-forward (a space),
#: forced, new, up to date, deleted.
_OK_FLAGS = frozenset(" +*=-")
_REJECTED = "!"


@dataclass(slots=True)
class _Request:
    commit: str
    branch: str
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    queued_at: float = field(default_factory=lambda: asyncio.get_running_loop().time())

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"


class BatchedPush:
    """Force-pushes commits to branches of ``url``, batching the requests that queue up.

    ``guard`` runs before every push: what it raises fails the batch, and nothing is pushed.
    """

    def __init__(
        self,
        git: GitRunner,
        url: str,
        *,
        max_batch: int = MAX_BATCH,
        linger_s: float = LINGER_S,
        guard: Callable[[], None] = lambda: None,
    ) -> None:
        self._git, self._url, self._max_batch = git, url, max_batch
        self._linger_s, self._guard = linger_s, guard
        self._ready = asyncio.Event()
        self._waiting: list[_Request] = []
        self._expected = 0  # issues that said they may push and have not yet
        self._pusher: asyncio.Task[None] | None = None
        self.pushes = 0  # git push processes started: how well batching works

    def __repr__(self) -> str:
        return (
            f"<BatchedPush waiting={len(self._waiting)} expected={self._expected} "
            f"pushes={self.pushes}>"
        )

    @contextlib.contextmanager
    def expect(self) -> Iterator[ExpectedPush]:
        """One issue that may push before the block ends: batches wait for it (see above).

        Push through what it yields; leaving the block without pushing stops the wait for it.
        """
        expected = ExpectedPush(self)
        self._expected += 1
        try:
            yield expected
        finally:
            expected.arrived()

    def _arrived(self) -> None:
        self._expected -= 1
        self._wake_if_ready()

    def _wake_if_ready(self) -> None:
        # Only with requests waiting: a flag left set would send the next one without a wait.
        if self._waiting and (len(self._waiting) >= self._max_batch or not self._expected):
            self._ready.set()

    async def push(self, commit: str, branch: str) -> None:
        """Make ``branch`` point at ``commit`` on the remote; raise GitCommandError if not.

        A request no :meth:`expect` announced leaves with the next batch, lingering only for
        the issues that are expected.
        """
        await self._outcome(self._enqueue(commit, branch))

    def _enqueue(self, commit: str, branch: str) -> _Request:
        request = _Request(commit, branch)
        # A waiter that was cancelled never reads its outcome: read here, so no error of a
        # push nobody waits for is reported as "never retrieved".
        request.done.add_done_callback(_retrieved)
        self._waiting.append(request)
        self._wake_if_ready()
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.create_task(self._drain(), name="git-push")
        return request

    @staticmethod
    async def _outcome(request: _Request) -> None:
        # The push goes on if this issue is cancelled: a force-push of its own branch, which
        # a rerun repeats harmlessly. Shielded so one cancelled waiter stops no one else.
        await asyncio.shield(request.done)

    async def _drain(self) -> None:
        while self._waiting:
            # The linger counts from the oldest request: one that queued during a push
            # has waited part of it already.
            linger = self._waiting[0].queued_at + self._linger_s - asyncio.get_running_loop().time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), max(linger, 0.0))
            batch = self._take_batch()
            self._ready.clear()
            self._wake_if_ready()
            try:
                await self._push_batch(batch)
            except Exception as exc:  # noqa: BLE001 - handed to the waiters, each raises it
                _settle(batch, exc)

    def _take_batch(self) -> list[_Request]:
        """Up to ``max_batch`` waiting requests, one per branch.

        git refuses a push that names one destination twice: the later request waits.
        """
        batch: list[_Request] = []
        later: list[_Request] = []
        refs: set[str] = set()
        for request in self._waiting:
            taken = len(batch) < self._max_batch and request.ref not in refs
            (batch if taken else later).append(request)
            refs.add(request.ref)
        self._waiting = later
        return batch

    async def _push_batch(self, batch: list[_Request]) -> None:
        self._guard()
        done = await self._run(batch)
        failed = _failures(done, batch)
        if failed and len(batch) > 1 and len(failed) == len(batch):
            # Everything failed: isolate the cause by pushing each ref alone.
            for request in batch:
                alone = await self._run([request])
                _settle([request], _failures(alone, [request]).get(request.ref))
            return
        for request in batch:
            _settle([request], failed.get(request.ref))

    async def _run(self, batch: list[_Request]) -> Completed:
        self.pushes += 1
        refspecs = [f"+{request.commit}:{request.ref}" for request in batch]
        return await self._git("push", "--porcelain", "--no-verify", self._url, *refspecs)


class ExpectedPush:
    """An issue :meth:`BatchedPush.expect` announced: it pushes through :meth:`push`, once."""

    def __init__(self, pusher: BatchedPush) -> None:
        self._pusher = pusher
        self._pending = True

    def __repr__(self) -> str:
        return f"<ExpectedPush pending={self._pending}>"

    async def push(self, commit: str, branch: str) -> None:
        """:meth:`BatchedPush.push`, and the batches stop waiting for this issue."""
        request = self._pusher._enqueue(commit, branch)
        self.arrived()
        await self._pusher._outcome(request)

    def arrived(self) -> None:
        """Batches wait for this issue no more (its request, if any, is queued)."""
        if self._pending:
            self._pending = False
            self._pusher._arrived()


def _failures(done: Completed, batch: list[_Request]) -> dict[str, GitCommandError]:
    """The refs of ``batch`` that ``git push --porcelain`` did not report as updated."""
    updated: set[str] = set()
    reasons: dict[str, str] = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and (parts[0] in _OK_FLAGS or parts[0] == _REJECTED):
            ref = parts[1].rpartition(":")[2]
            if parts[0] == _REJECTED:
                reasons[ref] = parts[2]
            else:
                updated.add(ref)
    return {
        request.ref: GitCommandError(
            f"git push of {request.branch} failed ({done.returncode}): "
            f"{reasons.get(request.ref) or done.tail()}"
        )
        for request in batch
        if request.ref not in updated
    }


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _settle(batch: list[_Request], error: BaseException | None) -> None:
    for request in batch:
        if request.done.done():
            continue
        if error is None:
            request.done.set_result(None)
        else:
            request.done.set_exception(error)
