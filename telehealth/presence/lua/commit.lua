-- Compare-and-set a room's changed participants, and append the change's events to the room's
-- stream in the same step: the change and its events happen together or not at all.
-- KEYS[1] = participants HASH, KEYS[2] = version STRING, KEYS[3] = events STREAM (one hash tag)
-- ARGV[1] = expected version, ARGV[2] = room retention (ms), ARGV[3] = events kept per room,
-- ARGV[4] = event retention (ms), ARGV[5] = number of events N, ARGV[6..5+N] = event JSON,
-- ARGV[6+N..] = pid, participant JSON pairs
-- Returns the new version, or -1 when the room moved on since it was read.
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) then
  return -1
end
local n = tonumber(ARGV[5])
for i = 6 + n, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local version = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if n > 0 then
  for i = 6, 5 + n do
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'v', version, 'e', ARGV[i])
  end
  local t = redis.call('TIME')
  local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[4])
  redis.call('XTRIM', KEYS[3], 'MINID', '~', oldest)
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return version
