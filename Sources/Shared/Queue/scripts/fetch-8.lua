--[[
  Takes up to N ready jobs, highest priority first, and leases them: each moves into the
  in-flight set with a deadline and gets a lease token that ack, fail and renew must present.

  KEYS[1..4]  the priority lists: critical, high, normal, low
  KEYS[5]     in-flight sorted set: id -> lease deadline (ms)
  KEYS[6]     leases hash: id -> lease token
  KEYS[7]     jobs hash: id -> envelope JSON
  KEYS[8]     stats hash (its fetch_calls counter drives the starvation guard)

  ARGV[1]     now (ms)
  ARGV[2]     lease (ms)
  ARGV[3]     most jobs to take
  ARGV[4]     token prefix naming the processor (for people reading the leases hash); the
              token's uniqueness comes from the fetch_calls counter, not from the caller
  ARGV[5]     starvation guard: every K-th call looks at the lists lowest priority first, so
              low (then normal) still progress under a flood of critical jobs; 0 turns it off

  Returns a flat array: id, token, envelope, id, token, envelope, ...
]]
local now = tonumber(ARGV[1])
local deadline = now + tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local every = tonumber(ARGV[5])
local call = redis.call('HINCRBY', KEYS[8], 'fetch_calls', 1)
local order = {1, 2, 3, 4}
if every > 0 and call % every == 0 then
  order = {4, 3, 2, 1}
end
local result = {}
local taken = 0
for _, list in ipairs(order) do
  while taken < wanted do
    local id = redis.call('RPOP', KEYS[list])
    if not id then break end
    local envelope = redis.call('HGET', KEYS[7], id)
    -- An id whose body is gone was purged or already finished; drop it.
    if envelope then
      taken = taken + 1
      local token = ARGV[4] .. ':' .. call .. ':' .. taken
      redis.call('ZADD', KEYS[5], deadline, id)
      redis.call('HSET', KEYS[6], id, token)
      result[#result + 1] = id
      result[#result + 1] = token
      result[#result + 1] = envelope
    end
  end
  if taken >= wanted then break end
end
return result
