"""The rate-limit governor: decides when each request may go, so GitHub never has to refuse one.

Proactive: it keeps concurrent requests under a cap, spends the primary budget no further
than a reserve (pacing it evenly to the reset when asked), budgets points per minute per
endpoint and content creations per minute and per hour, and spaces mutations. Reactive:
after a refusal it pauses every request until GitHub's stated time. A server that says it
has no limits (GitHub Enterprise Server's default) lifts every proactive rule but the cap.

Each decision is made synchronously (no ``await`` between checking and booking a budget),
so the asyncio tasks sharing a governor can never overbook it.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from autoissue._clock import Clock, SystemClock
from autoissue.github._ratelimit import RateLimitInfo
from autoissue.github._slots import Slots
from autoissue.github._window import SlidingWindow

logger = logging.getLogger(__name__)

DEFAULT_PRIMARY_LIMIT = 5_000  # what GitHub documents for a personal token, per hour
HOUR = 3600.0
# Waits shorter than this are rounding noise: a fake clock at epoch scale cannot even
# advance by them.
_EPSILON_S = 1e-6
MINUTE = 60.0


class Mode(enum.Enum):
    """What the governor knows of the server's limits."""

    UNKNOWN = "unknown"  # nothing heard yet: assume github.com's documented limits
    LIMITED = "limited"  # the server sends rate-limit headers
    UNLIMITED = "unlimited"  # the server said rate limiting is not enabled


@dataclass(frozen=True, kw_only=True)
class GovernorSettings:
    """The budgets the governor keeps; the defaults stay inside github.com's limits.

    ``pacing`` is ``"burst"`` (spend down to ``reserve``, then wait for the reset: the
    fastest way through a job) or ``"even"`` (spread what is left evenly until the reset,
    for a token shared with other tools). ``time_scale`` compresses every window for an
    emulator running an hour in ``1/time_scale`` of one.
    """

    max_concurrent: int = 40
    unlimited_max_concurrent: int = 256
    reserve: int = 100
    pacing: Literal["burst", "even"] = "burst"
    points_per_minute: int = 810  # GitHub allows 900 per endpoint
    content_per_minute: int = 72  # of 80
    content_per_hour: int = 450  # of 500
    mutation_spacing_s: float = 1.0
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if min(self.max_concurrent, self.unlimited_max_concurrent, self.points_per_minute) < 1:
            raise ValueError("concurrency and point budgets must be at least 1")
        if min(self.content_per_minute, self.content_per_hour) < 1 or self.reserve < 0:
            raise ValueError("content budgets must be at least 1 and the reserve not negative")
        if self.time_scale <= 0 or self.mutation_spacing_s < 0:
            raise ValueError("time_scale must be positive and mutation_spacing_s not negative")


@dataclass(frozen=True, slots=True)
class RequestKind:
    """What the governor needs to know of a request."""

    endpoint: str  # e.g. "POST /repos/{owner}/{repo}/issues/{n}/labels"
    mutation: bool = False
    creates_content: bool = False
    resource: str = "core"

    @property
    def points(self) -> int:
        """GitHub's secondary-limit cost: 1 for a read, 5 for a mutation."""
        return 5 if self.mutation else 1


@dataclass(frozen=True, slots=True)
class Permit:
    """A request cleared to go: what it booked, to be settled when it is answered."""

    kind: RequestKind
    entries: tuple[list[float], ...] = ()
    lease: str = ""  # its slot in a budget shared between processes


@dataclass(frozen=True)
class GovernorStatistics:
    """A snapshot of the governor's state and of every wait it imposed."""

    mode: Mode
    in_flight: int
    max_concurrent: int
    budget: Mapping[str, RateLimitInfo]
    waits: Mapping[str, int]
    waited_s: Mapping[str, float]
    paused_until: float


@dataclass
class _Primary:
    info: RateLimitInfo
    in_flight: int = 0
    last_sent: float = 0.0


@dataclass
class _Waits:
    count: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, reason: str, seconds: float) -> None:
        self.count[reason] += 1
        self.seconds[reason] = self.seconds.get(reason, 0.0) + seconds


def _seconds(delay: tuple[str, float]) -> float:
    return delay[1]


