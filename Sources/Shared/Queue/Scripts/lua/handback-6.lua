--[[
  Hands leased jobs back unfinished (graceful shutdown past its grace period, or jobs fetched in
  a batch that a stopping processor will not start): each returns to the front of its list at
  once, without counting as a failed attempt or a lease expiry.

  KEYS[1]     in-flight sorted set: "<id>|<token>" -> lease deadline
  KEYS[2]     jobs hash: id -> envelope JSON
  KEYS[3..6]  the priority lists: critical, high, normal, low

  ARGV[1..]   pairs of id, token

  Returns the number of jobs handed back (a job whose lease was already lost is left alone).
]]
local priorities = {critical = 3, high = 4, normal = 5, low = 6}
local returned = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('ZREM', KEYS[1], id .. '|' .. ARGV[i + 1]) == 1 then
    local envelope = redis.call('HGET', KEYS[2], id)
    if envelope then
      redis.call('RPUSH', KEYS[priorities[cjson.decode(envelope).priority] or 5], id)
      returned = returned + 1
    end
  end
end
return returned
