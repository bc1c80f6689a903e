-- Compare-and-set a room's changed participants, and append the change's events to the room's
-- stream in the same step: the change and its events happen together or not at all.
-- KEYS[1] = participants HASH, KEYS[2] = version STRING, KEYS[3] = events STREAM,
-- KEYS[4] = chain head STRING (all one hash tag)
-- ARGV[1] = expected version, ARGV[2] = room retention (ms), ARGV[3] = events kept per room,
-- ARGV[4] = event retention (ms), ARGV[5] = expected chain head ("SEQ:HASH" or ""),
-- ARGV[6] = the head after the events, ARGV[7] = number of events N,
-- ARGV[8..7+2N] = (entry JSON, its hash) pairs, then pid, participant JSON pairs.
-- Returns {1, new version}; {-1, 0} when the room moved on since it was read; {-2, head} when
-- only the chain head moved (an audited action was appended): re-link the entries and retry.
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) then
  return {-1, 0}
end
local head = redis.call('GET', KEYS[4]) or ''
if head ~= ARGV[5] then
  return {-2, head}
end
local n = tonumber(ARGV[7])
for i = 8 + 2 * n, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local version = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if n > 0 then
  for i = 8, 6 + 2 * n, 2 do
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[i], 'h', ARGV[i + 1])
  end
  local t = redis.call('TIME')
  local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[4])
  redis.call('XTRIM', KEYS[3], 'MINID', '~', oldest)
  redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return {1, version}
