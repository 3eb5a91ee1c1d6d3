--[[
  Puts a dead letter back on its priority list with its attempts reset.

  KEYS[1]     dead letters sorted set: envelope JSON -> time of death
  KEYS[2]     dead letter index hash: id -> envelope JSON
  KEYS[3]     jobs hash
  KEYS[4..7]  the priority lists: critical, high, normal, low
  KEYS[8]     wake-up list

  ARGV[1]     job id
  ARGV[2]     the dead envelope the caller read (the replay happens only if it is still there)
  ARGV[3]     the envelope to run: attempt 1, error history kept
  ARGV[4]     priority index (1-4)

  Returns 1, or 0 when that dead letter is gone (replayed or purged meanwhile).
]]
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], id)
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('LPUSH', KEYS[3 + tonumber(ARGV[4])], id)
redis.call('LPUSH', KEYS[8], '1')
redis.call('LTRIM', KEYS[8], 0, 63)
return 1
