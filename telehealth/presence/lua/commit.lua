-- Compare-and-set a room's changed participants.
-- KEYS[1] = participants HASH, KEYS[2] = version STRING (same hash tag)
-- ARGV[1] = expected version, ARGV[2] = retention (ms), ARGV[3..] = pid, participant JSON pairs
-- Returns the new version, or -1 when the room moved on since it was read.
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) then
  return -1
end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local version = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return version
