-- Lock (ARGV[1] == "1") or unlock a room's link (KEYS[1], a HASH), if it has one.
-- ARGV[2], ARGV[3]: who (a token subject) and when (ms). Returns 1 when set, 0 for no link.
if redis.call('HEXISTS', KEYS[1], 'slug') == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'locked', ARGV[1], 'by', ARGV[2], 'at', ARGV[3])
return 1
