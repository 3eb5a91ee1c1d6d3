--[[
  Deletes dead letters that died at or before a time.

  KEYS[1]     dead letters sorted set: envelope JSON -> time of death (ms)
  KEYS[2]     dead letter index hash: id -> envelope JSON

  ARGV[1]     delete what died at or before this time (ms); "+inf" for everything
  ARGV[2]     most entries to delete in this call (the caller repeats while it gets a full batch)
  ARGV[3]     then keep at most this many, dropping the oldest (0: no count cap)

  Returns the number deleted.
]]
local limit = tonumber(ARGV[2])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)
local keep = tonumber(ARGV[3] or '0')
if keep > 0 and #members < limit then
  local excess = redis.call('ZCARD', KEYS[1]) - #members - keep
  if excess > 0 then
    for _, member in ipairs(redis.call('ZRANGE', KEYS[1], #members, #members + math.min(excess, limit - #members) - 1)) do
      members[#members + 1] = member
    end
  end
end
for _, member in ipairs(members) do
  redis.call('ZREM', KEYS[1], member)
  local ok, decoded = pcall(cjson.decode, member)
  if ok and type(decoded) == 'table' and decoded.id then redis.call('HDEL', KEYS[2], decoded.id) end
end
return #members
