--[[
  Takes a fleet-wide lock, with a fencing token.

  KEYS[1]  the lock: value "<owner>|<fence>", expiring after the TTL unless renewed
  KEYS[2]  the lock's fence counter (never expires, only grows)

  ARGV[1]  owner token (random, unique per attempt)
  ARGV[2]  TTL (ms)

  Returns {1, fence} when taken (fence is larger than any earlier holder's), or {0, ms until the
  current holder's lock expires} when someone else holds it.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, redis.call('PTTL', KEYS[1])}
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return {1, fence}
