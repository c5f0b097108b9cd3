"""The state store in Redis, beside the queue under the same prefix.

``P:ledger`` is a hash from ``processor NUL issue`` to a JSON entry; ``P:locks`` a hash from
issue to ``owner NUL expires_at``; ``P:artifacts`` a hash from key to data. Locks compare
times from the injected clock inside Lua scripts, rather than using ``SET NX PX`` (whose
expiry runs on the server's clock), so lock expiry obeys the same clock as leases and tests
never sleep.

Counters do the same: the total ``K`` is a hash ``P:counters:K`` with its ``total``, the
member set ``K`` a hash ``P:members:K`` with a field ``+member`` per member; either has an
``until`` field (the injected clock's expiry) once given a ``ttl_s``. The Lua script that
writes one also sets the key to expire on the server after ``ttl_s``, only so that the
server reclaims it: ``until`` decides whether it has expired. A key ``K`` is a string
``P:keys:K`` holding its ``until`` (empty: never), expiring on the server the same way.

Queued marks are the hash ``P:marks``, from ``processor NUL issue`` (as in the ledger) to the
version. Scripts raise them and drop them as the ledger records, comparing versions byte by
byte: Lua's own ``<`` follows the server's locale.
"""

from __future__ import annotations

import json
import math
from typing import Any

import redis.asyncio as aioredis
from redis.typing import EncodableT

from autoissue._clock import Clock
from autoissue._exceptions import CorruptItemError
from autoissue.queue._redis import call_redis
from autoissue.state._base import (
    LedgerEntry,
    MarkKey,
    QueuedVersion,
    StateStore,
    expired,
)

_APPLIED = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local e = raw and cjson.decode(raw) or nil
if not e or e.updated_at ~= ARGV[2] then
  e = {updated_at = ARGV[2], outcome = 'pending', actions = {}}
