--[[
  Extends a lock, only while this holder still has it (never takes it back once it expired:
  a new holder may have a newer fence by then).

  KEYS[1]  the lock
  ARGV[1]  the holder's value "<owner>|<fence>"
  ARGV[2]  TTL (ms)

  Returns 1 when extended, 0 when the lock is gone or someone else's.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
