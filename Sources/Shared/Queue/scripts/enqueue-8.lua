--[[
  Enqueues a batch of jobs, each optionally deduplicated, now or after a delay.

  KEYS[1..4]  the priority lists: critical, high, normal, low (jobs are LPUSHed, fetched from the right)
  KEYS[5]     jobs hash: id -> envelope JSON
  KEYS[6]     delayed sorted set: id -> due time (ms)
  KEYS[7]     wake-up list that idle processors block on
  KEYS[8]     stats hash
  KEYS[9..]   one dedupe key per job that has one, in job order

  ARGV[1]     now (ms since the epoch)
  ARGV[2]     number of jobs n
  then, per job, 6 values:
              id, priority index (1-4), envelope JSON, delay ms (0: ready now),
              "1" when the job has a dedupe key (else "0"), dedupe TTL ms

  Returns an array with, per job, 1 (enqueued) or 0 (a job with the same dedupe key exists).
  The envelope is stored as given: Lua never re-encodes it.
]]
local now = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local result = {}
local nextDedupeKey = 9
local ready = 0
local accepted = 0
for i = 0, count - 1 do
  local base = 3 + i * 6
  local id = ARGV[base]
  local priority = tonumber(ARGV[base + 1])
  local delay = tonumber(ARGV[base + 3])
  local fresh = true
  if ARGV[base + 4] == '1' then
    fresh = redis.call('SET', KEYS[nextDedupeKey], id, 'NX', 'PX', ARGV[base + 5])
    nextDedupeKey = nextDedupeKey + 1
  end
  if fresh then
    redis.call('HSET', KEYS[5], id, ARGV[base + 2])
    if delay > 0 then
      redis.call('ZADD', KEYS[6], now + delay, id)
    else
      redis.call('LPUSH', KEYS[priority], id)
      ready = ready + 1
    end
    accepted = accepted + 1
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
if ready > 0 then
  -- One token per ready job (at most 64): each wakes one idle processor.
  for _ = 1, math.min(ready, 64) do redis.call('LPUSH', KEYS[7], '1') end
  redis.call('LTRIM', KEYS[7], 0, 63)
end
if accepted > 0 then redis.call('HINCRBY', KEYS[8], 'enqueued', accepted) end
return result
