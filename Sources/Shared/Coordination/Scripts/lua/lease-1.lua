--[[
  Takes or keeps a lease (the scheduler's leadership): the owner renews it, anyone takes it when
  it is free, nobody takes it from a live holder.

  KEYS[1]     the lease key
  ARGV[1]     owner id
  ARGV[2]     lease length (ms)

  Returns 1 when ARGV[1] holds the lease now, else 0.
]]
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
