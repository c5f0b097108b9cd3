"""The distributed backend: Redis, shared by workers on any number of machines.

Why Lua scripts over sorted sets rather than streams with consumer groups: a stream's
pending-entry idle time runs on the server's clock and ``XAUTOCLAIM`` takes one minimum idle
time per call, while this contract needs per-claim lease lengths, per-item heartbeats and an
injectable clock (tests never sleep to see a lease expire). Four priority streams would also
make a fair-share claim several round trips with no atomicity between them, and dead letters,
TTLs, backoff delays and idempotency keys would still need sorted sets and sets beside the
stream: two sources of truth. So each step is one Lua script over sorted sets
(:mod:`autoissue.queue._redis_lua`): atomic, one round trip for a whole batch, the same
semantics as the SQLite backend. Times come from the clients' clocks; hosts sharing a queue
should keep them in sync (NTP) to well under the lease length.

A lost connection raises :class:`BackendUnavailableError`; since every step is one script,
it either ran entirely or not at all, and the run resumes when Redis is back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from autoissue._exceptions import BackendUnavailableError, CorruptItemError, QueueError
from autoissue.model import Priority
from autoissue.queue import _redis_lua as lua
from autoissue.queue._base import Decide, Queue
from autoissue.queue._policy import Decision
from autoissue.queue._types import Backlog, DeadLetter, Lease, Message

T = TypeVar("T")

_DEAD_FIELDS = ("p", "a", "r", "l", "t", "k", "d", "g")
_SCRIPTS = ("PUT", "CLAIM", "HEARTBEAT", "ACK", "NACK", "REPLAY", "PURGE", "BACKLOG", "UPGRADE")


async def call_redis(where: str, action: Callable[[], Awaitable[T]]) -> T:
    """Await ``action``; turn redis-py's errors into this project's, naming ``where``."""
    try:
        return await action()
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise BackendUnavailableError(f"redis at {where} is unreachable: {exc}") from exc
    except RedisError as exc:
        raise QueueError(f"redis at {where} refused a queue operation: {exc}") from exc


class RedisQueue(Queue):
    """A :class:`Queue` in Redis under ``prefix``; see :class:`Queue` for the options.

    ``client`` is a ``redis.asyncio.Redis`` made with ``decode_responses=False``; the queue
    closes it only if ``owns_client``. Before its first claim or count, a handle enrols the
    ready items a queue from before groups left under ``prefix`` (one script, idempotent).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "autoissue",
        where: str = "redis",
        owns_client: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.client = client
        self.prefix = prefix
        self.where = where
        self._owns_client = owns_client
        self._scripts = {name: client.register_script(getattr(lua, name)) for name in _SCRIPTS}
        self._upgraded = False

    def describe(self) -> str:
        """The server and key prefix, never a password."""
        return f"{self.where} prefix={self.prefix}"

    async def _run(self, name: str, *args: Any) -> Any:
        script = self._scripts[name]
        return await call_redis(self.where, lambda: script(args=[self.prefix, *args]))

    async def _upgrade(self) -> None:
        # Once per handle: cheaper than a check in every claim, and the data only ever needs it
        # once (each put, retry and replay enrols its group itself).
        if not self._upgraded:
            await self._run("UPGRADE")
            self._upgraded = True

    async def _put(self, messages: list[Message], now: float) -> list[str | None]:
        args: list[Any] = [repr(now)]
        for m in messages:
            expires = "" if m.ttl_s is None else repr(now + m.ttl_s)
            ready_at = repr(max(now, m.not_before or now))
            args += [m.key or "", int(m.priority), expires, ready_at, m.payload, m.group or ""]
        ids = await self._run("PUT", *args)
        return [None if item is None else _text(item) for item in ids]

    async def _claim(self, n: int, now: float, lease_until: float, tick: int) -> list[Lease]:
        await self._upgrade()
        every = self.priorities.every
        flat = await self._run(
            "CLAIM", repr(now), n, repr(lease_until), self.retry.max_attempts, tick, every
        )
        return [_lease(flat[i : i + 4], lease_until) for i in range(0, len(flat), 4)]

    async def _heartbeat(self, ids: list[str], lease_until: float) -> list[str]:
        return [_text(item) for item in await self._run("HEARTBEAT", repr(lease_until), *ids)]

    async def _ack(self, ids: list[str]) -> int:
        return int(await self._run("ACK", *ids)) if ids else 0

    async def _nack(self, item_id: str, decide: Decide, error: str, now: float) -> Decision | None:
        key = f"{self.prefix}:item:{item_id}"
        state, attempts = await call_redis(self.where, lambda: self.client.hmget(key, "st", "a"))
        if state != b"l" or attempts is None:
            return None
        decision = decide(int(attempts))
        retry_at = "" if decision.retry_at is None else repr(decision.retry_at)
        # The script re-checks state and attempts: a lease lost meanwhile makes this a no-op.
        args = (item_id, _text(attempts), retry_at, decision.reason, error, repr(now))
        return decision if await self._run("NACK", *args) else None

    async def _dead_letters(self, limit: int) -> list[DeadLetter]:
        dead_key = f"{self.prefix}:dead"
        ids: list[Any] = await call_redis(
            self.where, lambda: self.client.zrange(dead_key, 0, limit - 1)
        )
        found = [await self._dead_letter(_text(item)) for item in ids]
        return [letter for letter in found if letter is not None]

    async def _dead_letter(self, item_id: str) -> DeadLetter | None:
        key = f"{self.prefix}:item:{item_id}"
        state, *fields = await call_redis(
            self.where, lambda: self.client.hmget(key, "st", *_DEAD_FIELDS)
        )
        return _dead_letter(item_id, fields) if state == b"d" else None

    async def _replay(self, ids: list[str] | None, now: float) -> int:
        return int(await self._run("REPLAY", *(ids or [])) if ids != [] else 0)

    async def _purge(self, ids: list[str] | None) -> int:
        return int(await self._run("PURGE", *(ids or [])) if ids != [] else 0)

    async def _backlog(self, now: float) -> Backlog:
        await self._upgrade()
        counts = [int(c) for c in await self._run("BACKLOG", repr(now), self.retry.max_attempts)]
        ready = {p: counts[int(p)] for p in Priority}
        delayed, in_flight, retrying, dead = counts[4:]
        return Backlog(ready, delayed, in_flight, retrying, dead)

    async def _close(self) -> None:
        if self._owns_client:
            await self.client.aclose()


