--[[
  Acknowledges finished jobs: removes them from the in-flight set and deletes their bodies.

  KEYS[1]     in-flight sorted set: "<id>|<token>" -> lease deadline
  KEYS[2]     jobs hash: id -> envelope JSON
  KEYS[3]     recoveries hash: id -> times its lease expired
  KEYS[4]     stats hash

  ARGV[1..]   pairs of id, token

  Returns, per pair, 1 (acknowledged) or 0 (the lease was lost meanwhile: the job is someone
  else's now, and their acknowledgement counts).
]]
local result = {}
local acked = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('ZREM', KEYS[1], id .. '|' .. ARGV[i + 1]) == 1 then
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    acked = acked + 1
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
if acked > 0 then redis.call('HINCRBY', KEYS[4], 'processed', acked) end
return result
