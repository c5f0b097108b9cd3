"""The Lua scripts behind the Redis backend: each queue step is one script, hence atomic.

Keys, under the queue's prefix ``P`` (ids are decimal strings from ``P:seq``)::

    P:item:<id>   hash   p priority, a attempts, e enqueued_at, k key, d payload, x expires_at,
                         st state (w waiting, l leased, d dead), r reason, l last error, t dead_at
    P:ready:<p>   zset   ready ids of priority p, scored by id: FIFO by first put
    P:delayed     zset   waiting ids not visible yet, scored by ready time
    P:leased      zset   leased ids, scored by lease deadline
    P:ttl         zset   ids with a TTL, scored by expiry
    P:dead        zset   dead letters, scored by time of death
    P:retrying    set    waiting ids that were tried before
    P:keys        set    idempotency keys ever enqueued

Scripts build key names from the prefix, so this backend wants one Redis server (or a
cluster with the whole prefix in one hash slot, e.g. ``{autoissue}``).
"""

from __future__ import annotations

_COMMON = """
local P = ARGV[1]
local function item(id) return P .. ':item:' .. id end

local function bury(id, reason, err, now)
  local h = item(id)
  local pr = redis.call('HGET', h, 'p')
  if pr then redis.call('ZREM', P .. ':ready:' .. pr, id) end
  redis.call('ZREM', P .. ':delayed', id)
  redis.call('ZREM', P .. ':leased', id)
  redis.call('ZREM', P .. ':ttl', id)
  redis.call('SREM', P .. ':retrying', id)
  redis.call('HSET', h, 'st', 'd', 'r', reason, 't', now)
  if err then redis.call('HSET', h, 'l', err) end
  redis.call('ZADD', P .. ':dead', now, id)
end

local function make_ready(id, pr)
  redis.call('HSET', item(id), 'st', 'w')
  redis.call('ZADD', P .. ':ready:' .. pr, tonumber(id), id)
end

local function housekeep(now, max_attempts)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':delayed', '-inf', now)) do
    redis.call('ZREM', P .. ':delayed', id)
    local pr = redis.call('HGET', item(id), 'p')
    if pr then make_ready(id, pr) end
  end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':leased', '-inf', now)) do
    local f = redis.call('HMGET', item(id), 'p', 'a')
    redis.call('ZREM', P .. ':leased', id)
    if f[1] and tonumber(f[2]) >= max_attempts then
      bury(id, 'lease expired on all ' .. f[2] .. ' attempts', false, now)
    elseif f[1] then
      make_ready(id, f[1])
      redis.call('SADD', P .. ':retrying', id)
    end
  end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':ttl', '-inf', now)) do
    local st = redis.call('HGET', item(id), 'st')
    if st == 'w' then
      bury(id, 'expired before it was claimed (ttl)', false, now)
    elseif st ~= 'l' then
      redis.call('ZREM', P .. ':ttl', id)
    end
  end
end
"""

PUT = (
    _COMMON
    + """
local now = ARGV[2]
local out = {}
for i = 3, #ARGV, 5 do
  local key, pr, expires, ready_at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if key ~= '' and redis.call('SADD', P .. ':keys', key) == 0 then
    out[#out + 1] = false
  else
    local id = tostring(redis.call('INCR', P .. ':seq'))
    redis.call('HSET', item(id), 'p', pr, 'a', 0, 'e', now, 'k', key, 'd', ARGV[i + 4],
               'x', expires, 'st', 'w')
    if expires ~= '' then redis.call('ZADD', P .. ':ttl', expires, id) end
    if tonumber(ready_at) > tonumber(now) then
      redis.call('ZADD', P .. ':delayed', ready_at, id)
    else
      redis.call('ZADD', P .. ':ready:' .. pr, tonumber(id), id)
    end
    out[#out + 1] = id
  end
end
return out
"""
)

