"""The ``live`` workload's reporter: people opening issues at a steady rate while ``serve`` works.

:class:`IssueCreator` opens its issues through the emulator's API (``POST
/repos/{owner}/{repo}/issues``) from a thread of the bench process, on a schedule of its own:
issue ``i`` is sent ``i / rate`` seconds after the first, whatever the answers before it,
round robin over the repositories. It uses a token other than ``serve``'s, as the people
opening issues do: ``serve`` ignores its own account's events as echoes of its writes.

Which issues were opened is the referee's to say (the emulator's timeline), not this
creator's: the emulator strikes a 502 or a dropped connection *after* the write, so such an
answer means the issue exists, and sending it again would open it twice (a duplicate write).
Only a 503, or a connection that never reached the server, is sent again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

__all__ = ["CreatorReport", "IssueCreator", "new_issue"]

_ATTEMPTS = 10
_PAUSE_S = 0.05
_TIMEOUT = aiohttp.ClientTimeout(total=60)


def new_issue(index: int) -> dict[str, str]:
    """The ``index``-th new issue: a bug report triage labels ``bug`` for certain, text unique."""
    return {
        "title": f"Crash {index}: the app crashes with an exception on save",
        "body": (
            "Traceback (most recent call last):\n"
            f'  File "app/widget_{index}.py", line {index}, in save\n'
            f"KeyError: 'widget-{index}'\n\n"
            "The app crashes every time since the last release: a regression."
        ),
    }


@dataclass(frozen=True)
class CreatorReport:
    """How the opening went: answers by outcome, retries, and when it began and ended.

    ``outcomes``: ``opened`` (201), ``unknown`` (a 502 or a dropped connection: written, by
    the emulator's rules), ``refused`` (anything else, or 503 on every attempt).
    """

    outcomes: dict[str, int]
    retried: int
    first_at: float
    last_at: float

    @property
    def rate(self) -> float:
        """Issues sent per second, from the first send to the last."""
        sent = sum(self.outcomes.values())
        span = self.last_at - self.first_at
        return (sent - 1) / span if sent > 1 and span > 0 else 0.0


class IssueCreator:
    """Opens ``count`` issues at ``rate`` a second over ``repos``, in a thread, as ``token``.

    ``start()`` begins, ``join()`` waits and returns the :class:`CreatorReport`.
    """

    def __init__(
        self, base_url: str, repos: Sequence[str], *, count: int, rate: float, token: str
    ) -> None:
        self.base_url, self.repos = base_url, tuple(repos)
        self.count, self.rate, self.token = count, rate, token
        self._outcomes: Counter[str] = Counter()
        self._retried = 0
        self._sent: list[float] = []
        self._thread = threading.Thread(target=self._main, name="autoissue-bench-creator")

    def __repr__(self) -> str:
        return f"<IssueCreator {len(self._sent)}/{self.count} at {self.rate}/s>"

    @property
    def done(self) -> bool:
        """Whether every issue has been sent and answered."""
        return self._thread.ident is not None and not self._thread.is_alive()

    def start(self) -> None:
        """Start opening issues in the background."""
        self._thread.start()

    def join(self, timeout: float | None = None) -> CreatorReport:
        """Wait for the creator to finish; what it did."""
        self._thread.join(timeout)
        first = self._sent[0] if self._sent else 0.0
        return CreatorReport(dict(self._outcomes), self._retried, first, max(self._sent, default=0))

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        headers = {"Authorization": f"token {self.token}", "Accept": "application/vnd.github+json"}
        async with aiohttp.ClientSession(headers=headers, timeout=_TIMEOUT) as session:
            loop = asyncio.get_running_loop()
            began = loop.time()
            sending = []
            for index in range(self.count):
                await asyncio.sleep(max(0.0, began + index / self.rate - loop.time()))
                sending.append(asyncio.create_task(self._open(session, index)))
            await asyncio.gather(*sending)

    async def _open(self, session: aiohttp.ClientSession, index: int) -> None:
        repo = self.repos[index % len(self.repos)]
        url = f"{self.base_url}/repos/{repo}/issues"
        self._sent.append(time.time())
        for attempt in range(_ATTEMPTS):
            if attempt:
                self._retried += 1
                await asyncio.sleep(_PAUSE_S)
            outcome = await _post(session, url, new_issue(index))
            if outcome != "again":
                self._outcomes[outcome] += 1
                return
        self._outcomes["refused"] += 1


async def _post(session: aiohttp.ClientSession, url: str, issue: dict[str, str]) -> str:
    """``opened``, ``unknown`` (written, answer lost), ``refused``, or ``again`` (not written)."""
    try:
        async with session.post(url, json=issue) as answer:
            await answer.read()
    except aiohttp.ClientConnectorError:
        return "again"  # never reached the server
    except (aiohttp.ClientError, TimeoutError):
        return "unknown"
    if answer.status == 503:
        return "again"
    if answer.status == 502:
        return "unknown"
    return "opened" if answer.status == 201 else "refused"
