--[[
  Extends the leases of jobs that are still held.

  KEYS[1]     in-flight sorted set: "<id>|<token>" -> lease deadline (ms)

  ARGV[1]     now (ms)
  ARGV[2]     lease (ms)
  ARGV[3..]   pairs of id, token

  Returns, per pair, 1 (renewed) or 0 (the lease is lost: it expired and the job went back to
  its list, or it was handed to another processor). A processor that gets 0 stops that job.
]]
local deadline = tonumber(ARGV[1]) + tonumber(ARGV[2])
local result = {}
for i = 3, #ARGV, 2 do
  local member = ARGV[i] .. '|' .. ARGV[i + 1]
  if redis.call('ZSCORE', KEYS[1], member) then
    redis.call('ZADD', KEYS[1], deadline, member)
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
return result