CLAIM = (
    _COMMON
    + """
local now, n, lease_until = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local tick, every = tonumber(ARGV[6]), tonumber(ARGV[7])
housekeep(now, tonumber(ARGV[5]))

local function order(slot)
  if every == 0 or (slot + 1) % every ~= 0 then return {0, 1, 2, 3} end
  local start = 1 + math.floor(slot / every) % 3
  return {start % 4, (start + 1) % 4, (start + 2) % 4, (start + 3) % 4}
end

local function pop(slot)
  for _, pr in ipairs(order(slot)) do
    local got = redis.call('ZPOPMIN', P .. ':ready:' .. pr)
    if got[1] then return got[1] end
  end
  return nil
end

local out, slot = {}, tick
while #out < n * 6 do
  local id = pop(slot)
  if not id then break end
  local f = redis.call('HMGET', item(id), 'p', 'e', 'k', 'd')
  if not (f[1] and f[2] and f[4]) then
    -- A damaged item must not stop the run: it goes to the dead letters for a human.
    bury(id, 'corrupt item', 'missing fields', now)
  else
    local attempts = redis.call('HINCRBY', item(id), 'a', 1)
    redis.call('HSET', item(id), 'st', 'l')
    redis.call('SREM', P .. ':retrying', id)
    redis.call('ZADD', P .. ':leased', lease_until, id)
    for _, v in ipairs({id, f[1], attempts, f[2], f[3], f[4]}) do out[#out + 1] = v end
    slot = slot + 1
  end
end
return out
"""
)

HEARTBEAT = """
local P, lease_until, out = ARGV[1], ARGV[2], {}
for i = 3, #ARGV do
  if redis.call('ZSCORE', P .. ':leased', ARGV[i]) then
    redis.call('ZADD', P .. ':leased', lease_until, ARGV[i])
    out[#out + 1] = ARGV[i]
  end
end
return out
"""

ACK = """
local P, done = ARGV[1], 0
for i = 2, #ARGV do
  if redis.call('ZREM', P .. ':leased', ARGV[i]) == 1 then
    redis.call('DEL', P .. ':item:' .. ARGV[i])
    redis.call('ZREM', P .. ':ttl', ARGV[i])
    done = done + 1
  end
end
return done
"""

NACK = (
    _COMMON
    + """
local id, attempts, retry_at = ARGV[2], ARGV[3], ARGV[4]
local reason, err, now = ARGV[5], ARGV[6], ARGV[7]
local f = redis.call('HMGET', item(id), 'st', 'a', 'p')
if f[1] ~= 'l' or f[2] ~= attempts then return 0 end
if retry_at == '' then
  bury(id, reason, err, now)
  return 1
end
redis.call('ZREM', P .. ':leased', id)
redis.call('HSET', item(id), 'st', 'w', 'l', err)
redis.call('SADD', P .. ':retrying', id)
if tonumber(retry_at) > tonumber(now) then
  redis.call('ZADD', P .. ':delayed', retry_at, id)
else
  redis.call('ZADD', P .. ':ready:' .. f[3], tonumber(id), id)
end
return 1
"""
)

_DEAD_IDS = """
local ids = {}
if #ARGV == 1 then
  ids = redis.call('ZRANGE', P .. ':dead', 0, -1)
else
  for i = 2, #ARGV do
    if redis.call('ZSCORE', P .. ':dead', ARGV[i]) then ids[#ids + 1] = ARGV[i] end
  end
end
"""

REPLAY = (
    _COMMON
    + _DEAD_IDS
    + """
for _, id in ipairs(ids) do
  redis.call('ZREM', P .. ':dead', id)
  redis.call('HSET', item(id), 'a', 0, 'r', '', 'x', '')
  make_ready(id, redis.call('HGET', item(id), 'p'))
end
return #ids
"""
)

PURGE = (
    _COMMON
    + _DEAD_IDS
    + """
for _, id in ipairs(ids) do
  redis.call('ZREM', P .. ':dead', id)
  redis.call('DEL', item(id))
end
return #ids
"""
)

BACKLOG = (
    _COMMON
    + """
housekeep(ARGV[2], tonumber(ARGV[3]))
local out = {}
for pr = 0, 3 do out[#out + 1] = redis.call('ZCARD', P .. ':ready:' .. pr) end
for _, name in ipairs({'delayed', 'leased', 'retrying', 'dead'}) do
  local kind = name == 'retrying' and 'SCARD' or 'ZCARD'
  out[#out + 1] = redis.call(kind, P .. ':' .. name)
end
return out
"""
)
