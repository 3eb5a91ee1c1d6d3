--[[
  A fleet-wide circuit breaker: asks whether a call may go out, or records a call's outcome.

  KEYS[1]  the breaker's hash: state (closed | open | half_open), reopen_at (ms), probe (owner of
           the half-open probe), probe_until (ms), consecutive (failures in a row), opened_at,
           and the rolling window as buckets s<i> / f<i> / e<i> (successes, failures, bucket number)

  ARGV[1]  'allow' or 'record'
  ARGV[2]  now (ms), or empty for Redis's clock (TIME)
  ARGV[3]  caller token (the probe's owner when it is granted)
  ARGV[4]  for record: 'success', 'failure' or 'neutral' (neutral: no verdict, such as a 429)
  ARGV[5]  window (ms)          ARGV[6]  buckets in the window
  ARGV[7]  minimum calls        ARGV[8]  failure ratio (0..1)
  ARGV[9]  consecutive failures that open it
  ARGV[10] cool-down (ms)       ARGV[11] probe timeout (ms): a probe that never reports frees the slot

  allow  -> {1, 'closed'} | {1, 'probe'} | {0, 'open', reopen_at} | {0, 'half_open', probe_until}
  record -> {state after, 1 when the state changed (else 0)}
]]
local key = KEYS[1]
local now = tonumber(ARGV[2])
if not now then
  -- No clock given: Redis's own, the one clock every replica shares.
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local token = ARGV[3]
local state = redis.call('HGET', key, 'state') or 'closed'

if ARGV[1] == 'allow' then
  if state == 'closed' then return {1, 'closed'} end
  if state == 'open' then
    local reopen = tonumber(redis.call('HGET', key, 'reopen_at') or '0')
    if now < reopen then return {0, 'open', reopen} end
    redis.call('HSET', key, 'state', 'half_open', 'probe', token, 'probe_until', now + tonumber(ARGV[11]))
    return {1, 'probe'}
  end
  -- half_open: one probe in the whole fleet; a probe that vanished frees the slot.
  local probeUntil = tonumber(redis.call('HGET', key, 'probe_until') or '0')
  if now >= probeUntil then
    redis.call('HSET', key, 'probe', token, 'probe_until', now + tonumber(ARGV[11]))
    return {1, 'probe'}
  end
  return {0, 'half_open', probeUntil}
end

local outcome = ARGV[4]
local cooldown = tonumber(ARGV[10])
if state == 'half_open' then
  if redis.call('HGET', key, 'probe') ~= token or outcome == 'neutral' then
    if outcome == 'neutral' and redis.call('HGET', key, 'probe') == token then
      -- No verdict: let the next caller probe.
      redis.call('HSET', key, 'probe_until', 0)
    end
    return {state, 0}
  end
  if outcome == 'success' then
    redis.call('DEL', key)
    redis.call('HSET', key, 'state', 'closed', 'changed_at', now)
    return {'closed', 1}
  end
  redis.call('HSET', key, 'state', 'open', 'reopen_at', now + cooldown, 'opened_at', now, 'changed_at', now, 'probe', '')
  return {'open', 1}
end
if state == 'open' or outcome == 'neutral' then return {state, 0} end

-- closed: count the call in its bucket, then test the thresholds.
local buckets = tonumber(ARGV[6])
local width = math.floor(tonumber(ARGV[5]) / buckets)
local current = math.floor(now / width)
local slot = current % buckets
if tonumber(redis.call('HGET', key, 'e' .. slot) or '-1') ~= current then
  redis.call('HSET', key, 'e' .. slot, current, 's' .. slot, 0, 'f' .. slot, 0)
end
local consecutive
if outcome == 'success' then
  redis.call('HINCRBY', key, 's' .. slot, 1)
  redis.call('HSET', key, 'consecutive', 0)
  consecutive = 0
else
  redis.call('HINCRBY', key, 'f' .. slot, 1)
  consecutive = redis.call('HINCRBY', key, 'consecutive', 1)
end
local successes, failures = 0, 0
for i = 0, buckets - 1 do
  local epoch = tonumber(redis.call('HGET', key, 'e' .. i) or '-1')
  if epoch > current - buckets then
    successes = successes + tonumber(redis.call('HGET', key, 's' .. i) or '0')
    failures = failures + tonumber(redis.call('HGET', key, 'f' .. i) or '0')
  end
end
local calls = successes + failures
if consecutive >= tonumber(ARGV[9]) or (calls >= tonumber(ARGV[7]) and failures >= tonumber(ARGV[8]) * calls) then
  redis.call('DEL', key)
  redis.call('HSET', key, 'state', 'open', 'reopen_at', now + cooldown, 'opened_at', now, 'changed_at', now,
    'last_failures', failures, 'last_calls', calls)
  return {'open', 1}
end
return {'closed', 0}
