--[[
  Takes up to N ready jobs, highest priority first, and leases them: each enters the in-flight
  set as the member "<id>|<lease token>", scored by its lease deadline. Ack, fail, renew and hand
  back name that exact member, so removing it is the proof of holding the lease.

  KEYS[1..4]  the priority lists: critical, high, normal, low
  KEYS[5]     in-flight sorted set: "<id>|<token>" -> lease deadline (ms)
  KEYS[6]     jobs hash: id -> envelope JSON
  KEYS[7]     stats hash (its fetch_calls counter makes tokens unique and drives the starvation guard)

  ARGV[1]     now (ms)
  ARGV[2]     lease (ms)
  ARGV[3]     most jobs to take
  ARGV[4]     token prefix naming the processor (for people reading the in-flight set); the
              token's uniqueness comes from the fetch_calls counter, not from the caller
  ARGV[5]     starvation guard: every K-th call looks at the lists lowest priority first, so
              low (then normal) still progress under a flood of critical jobs; 0 turns it off

  Returns a flat array: id, token, envelope, id, token, envelope, ...
]]
local call = redis.call('HINCRBY', KEYS[7], 'fetch_calls', 1)
local deadline = tonumber(ARGV[1]) + tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local every = tonumber(ARGV[5])
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
    local envelope = redis.call('HGET', KEYS[6], id)
    -- An id whose body is gone was purged or already finished; drop it.
    if envelope then
      taken = taken + 1
      local token = ARGV[4] .. ':' .. call .. ':' .. taken
      redis.call('ZADD', KEYS[5], deadline, id .. '|' .. token)
      result[#result + 1] = id
      result[#result + 1] = token
      result[#result + 1] = envelope
    end
  end
  if taken >= wanted then break end
end
return result
