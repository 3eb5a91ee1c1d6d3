--[[
  Fleet-wide rate limits: take a slot, give a concurrency slot back, or pause after a 429.
  Several scopes (the provider, the connection) are checked together: a slot is taken in all of
  them or in none.

  KEYS     3 per scope, one scope (3 keys) or two (6 keys): the GCRA theoretical arrival time
           (ms), the sorted set of calls in flight (token -> expiry ms), the pause (a time in ms
           until which no call goes out)

  ARGV[1]  'acquire', 'release' or 'pause'
  ARGV[2]  now (ms), or empty for Redis's clock (TIME)
  ARGV[3]  call token
  acquire: then per scope 3 values: emission interval (ms per call, 0: no rate),
           burst (calls allowed at once), concurrency cap (0: none); then the in-flight TTL (ms)
  pause:   ARGV[4] how long (ms) from now: extends the pause of every scope, never shortens it

  acquire -> {1, the first scope's arrival time after this call (ms; 0 without a rate), now (ms)}
             when taken, else {0, ms since the epoch when to try again, reason}
]]
local op = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  -- No clock given: Redis's own, the one clock every replica shares.
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local token = ARGV[3]
local scopes = #KEYS / 3

if op == 'release' then
  for i = 0, scopes - 1 do redis.call('ZREM', KEYS[i * 3 + 2], token) end
  return {1}
end

if op == 'pause' then
  local untilMs = now + tonumber(ARGV[4])
  for i = 0, scopes - 1 do
    local current = tonumber(redis.call('GET', KEYS[i * 3 + 3]) or '0')
    -- The value decides; the expiry only tidies up (a minute late, so clocks that disagree a
    -- little never end a pause early).
    if untilMs > current then redis.call('SET', KEYS[i * 3 + 3], untilMs, 'PX', math.max(1, untilMs - now) + 60000) end
  end
  return {1}
end

local ttl = tonumber(ARGV[4 + scopes * 3])
local newTats = {}
-- First check every scope; only then take the slots.
for i = 0, scopes - 1 do
  local tatKey, flightKey, pauseKey = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  local interval = tonumber(ARGV[4 + i * 3])
  local burst = tonumber(ARGV[5 + i * 3])
  local cap = tonumber(ARGV[6 + i * 3])
  local paused = tonumber(redis.call('GET', pauseKey) or '0')
  if now < paused then return {0, paused, 'paused'} end
  if cap > 0 then
    redis.call('ZREMRANGEBYSCORE', flightKey, '-inf', now)
    if redis.call('ZCARD', flightKey) >= cap then
      local first = redis.call('ZRANGE', flightKey, 0, 0, 'WITHSCORES')
      -- Retry shortly: a call usually ends long before its slot's safety expiry.
      return {0, math.min(tonumber(first[2]), now + 50), 'concurrency'}
    end
  end
  if interval > 0 then
    local tat = math.max(tonumber(redis.call('GET', tatKey) or '0'), now)
    local allowAt = tat + interval - interval * burst
    if now < allowAt then return {0, allowAt, 'rate'} end
    newTats[i] = tat + interval
  end
end
for i = 0, scopes - 1 do
  local interval = tonumber(ARGV[4 + i * 3])
  -- Kept a minute past the point where it no longer matters, for the same reason.
  if newTats[i] then redis.call('SET', KEYS[i * 3 + 1], newTats[i], 'PX', math.max(1, newTats[i] - now + interval) + 60000) end
  if tonumber(ARGV[6 + i * 3]) > 0 then redis.call('ZADD', KEYS[i * 3 + 2], now + ttl, token) end
end
return {1, newTats[0] or 0, now}