end
table.insert(e.actions, ARGV[3])
e.recorded_at = tonumber(ARGV[4])
local out = cjson.encode(e)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
"""

# Takes, extends or frees the locks of several issues at once, each entry ``owner NUL
# expires_at``: ARGV = mode, owner, now, deadline, issues...; returns one 1 or 0 per issue.
# Acquiring succeeds unless another owner's lock is live; refreshing needs our live lock;
# releasing needs our lock.
_LOCK_MANY = """
local mode, owner, now, deadline = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local results = {}
for i = 5, #ARGV do
  local issue = ARGV[i]
  local held = redis.call('HGET', KEYS[1], issue)
  local holder, expires = nil, 0
  if held then
    local cut = string.find(held, '\\0', 1, true)
    holder, expires = string.sub(held, 1, cut - 1), tonumber(string.sub(held, cut + 1))
  end
  local live = holder and expires > now
  local ok = 1
  if mode == 'release' then
    if holder == owner then redis.call('HDEL', KEYS[1], issue) else ok = 0 end
  elseif mode == 'refresh' and not (live and holder == owner) then ok = 0
  elseif mode == 'acquire' and live and holder ~= owner then ok = 0
  else redis.call('HSET', KEYS[1], issue, owner .. '\\0' .. deadline) end
  results[#results + 1] = ok
end
return results
"""

# Adds to a total or a member to a set, after deleting it if it has expired, and sets its
# expiry if it has none yet: KEYS[1] = the hash, ARGV = mode, now, deadline (or ''), ttl in
# ms, amount or member. Returns the new total or the set's size.
_COUNT = """
local now, deadline = tonumber(ARGV[2]), ARGV[3]
local expires = tonumber(redis.call('HGET', KEYS[1], 'until'))
if expires and expires <= now then
  redis.call('DEL', KEYS[1])
  expires = nil
end
if not expires and deadline ~= '' then
  redis.call('HSET', KEYS[1], 'until', deadline)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  expires = tonumber(deadline)
end
if ARGV[1] == 'increment' then
  return redis.call('HINCRBY', KEYS[1], 'total', ARGV[5])
end
redis.call('HSET', KEYS[1], '+' .. ARGV[5], '')
return redis.call('HLEN', KEYS[1]) - (expires and 1 or 0)
"""

# Adds a key unless it is held and live: KEYS[1] = the key, ARGV = now, deadline (or ''), ttl
# in ms (0: none). SET drops any server expiry the expired key had. Returns 1 if added.
_ADD_KEY = """
local held = redis.call('GET', KEYS[1])
if held and (held == '' or tonumber(held) > tonumber(ARGV[1])) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
"""


# Whether version a sorts before version b, byte by byte.
_BEFORE = """
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
"""

# Raises marks: KEYS[1] = the marks, ARGV = field, version, field, version...
_RAISE_MARKS = (
    _BEFORE
    + """
for i = 1, #ARGV, 2 do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if not held or before(held, ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0
"""
)

# Writes ledger entries and drops the marks finished ones reach: KEYS = the ledger, the marks;
# ARGV = field, entry, '1' if finished (else ''), version, then the next entry's four.
_RECORD = (
    _BEFORE
    + """
for i = 1, #ARGV, 4 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  local mark = ARGV[i + 2] == '1' and redis.call('HGET', KEYS[2], ARGV[i])
  if mark and not before(ARGV[i + 3], mark) then
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
return 0
"""
)


class RedisStateStore(StateStore):
    """A :class:`StateStore` in Redis under ``prefix``; closes ``client`` if ``owns_client``."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "autoissue",
        where: str = "redis",
        owns_client: bool = True,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.client = client
        self.prefix = prefix
        self.where = where
        self._owns_client = owns_client
        self._ledger = f"{prefix}:ledger"
        self._locks = f"{prefix}:locks"
        self._artifacts = f"{prefix}:artifacts"
        self._marks = f"{prefix}:marks"
        self._applied_script = client.register_script(_APPLIED)
        self._lock_many_script = client.register_script(_LOCK_MANY)
        self._count_script = client.register_script(_COUNT)
        self._add_key_script = client.register_script(_ADD_KEY)
        self._raise_marks_script = client.register_script(_RAISE_MARKS)
        self._record_script = client.register_script(_RECORD)

    def describe(self) -> str:
        """The server and key prefix, never a password."""
        return f"{self.where} prefix={self.prefix}"

    async def _call(self, action: Any) -> Any:
        return await call_redis(self.where, action)

    async def _record(self, entry: LedgerEntry) -> None:
        await self._record_many([entry])

    async def _applied(
        self, issue: str, processor: str, updated_at: str, action: str, now: float
    ) -> LedgerEntry:
        args = [_field(issue, processor), updated_at, action, repr(now)]
        raw = await self._call(lambda: self._applied_script(keys=[self._ledger], args=args))
        return _decode(issue, processor, raw)

    async def _lookup(self, issue: str, processor: str) -> LedgerEntry | None:
        field = _field(issue, processor)
        raw = await self._call(lambda: self.client.hget(self._ledger, field))
        return None if raw is None else _decode(issue, processor, raw)

    async def _acquire(self, issue: str, owner: str, now: float, until: float) -> bool:
        return bool(await self._lock_many("acquire", [issue], owner, now, until))

    async def _refresh(self, issue: str, owner: str, now: float, until: float) -> bool:
        return bool(await self._lock_many("refresh", [issue], owner, now, until))

    async def _release(self, issue: str, owner: str) -> bool:
        return bool(await self._lock_many("release", [issue], owner, 0.0, 0.0))

    async def _owner(self, issue: str, now: float) -> str | None:
        held = await self._call(lambda: self.client.hget(self._locks, issue))
        return _live_owner(held, now)

    async def _counts(self, now: float) -> tuple[int, int]:
        entries = await self._call(lambda: self.client.hlen(self._ledger))
        held = await self._call(lambda: self.client.hvals(self._locks))
        return int(entries), sum(1 for value in held if _live_owner(value, now) is not None)

    # -- batched: one round trip each --------------------------------------------------------

    async def _record_many(self, entries: list[LedgerEntry]) -> None:
        args = [arg for entry in entries for arg in _record_args(entry)]
        keys = [self._ledger, self._marks]
        await self._call(lambda: self._record_script(keys=keys, args=args))

    async def _lookup_many(self, issues: list[str], processor: str) -> dict[str, LedgerEntry]:
        fields = [_field(issue, processor) for issue in issues]
        raws = await self._call(lambda: self.client.hmget(self._ledger, fields))
        return {
            issue: _decode(issue, processor, raw)
            for issue, raw in zip(issues, raws, strict=True)
            if raw is not None
        }

    async def _lock_many(
        self, mode: str, issues: list[str], owner: str, now: float, until: float
    ) -> set[str]:
        args = [mode, owner, repr(now), repr(until), *issues]
        done = await self._call(lambda: self._lock_many_script(keys=[self._locks], args=args))
        return {issue for issue, ok in zip(issues, done, strict=True) if ok}

    async def _acquire_many(
        self, issues: list[str], owner: str, now: float, until: float
    ) -> set[str]:
        return await self._lock_many("acquire", issues, owner, now, until)

    async def _refresh_many(
        self, issues: list[str], owner: str, now: float, until: float
    ) -> set[str]:
        return await self._lock_many("refresh", issues, owner, now, until)

    async def _release_many(self, issues: list[str], owner: str) -> None:
        await self._lock_many("release", issues, owner, 0.0, 0.0)

    async def _mark_queued(self, versions: list[QueuedVersion]) -> None:
        args: list[EncodableT] = []
        for issue, processor, updated_at in versions:
            args += [_field(issue, processor), updated_at]
        await self._call(lambda: self._raise_marks_script(keys=[self._marks], args=args))

    async def _queued_marks(self, keys: list[MarkKey]) -> dict[MarkKey, str]:
        fields = [_field(issue, processor) for issue, processor in keys]
        held = await self._call(lambda: self.client.hmget(self._marks, fields))
        return {key: raw.decode() for key, raw in zip(keys, held, strict=True) if raw is not None}

    async def _save_artifact(self, key: str, data: bytes) -> None:
        await self._call(lambda: self.client.hset(self._artifacts, key, data))

    async def _load_artifact(self, key: str) -> bytes | None:
        raw = await self._call(lambda: self.client.hget(self._artifacts, key))
        return None if raw is None else bytes(raw)

    async def _increment(self, key: str, amount: int, now: float, until: float | None) -> int:
        return await self._count("increment", f"{self.prefix}:counters:{key}", now, until, amount)

    async def _counter(self, key: str, now: float) -> int:
        name = f"{self.prefix}:counters:{key}"
        total, until = await self._call(lambda: self.client.hmget(name, ["total", "until"]))
        if total is None or expired(None if until is None else float(until), now):
            return 0
        return int(total)

    async def _add_member(self, key: str, member: str, now: float, until: float | None) -> int:
        return await self._count("add", f"{self.prefix}:members:{key}", now, until, member)

    async def _add_if_absent(self, key: str, now: float, until: float | None) -> bool:
        args: list[EncodableT] = [repr(now), *_deadline(now, until)]
        name = f"{self.prefix}:keys:{key}"
        return bool(await self._call(lambda: self._add_key_script(keys=[name], args=args)))

    async def _is_present(self, key: str, now: float) -> bool:
        held = await self._call(lambda: self.client.get(f"{self.prefix}:keys:{key}"))
        return held is not None and not expired(float(held) if held else None, now)

    async def _count(
        self, mode: str, name: str, now: float, until: float | None, value: int | str
    ) -> int:
        args: list[EncodableT] = [mode, repr(now), *_deadline(now, until), value]
        return int(await self._call(lambda: self._count_script(keys=[name], args=args)))

    async def _close(self) -> None:
        if self._owns_client:
            await self.client.aclose()


def _deadline(now: float, until: float | None) -> tuple[str, int]:
    """``until`` as a script reads it (empty: never) and the server's expiry in ms (0: none)."""
    if until is None:
        return "", 0
    return repr(until), max(1, math.ceil((until - now) * 1000))


def _record_args(entry: LedgerEntry) -> list[EncodableT]:
    """One entry's four arguments to the record script."""
    field = _field(entry.issue, entry.processor)
    return [field, _encode(entry), "1" if entry.finished else "", entry.updated_at]


def _field(issue: str, processor: str) -> str:
    return f"{processor}\0{issue}"


def _live_owner(held: bytes | None, now: float) -> str | None:
    if held is None:
        return None
    owner, _, expires = held.decode().partition("\0")
    return owner if float(expires) > now else None


def _encode(entry: LedgerEntry) -> str:
    return json.dumps(
        {
            "updated_at": entry.updated_at,
            "outcome": entry.outcome,
            "actions": list(entry.actions),
            "recorded_at": entry.recorded_at,
        }
    )


def _decode(issue: str, processor: str, raw: bytes) -> LedgerEntry:
    try:
        data = json.loads(raw)
        # cjson writes an empty list as {}; either way it means no actions.
        actions = tuple(str(a) for a in data["actions"]) if data["actions"] else ()
        return LedgerEntry(
            issue, processor, data["updated_at"], data["outcome"], actions, data["recorded_at"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptItemError(f"ledger entry {issue}/{processor} is damaged: {exc}") from exc
