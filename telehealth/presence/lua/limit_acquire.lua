-- Take one of ARGV[1] places counted in KEYS[1]; ARGV[2] is the counter's lifetime (ms),
-- renewed on each take, so places held by a node that died fade away.
-- Returns 1 when a place was taken, 0 when all were in use.
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