class Governor:
    """Decides when each request to one GitHub host may be sent.

    Use ``await acquire(kind)`` before sending and ``release(kind, info)`` with the
    answer's rate-limit reading afterwards (``None`` when the answer had none).
    """

    def __init__(self, settings: GovernorSettings | None = None, *, clock: Clock | None = None):
        self.settings = settings or GovernorSettings()
        self._clock = clock or SystemClock()
        self.mode = Mode.UNKNOWN
        self._slots = Slots(self.settings.max_concurrent)
        self._primary: dict[str, _Primary] = {}
        scale = self.settings.time_scale
        self._points: dict[str, SlidingWindow] = {}
        self._content_minute = SlidingWindow(
            span=MINUTE / scale, budget=self.settings.content_per_minute
        )
        self._content_hour = SlidingWindow(span=HOUR / scale, budget=self.settings.content_per_hour)
        self._last_mutation = float("-inf")
        self._paused_until = 0.0
        self._waits = _Waits()

    def __repr__(self) -> str:
        return f"<Governor {self.mode.value} in_flight={self._slots.held}/{self._slots.limit}>"

    def set_unlimited(self) -> None:
        """The server said it has no rate limits: lift every proactive budget but the cap."""
        self.mode = Mode.UNLIMITED
        self._slots.limit = self.settings.unlimited_max_concurrent
        logger.info("server reports no rate limits: pacing off")

    async def acquire(self, kind: RequestKind) -> Permit:
        """Wait until ``kind`` may be sent within every budget, then book it."""
        await self._slots.acquire()
        try:
            while True:
                permit = await self._decide(kind)
                if isinstance(permit, Permit):
                    return permit
                await self._clock.sleep(permit)
        except BaseException:
            self._slots.release()
            raise

    def try_acquire(self, kind: RequestKind) -> Permit | None:
        """Book ``kind`` now if a slot is free and no budget makes it wait; else ``None``.

        Never waits and records no wait: ``None`` sends the caller to :meth:`acquire`. Most
        requests go this way, without the coroutines a wait needs.
        """
        if not self._decides_locally() or not self._slots.try_acquire():
            return None
        now = self._clock.time()
        if self._delay(kind, now)[1] > _EPSILON_S:
            self._slots.release()
            return None
        return self._permit(kind, now)

    def _decides_locally(self) -> bool:
        """Whether this governor's own books decide (a shared one's live in its store)."""
        return True

    async def _decide(self, kind: RequestKind) -> Permit | float:
        return self._admit(kind, self._clock.time())

    def release(self, permit: Permit, info: RateLimitInfo | None = None) -> None:
        """The request is answered (or failed); ``info`` is its rate-limit reading, if any."""
        self._slots.release()
        now = self._clock.time()
        for entry in permit.entries:
            SlidingWindow.settle(entry, now)
        self._answered(permit, info)

    def _answered(self, permit: Permit, info: RateLimitInfo | None) -> None:
        primary = self._primary.get(permit.kind.resource)
        if primary is not None and primary.in_flight > 0:
            primary.in_flight -= 1
            if info is None and primary.info.remaining > 0:
                # No reading: assume the request was counted, as GitHub counts most.
                primary.info = replace(primary.info, remaining=primary.info.remaining - 1)
        self._learn(info)

    def pause(self, seconds: float, reason: str) -> None:
        """Hold every request for ``seconds``: GitHub refused one and said how long to wait."""
        until = self._clock.time() + seconds
        if until > self._paused_until:
            self._paused_until = until
            logger.warning("GitHub refused a request (%s): pausing %.1fs", reason, seconds)

    def observe(self, info: RateLimitInfo | None) -> None:
        """Take in a rate-limit reading from an answer (``None``: the answer had none)."""
        self._learn(info)

    def _learn(self, info: RateLimitInfo | None) -> None:
        if info is None:
            return
        if self.mode is not Mode.LIMITED:
            self.mode = Mode.LIMITED
            self._slots.limit = self.settings.max_concurrent
        primary = self._primary.get(info.resource)
        if primary is None:
            self._primary[info.resource] = _Primary(info)
        elif info.reset > primary.info.reset or info.remaining < primary.info.remaining:
            # A later window, or a lower count in this one: answers may arrive out of order.
            primary.info = info

    def _admit(self, kind: RequestKind, now: float) -> Permit | float:
        """Book ``kind`` and return its permit, or return how long to wait first."""
        reason, delay = self._delay(kind, now)
        if delay > _EPSILON_S:
            self._waits.add(reason, delay)
            if delay >= 1.0:  # short waits are routine pacing; long ones deserve a line
                logger.info("holding a request %.1fs for the %s budget", delay, reason)
            return delay
        return self._permit(kind, now)

    def _permit(self, kind: RequestKind, now: float) -> Permit:
        if self.mode is Mode.UNLIMITED:
            return Permit(kind)
        return Permit(kind, self._book(kind, now))

    def _delay(self, kind: RequestKind, now: float) -> tuple[str, float]:
        """The longest wait any rule imposes on ``kind`` now, and the rule's name."""
        paused = self._paused_until - now
        if self.mode is Mode.UNLIMITED:
            return "paused", paused  # the only rule left: one tuple, no list to scan
        return max(self._delays(kind, now), key=_seconds)

    def _delays(self, kind: RequestKind, now: float) -> list[tuple[str, float]]:
        delays = [("paused", self._paused_until - now)]
        spacing = self.settings.mutation_spacing_s / self.settings.time_scale
        delays.append(("primary", self._primary_wait(kind, now)))
        delays.append(("points", self._points_window(kind).wait(kind.points, now)))
        if kind.creates_content:
            minute, hour = self._content_minute.wait(1, now), self._content_hour.wait(1, now)
            delays.append(("content", max(minute, hour)))
        if kind.mutation:
            delays.append(("spacing", self._last_mutation + spacing - now))
        return delays

    def _book(self, kind: RequestKind, now: float) -> tuple[list[float], ...]:
        primary = self._primary_state(kind.resource, now)
        primary.in_flight += 1
        primary.last_sent = now
        entries = [self._points_window(kind).spend(kind.points, now)]
        if kind.creates_content:
            entries.append(self._content_minute.spend(1, now))
            entries.append(self._content_hour.spend(1, now))
        if kind.mutation:
            self._last_mutation = now
        return tuple(entries)

    def _primary_state(self, resource: str, now: float) -> _Primary:
        primary = self._primary.get(resource)
        if primary is None or now >= primary.info.reset:
            # Nothing heard, or the window rolled over: assume a full budget until told.
            limit = primary.info.limit if primary else DEFAULT_PRIMARY_LIMIT
            info = RateLimitInfo(limit, limit, 0, now + HOUR / self.settings.time_scale, resource)
            in_flight = primary.in_flight if primary else 0
            primary = self._primary[resource] = _Primary(info, in_flight)
        return primary

    def _primary_wait(self, kind: RequestKind, now: float) -> float:
        primary = self._primary_state(kind.resource, now)
        info = primary.info
        reserve = min(self.settings.reserve, info.limit // 10)
        budget = info.remaining - primary.in_flight - reserve
        if budget <= 0:
            return info.seconds_to_reset(now) + 1.0 / self.settings.time_scale
        if self.settings.pacing == "even":
            return primary.last_sent + info.seconds_to_reset(now) / budget - now
        return 0.0

    def _points_window(self, kind: RequestKind) -> SlidingWindow:
        return self._endpoint_window(kind.endpoint)

    def _endpoint_window(self, endpoint: str) -> SlidingWindow:
        window = self._points.get(endpoint)
        if window is None:
            span = MINUTE / self.settings.time_scale
            window = self._points[endpoint] = SlidingWindow(
                span=span, budget=self.settings.points_per_minute
            )
        return window

    def statistics(self) -> GovernorStatistics:
        """A snapshot of mode, concurrency, budgets and the waits imposed so far."""
        return GovernorStatistics(
            mode=self.mode,
            in_flight=self._slots.held,
            max_concurrent=self._slots.limit,
            budget=MappingProxyType({name: p.info for name, p in self._primary.items()}),
            waits=MappingProxyType(dict(self._waits.count)),
            waited_s=MappingProxyType(dict(self._waits.seconds)),
            paused_until=self._paused_until,
        )
