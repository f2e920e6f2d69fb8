"""The Lua scripts behind `RedisQuotaStore`: each operation is one script, so it is atomic.

Time comes from `redis.call('TIME')` inside each script: one clock for every replica. Times are
integer microseconds (GCRA) or milliseconds (leases), exact in Lua's doubles (< 2^53); numbers
written back are formatted with `%d`, because Redis would otherwise print large ones as `1.7e+15`.
Keys whose window number is only known inside the script are built there from a key base
passed in KEYS (`base .. ':' .. window`), which is fine for a single Redis, not for a cluster.
"""

from __future__ import annotations

_PRELUDE = """
local function fmt(x) return string.format('%d', x) end
local function now_s_us()
  local t = redis.call('TIME')
  local s = tonumber(t[1])
  return s, s * 1000000 + tonumber(t[2])
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expire_at_last_score(key)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIREAT', key, fmt(tonumber(last[2]))) end
end
"""

GCRA = (
    _PRELUDE
    + """
-- KEYS[i]: the TAT of limit i; ARGV[2i-1], ARGV[2i]: its emission interval (us) and count.
-- Returns {allowed, refusing index (0 = none), retry after (us), reset of each limit (us)...}.
local _, now = now_s_us()
local tats = {}
local refused, retry = 0, 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local count = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or 0)
  if tat < now then tat = now end
  tats[i] = tat
  local wait = tat - now - (count - 1) * interval
  if wait > retry then
    retry = wait
    refused = i
  end
end
if refused == 0 then
  for i = 1, #KEYS do
    tats[i] = tats[i] + tonumber(ARGV[2 * i - 1])
    redis.call('SET', KEYS[i], fmt(tats[i]), 'PXAT', fmt(math.ceil(tats[i] / 1000)))
  end
end
local result = {refused == 0 and 1 or 0, refused, retry}
for i = 1, #KEYS do result[3 + i] = tats[i] - now end
return result
"""
)

RESERVE_TOKENS = (
    _PRELUDE
    + """
-- KEYS[i]: the window key base of limit i; ARGV[1]: amount; ARGV[2i], ARGV[2i+1]: its count
-- and period (s). Returns {allowed, refusing index, retry after (us), now (us),
-- then window and used for each limit...}.
local sec, now = now_s_us()
local amount = tonumber(ARGV[1])
local keys, windows, used = {}, {}, {}
local refused, retry = 0, -1
for i = 1, #KEYS do
  local count = tonumber(ARGV[2 * i])
  local period = tonumber(ARGV[2 * i + 1])
  windows[i] = math.floor(sec / period)
  keys[i] = KEYS[i] .. ':' .. fmt(windows[i])
  used[i] = tonumber(redis.call('GET', keys[i]) or 0)
  if used[i] + amount > count then
    local wait = (windows[i] + 1) * period * 1000000 - now
    if wait > retry then
      retry = wait
      refused = i
    end
  end
end
if refused == 0 then
  for i = 1, #KEYS do
    local period = tonumber(ARGV[2 * i + 1])
    used[i] = redis.call('INCRBY', keys[i], amount)
    redis.call('PEXPIREAT', keys[i], fmt((windows[i] + 2) * period * 1000))
  end
end
local result = {refused == 0 and 1 or 0, refused, math.max(retry, 0), now}
for i = 1, #KEYS do
  result[#result + 1] = windows[i]
  result[#result + 1] = used[i]
end
return result
"""
)

SETTLE_TOKENS = (
    _PRELUDE
    + """
-- KEYS[i]: a window key; ARGV[1]: delta; ARGV[2]: overdraft; ARGV[2i+1], ARGV[2i+2]: the
-- second its window ends and its count. A window that has ended, or whose key is gone, is
-- left alone; values never go below 0, and a charge takes a window at most `overdraft` past
-- its count (the rule of `limit_math.settled_tokens`).
local sec = now_s_us()
local delta = tonumber(ARGV[1])
local overdraft = tonumber(ARGV[2])
for i = 1, #KEYS do
  if sec < tonumber(ARGV[2 * i + 1]) then
    local value = redis.call('GET', KEYS[i])
    if value then
      local used = tonumber(value)
      local settled = math.max(used + delta, 0)
      if delta > 0 then
        settled = math.max(used, math.min(settled, tonumber(ARGV[2 * i + 2]) + overdraft))
      end
      redis.call('SET', KEYS[i], fmt(settled), 'KEEPTTL')
    end
  end
end
return 0
"""
)

ACQUIRE_LEASE = (
    _PRELUDE
    + """
-- KEYS[1]: the subject's lease zset; ARGV: cap, lease id, ttl (ms).
-- A lease id that is already live is renewed and granted (a retried acquire is idempotent).
local now = now_ms()
local key = KEYS[1]
redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now))
local granted = 0
if redis.call('ZSCORE', key, ARGV[2]) or redis.call('ZCARD', key) < tonumber(ARGV[1]) then
  redis.call('ZADD', key, fmt(now + tonumber(ARGV[3])), ARGV[2])
  granted = 1
end
expire_at_last_score(key)
return {granted, redis.call('ZCARD', key)}
"""
)

RENEW_LEASES = (
    _PRELUDE
    + """
-- KEYS[i]: a subject's lease zset; ARGV[1]: ttl (ms); then for each key the number of its
-- lease ids followed by the ids. Only live leases are extended (ZADD XX after pruning).
local now = now_ms()
local expiry = fmt(now + tonumber(ARGV[1]))
local pos = 2
for i = 1, #KEYS do
  local n = tonumber(ARGV[pos])
  pos = pos + 1
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', fmt(now))
  for _ = 1, n do
    redis.call('ZADD', KEYS[i], 'XX', expiry, ARGV[pos])
    pos = pos + 1
  end
  expire_at_last_score(KEYS[i])
end
return 0
"""
)

RECORD_USAGE = (
    _PRELUDE
    + """
-- KEYS[1]: the total hash; KEYS[i+1]: the window key base of period i, ARGV[i] that period (s);
-- the remaining ARGV are field/increment pairs added to the total and every current window.
local sec = now_s_us()
local periods = #KEYS - 1
local function add(key)
  for j = periods + 1, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[j], ARGV[j + 1]) end
end
add(KEYS[1])
for i = 1, periods do
  local period = tonumber(ARGV[i])
  local window = math.floor(sec / period)
  local key = KEYS[i + 1] .. ':' .. fmt(window)
  add(key)
  redis.call('PEXPIREAT', key, fmt((window + 2) * period * 1000))
end
return 0
"""
)

READ_USAGE = (
    _PRELUDE
    + """
-- KEYS as for recording. Returns {total fields, then window and fields for each period...}.
local sec = now_s_us()
local result = {redis.call('HGETALL', KEYS[1])}
for i = 1, #KEYS - 1 do
  local window = math.floor(sec / tonumber(ARGV[i]))
  result[#result + 1] = window
  result[#result + 1] = redis.call('HGETALL', KEYS[i + 1] .. ':' .. fmt(window))
end
return result
"""
)
