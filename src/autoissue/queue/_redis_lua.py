"""The Lua scripts behind the Redis backend: each queue step is one script, hence atomic.

Keys, under the queue's prefix ``P`` (ids are decimal strings from ``P:seq``)::

    P:item:<id>     hash  p priority, a attempts, e enqueued_at, k key, d payload, x expires_at,
                          g group ('' or absent: the implicit group), st state (w waiting,
                          l leased, d dead), r reason, l last error, t dead_at
    P:ready:<p>     zset  ready ids of priority p in the implicit group, scored by id: FIFO
    P:ready:<p>:<g> zset  ready ids of priority p in group g, scored by id: FIFO by first put
    P:groups:<p>    zset  the groups of priority p with ready ids, all scored 0: in name order
    P:rotation      hash  priority -> the group that priority served last
    P:delayed     zset   waiting ids not visible yet, scored by ready time
    P:leased      zset   leased ids, scored by lease deadline
    P:ttl         zset   ids with a TTL, scored by expiry
    P:dead        zset   dead letters, scored by time of death
    P:retrying    set    waiting ids that were tried before
    P:keys        set    idempotency keys ever enqueued

A group is in ``P:groups:<p>`` exactly while its ready set is not empty: every script that
readies an id adds its group, and every one that takes ids out drops the groups it emptied.
A claim serves each priority's groups round-robin (:data:`CLAIM`); the implicit group's set
keeps the name ``P:ready:<p>`` of the queue before groups, whose ready ids :data:`UPGRADE`
enrols in ``P:groups:<p>``.

Scripts build key names from the prefix, so this backend wants one Redis server (or a
cluster with the whole prefix in one hash slot, e.g. ``{autoissue}``).
"""

from __future__ import annotations

