--[[
  Moves delayed jobs whose time has come to the back of their priority list.

  KEYS[1]     delayed sorted set: id -> due time (ms)
  KEYS[2]     jobs hash: id -> envelope JSON
  KEYS[3..6]  the priority lists: critical, high, normal, low
  KEYS[7]     wake-up list

  ARGV[1]     now (ms)
  ARGV[2]     most jobs to move in this call (the caller repeats while it gets a full batch)

  Returns the number of jobs moved.
]]
local priorities = {critical = 3, high = 4, normal = 5, low = 6}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local envelope = redis.call('HGET', KEYS[2], id)
  if envelope then
    -- Decoded only to read the priority; the stored envelope is never re-encoded.
    local list = priorities[cjson.decode(envelope).priority] or 5
    redis.call('LPUSH', KEYS[list], id)
    moved = moved + 1
  end
end
if moved > 0 then
  for _ = 1, math.min(moved, 64) do redis.call('LPUSH', KEYS[7], '1') end
  redis.call('LTRIM', KEYS[7], 0, 63)
end
return moved
