--[[
  Ends one attempt that did not succeed: the job waits in the delayed set (retry, or reschedule
  without spending an attempt) or goes to the dead letters. The caller has already written the
  new envelope (attempt count, error history); Lua stores it as given.

  KEYS[1]     in-flight sorted set: "<id>|<token>" -> lease deadline
  KEYS[2]     jobs hash: id -> envelope JSON
  KEYS[3]     delayed sorted set: id -> due time (ms)
  KEYS[4]     dead letters sorted set: envelope JSON -> time of death (ms)
  KEYS[5]     dead letter index hash: id -> envelope JSON (the member in KEYS[4])
  KEYS[6]     stats hash
  KEYS[7]     recoveries hash: id -> times its lease expired
  KEYS[8]     poisoned sorted set: ids whose lease expired too often, waiting to be dead-lettered

  ARGV[1]     now (ms)
  ARGV[2]     job id
  ARGV[3]     lease token; empty for a poisoned job, which has no lease any more
  ARGV[4]     "retry", "reschedule" or "dead"
  ARGV[5]     due time (ms) for retry and reschedule
  ARGV[6]     the job's new envelope JSON
  ARGV[7]     dead letters kept at most (count)
  ARGV[8]     dead letters kept at most (age, ms)

  Returns 1, or 0 when the lease was lost (nothing changes: the job belongs to another processor).
]]
local now = tonumber(ARGV[1])
local id = ARGV[2]
if ARGV[3] ~= '' then
  if redis.call('ZREM', KEYS[1], id .. '|' .. ARGV[3]) == 0 then return 0 end
elseif redis.call('ZREM', KEYS[8], id) == 0 then
  return 0
end
local action = ARGV[4]
if action ~= 'dead' then
  redis.call('HSET', KEYS[2], id, ARGV[6])
  redis.call('ZADD', KEYS[3], tonumber(ARGV[5]), id)
  redis.call('HINCRBY', KEYS[6], action == 'retry' and 'retried' or 'rescheduled', 1)
  return 1
end

redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[7], id)
local previous = redis.call('HGET', KEYS[5], id)
if previous then redis.call('ZREM', KEYS[4], previous) end
redis.call('ZADD', KEYS[4], now, ARGV[6])
redis.call('HSET', KEYS[5], id, ARGV[6])
redis.call('HINCRBY', KEYS[6], 'dead', 1)

-- Keep the dead letters within their caps: drop the oldest beyond the age, then the count.
local function forget(members)
  for _, member in ipairs(members) do
    redis.call('ZREM', KEYS[4], member)
    local ok, decoded = pcall(cjson.decode, member)
    if ok and type(decoded) == 'table' and decoded.id then redis.call('HDEL', KEYS[5], decoded.id) end
  end
end
forget(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. (now - tonumber(ARGV[8])), 'LIMIT', 0, 1000))
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[7])
if excess > 0 then forget(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) end
return 1