_COMMON = """
local P = ARGV[1]
local function item(id) return P .. ':item:' .. id end

local function ready_key(pr, g)
  if g == '' then return P .. ':ready:' .. pr end
  return P .. ':ready:' .. pr .. ':' .. g
end

local function forget_if_empty(pr, g)
  if redis.call('EXISTS', ready_key(pr, g)) == 0 then
    redis.call('ZREM', P .. ':groups:' .. pr, g)
  end
end

local function bury(id, reason, err, now)
  local h = item(id)
  local f = redis.call('HMGET', h, 'p', 'g')
  if f[1] and redis.call('ZREM', ready_key(f[1], f[2] or ''), id) == 1 then
    forget_if_empty(f[1], f[2] or '')
  end
  redis.call('ZREM', P .. ':delayed', id)
  redis.call('ZREM', P .. ':leased', id)
  redis.call('ZREM', P .. ':ttl', id)
  redis.call('SREM', P .. ':retrying', id)
  redis.call('HSET', h, 'st', 'd', 'r', reason, 't', now)
  if err then redis.call('HSET', h, 'l', err) end
  redis.call('ZADD', P .. ':dead', now, id)
end

local function enqueue(id, pr, g)
  redis.call('ZADD', ready_key(pr, g), tonumber(id), id)
  redis.call('ZADD', P .. ':groups:' .. pr, 0, g)
end

local function make_ready(id)
  local f = redis.call('HMGET', item(id), 'p', 'g')
  if not f[1] then return false end
  redis.call('HSET', item(id), 'st', 'w')
  enqueue(id, f[1], f[2] or '')
  return true
end

local function housekeep(now, max_attempts)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':delayed', '-inf', now)) do
    redis.call('ZREM', P .. ':delayed', id)
    make_ready(id)
  end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':leased', '-inf', now)) do
    local f = redis.call('HMGET', item(id), 'p', 'a')
    redis.call('ZREM', P .. ':leased', id)
    if f[1] and tonumber(f[2]) >= max_attempts then
      bury(id, 'lease expired on all ' .. f[2] .. ' attempts', false, now)
    elseif make_ready(id) then
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
for i = 3, #ARGV, 6 do
  local key, pr, expires, ready_at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local g = ARGV[i + 5]
  if key ~= '' and redis.call('SADD', P .. ':keys', key) == 0 then
    out[#out + 1] = false
  else
    local id = tostring(redis.call('INCR', P .. ':seq'))
    redis.call('HSET', item(id), 'p', pr, 'a', 0, 'e', now, 'k', key, 'd', ARGV[i + 4],
               'x', expires, 'g', g, 'st', 'w')
    if expires ~= '' then redis.call('ZADD', P .. ':ttl', expires, id) end
    if tonumber(ready_at) > tonumber(now) then
      redis.call('ZADD', P .. ':delayed', ready_at, id)
    else
      enqueue(id, pr, g)
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

-- A priority's rotation: its groups in name order from just after the one it served last,
-- round to it. n names are enough: each listed group has a ready id, so one round of them
-- fills the claim. With at most n groups, all are listed and the walk starts at the first
-- after the cursor (ZLEXCOUNT, not Lua's locale-bound string order, says which).
local lanes = {}
local function lane(pr)
  if lanes[pr] then return lanes[pr] end
  local groups = P .. ':groups:' .. pr
  local names = redis.call('ZRANGE', groups, 0, n)
  local cursor, at = false, 1
  if #names > 0 then cursor = redis.call('HGET', P .. ':rotation', pr) end
  if cursor and #names > n then
    names = redis.call('ZRANGEBYLEX', groups, '(' .. cursor, '+', 'LIMIT', 0, n)
    if #names < n then
      local rest = redis.call('ZRANGEBYLEX', groups, '-', '[' .. cursor, 'LIMIT', 0, n - #names)
      for _, g in ipairs(rest) do names[#names + 1] = g end
    end
  elseif cursor and #names > 1 then
    at = redis.call('ZLEXCOUNT', groups, '-', '[' .. cursor) + 1
  end
  lanes[pr] = {names = names, at = at, start = cursor, cursor = cursor, touched = {}}
  return lanes[pr]
end

local function take(pr)
  local l = lane(pr)
  while #l.names > 0 do
    if l.at > #l.names then l.at = 1 end
    local g = l.names[l.at]
    local got = redis.call('ZPOPMIN', ready_key(pr, g))
    if got[1] then
      l.touched[g], l.cursor, l.at = true, g, l.at + 1
      return got[1]
    end
    table.remove(l.names, l.at)
    redis.call('ZREM', P .. ':groups:' .. pr, g)
  end
  return nil
end

local function pop(slot)
  for _, pr in ipairs(order(slot)) do
    local id = take(pr)
    if id then return id end
  end
  return nil
end

-- Each lease is 4 values: id, "priority attempts enqueued_at group", key, payload. Packing
-- the small fields in one string saves the client parsing three replies per item.
local out, slot = {}, tick
while #out < n * 4 do
  local id = pop(slot)
  if not id then break end
  local f = redis.call('HMGET', item(id), 'p', 'e', 'k', 'd', 'g')
  if not (f[1] and f[2] and f[4]) then
    -- A damaged item must not stop the run: it goes to the dead letters for a human.
    bury(id, 'corrupt item', 'missing fields', now)
  else
    local attempts = redis.call('HINCRBY', item(id), 'a', 1)
    redis.call('HSET', item(id), 'st', 'l')
    redis.call('SREM', P .. ':retrying', id)
    redis.call('ZADD', P .. ':leased', lease_until, id)
    local header = f[1] .. ' ' .. attempts .. ' ' .. f[2] .. ' ' .. (f[5] or '')
    for _, v in ipairs({id, header, f[3], f[4]}) do out[#out + 1] = v end
    slot = slot + 1
  end
end

for pr, l in pairs(lanes) do
  for g in pairs(l.touched) do forget_if_empty(pr, g) end
  if l.cursor ~= l.start then redis.call('HSET', P .. ':rotation', pr, l.cursor) end
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
local f = redis.call('HMGET', item(id), 'st', 'a', 'p', 'g')
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
  enqueue(id, f[3], f[4] or '')
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
  make_ready(id)
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
for pr = 0, 3 do
  local count = 0
  for _, g in ipairs(redis.call('ZRANGE', P .. ':groups:' .. pr, 0, -1)) do
    count = count + redis.call('ZCARD', ready_key(pr, g))
  end
  out[#out + 1] = count
end
for _, name in ipairs({'delayed', 'leased', 'retrying', 'dead'}) do
  local kind = name == 'retrying' and 'SCARD' or 'ZCARD'
  out[#out + 1] = redis.call(kind, P .. ':' .. name)
end
return out
"""
)

UPGRADE = (
    _COMMON
    + """
for pr = 0, 3 do
  if redis.call('EXISTS', ready_key(pr, '')) == 1 then
    redis.call('ZADD', P .. ':groups:' .. pr, 0, '')
  end
end
return 1
"""
)