def _text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _lease(fields: list[Any], lease_until: float) -> Lease:
    # CLAIM packs the small fields in one header: "priority attempts enqueued_at group".
    item_id, header, key, payload = fields
    try:
        priority, attempts, enqueued_at, group = _text(header).split(" ", 3)
        return Lease(
            id=_text(item_id),
            payload=bytes(payload),
            priority=Priority(int(priority)),
            attempts=int(attempts),
            lease_until=lease_until,
            enqueued_at=float(enqueued_at),
            key=_text(key) or None,
            group=group or None,
        )
    except (TypeError, ValueError) as exc:
        raise CorruptItemError(f"queue item {_text(item_id)} is damaged: {exc}") from exc


def _dead_letter(item_id: str, fields: list[Any]) -> DeadLetter:
    priority, attempts, reason, last_error, dead_at, key, payload, group = fields
    try:
        return DeadLetter(
            id=item_id,
            payload=bytes(payload or b""),
            priority=Priority(int(priority or 0)),
            attempts=int(attempts or 0),
            reason=_text(reason or b""),
            last_error=_text(last_error or b""),
            dead_at=float(dead_at or 0.0),
            key=_text(key or b"") or None,
            group=_text(group or b"") or None,
        )
    except (TypeError, ValueError) as exc:
        raise CorruptItemError(f"dead letter {item_id} is damaged: {exc}") from exc
