-- Keep a claimed slug (KEYS[1]) for good, if it still points at the room ARGV[1].
-- Returns 1 when kept, 0 when the claim lapsed (another room may hold it now).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PERSIST', KEYS[1])
  return 1
end
return 0
