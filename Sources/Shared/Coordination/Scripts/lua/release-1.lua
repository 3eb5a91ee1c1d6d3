--[[
  Gives a lease up, only if the caller still holds it (a paused former holder cannot delete its
  successor's lease).

  KEYS[1]     the lease key
  ARGV[1]     owner id

  Returns 1 when released, 0 when the caller did not hold it.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
