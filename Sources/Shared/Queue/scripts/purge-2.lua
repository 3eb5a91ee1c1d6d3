--[[
  Deletes dead letters that died at or before a time.

  KEYS[1]     dead letters sorted set: envelope JSON -> time of death (ms)
  KEYS[2]     dead letter index hash: id -> envelope JSON

  ARGV[1]     delete what died at or before this time (ms); "+inf" for everything
  ARGV[2]     most entries to delete in this call (the caller repeats while it gets a full batch)

  Returns the number deleted.
]]
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(members) do
  redis.call('ZREM', KEYS[1], member)
  local ok, decoded = pcall(cjson.decode, member)
  if ok and type(decoded) == 'table' and decoded.id then redis.call('HDEL', KEYS[2], decoded.id) end
end
return #members
