-- Put back a room that Redis lost (a restart without persistence), from a node's last snapshot.
-- KEYS[1] = participants HASH, KEYS[2] = version STRING (same hash tag)
-- ARGV[1] = the snapshot's version, ARGV[2] = retention (ms), ARGV[3..] = pid, JSON pairs
-- Only a snapshot newer than what Redis holds is written, so the newest view of any node wins
-- and a node with an older view never overwrites a newer one. Returns the new version, or -1.
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
local version = tonumber(ARGV[1])
if current >= version then
  return -1
end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('SET', KEYS[2], version)
version = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return version
