--[[
  Recovers jobs whose lease expired (their worker was killed, its machine vanished, or it hung):
  each goes back to the front of its priority list, unless its lease has now expired more times
  than allowed, in which case it is a poison pill and waits in the poisoned set for the caller
  to dead-letter it with its story.

  KEYS[1]     in-flight sorted set: "<id>|<token>" -> lease deadline (ms)
  KEYS[2]     jobs hash: id -> envelope JSON
  KEYS[3..6]  the priority lists: critical, high, normal, low
  KEYS[7]     recoveries hash: id -> times its lease expired
  KEYS[8]     poisoned sorted set
  KEYS[9]     wake-up list

  ARGV[1]     now (ms)
  ARGV[2]     most jobs to look at in this call
  ARGV[3]     recoveries allowed before a job counts as a poison pill

  Returns {number requeued, number poisoned}.
]]
local priorities = {critical = 3, high = 4, normal = 5, low = 6}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local allowed = tonumber(ARGV[3])
local requeued, poisoned = 0, 0
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  local id = string.match(member, '^([^|]*)|')
  local envelope = id and redis.call('HGET', KEYS[2], id)
  if envelope then
    if redis.call('HINCRBY', KEYS[7], id, 1) > allowed then
      redis.call('ZADD', KEYS[8], ARGV[1], id)
      poisoned = poisoned + 1
    else
      local list = priorities[cjson.decode(envelope).priority] or 5
      -- RPUSH: the fetch end, so a recovered job runs next rather than after the backlog.
      redis.call('RPUSH', KEYS[list], id)
      requeued = requeued + 1
    end
  end
end
if requeued > 0 then
  for _ = 1, math.min(requeued, 64) do redis.call('LPUSH', KEYS[9], '1') end
  redis.call('LTRIM', KEYS[9], 0, 63)
end
return {requeued, poisoned}
