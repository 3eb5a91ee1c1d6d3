--[[
  Removes the queued jobs (ready, or waiting for a retry or a reschedule; not the running ones)
  of one type and connection, optionally only those of one resource (`payload.resource`).
  It reads every queued id, so it costs in proportion to the queue's length: an ops operation,
  not a hot path.

  KEYS[1..4]  the ready lists, critical to low
  KEYS[5]     delayed sorted set: id -> due time (ms)
  KEYS[6]     jobs hash: id -> envelope JSON

  ARGV[1]     the job type
  ARGV[2]     the connection id
  ARGV[3]     the resource, or '' for every resource

  Returns a flat array: for each job removed, its id and its dedupe key ('' when it had none).
]]
local removed = {}

local function matches(id)
  local text = redis.call('HGET', KEYS[6], id)
  if not text then return false, nil end
  local ok, job = pcall(cjson.decode, text)
  if not ok or type(job) ~= 'table' then return false, nil end
  if job.type ~= ARGV[1] or job.connection ~= ARGV[2] then return false, nil end
  if ARGV[3] ~= '' and (type(job.payload) ~= 'table' or job.payload.resource ~= ARGV[3]) then return false, nil end
  return true, job.dedupe_key
end

local function take(id, key)
  redis.call('HDEL', KEYS[6], id)
  removed[#removed + 1] = id
  removed[#removed + 1] = (type(key) == 'string') and key or ''
end

for i = 1, 4 do
  for _, id in ipairs(redis.call('LRANGE', KEYS[i], 0, -1)) do
    local hit, key = matches(id)
    if hit then
      redis.call('LREM', KEYS[i], 0, id)
      take(id, key)
    end
  end
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  local hit, key = matches(id)
  if hit then
    redis.call('ZREM', KEYS[5], id)
    take(id, key)
  end
end
return removed
