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

  Only the dedupe check is one call per job: the envelopes go in with one HSET, the ids with one
  LPUSH per priority and one ZADD, since every redis.call (and every command written to the AOF)
  costs more than its arguments. The ingress sends dozens of webhooks per call.
]]
-- Lua's unpack is limited to a few thousand values: larger batches go in slices (of an even
-- count, so field/value and score/member pairs stay together).
local function callSliced(command, key, values)
  for first = 1, #values, 1000 do
    redis.call(command, key, unpack(values, first, math.min(first + 999, #values)))
  end
end

local now = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local result = {}
local nextDedupeKey = 9
local stored = {}
local lists = {{}, {}, {}, {}}
local delayed = {}
local accepted = 0
for i = 0, count - 1 do
  local base = 3 + i * 6
  local id = ARGV[base]
  local fresh = true
  if ARGV[base + 4] == '1' then
    fresh = redis.call('SET', KEYS[nextDedupeKey], id, 'NX', 'PX', ARGV[base + 5])
    nextDedupeKey = nextDedupeKey + 1
  end
  if fresh then
    stored[#stored + 1] = id
    stored[#stored + 1] = ARGV[base + 2]
    local delay = tonumber(ARGV[base + 3])
    if delay > 0 then
      delayed[#delayed + 1] = now + delay
      delayed[#delayed + 1] = id
    else
      local list = lists[tonumber(ARGV[base + 1])]
      list[#list + 1] = id
    end
    accepted = accepted + 1
    result[i + 1] = 1
  else
    result[i + 1] = 0
  end
end
if accepted > 0 then
  callSliced('HSET', KEYS[5], stored)
  if #delayed > 0 then callSliced('ZADD', KEYS[6], delayed) end
  local ready = 0
  for priority = 1, 4 do
    local list = lists[priority]
    if #list > 0 then
      callSliced('LPUSH', KEYS[priority], list)
      ready = ready + #list
    end
  end
  if ready > 0 then
    -- One token per ready job (at most 64): each wakes one idle processor.
    local tokens = {}
    for t = 1, math.min(ready, 64) do tokens[t] = '1' end
    redis.call('LPUSH', KEYS[7], unpack(tokens))
    redis.call('LTRIM', KEYS[7], 0, 63)
  end
  redis.call('HINCRBY', KEYS[8], 'enqueued', accepted)
end
return result
