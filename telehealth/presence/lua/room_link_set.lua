-- Change a room's link record (KEYS[1], a HASH) if its slug is still ARGV[1] ("" for none):
-- to the slug ARGV[2] (a new link starts unlocked; a changed one keeps its lock), or, for
-- ARGV[2] == "", remove it. ARGV[3], ARGV[4]: who (a token subject) and when (ms).
-- Returns 1 when changed, 0 when the slug was not ARGV[1] (another change got there first).
local current = redis.call('HGET', KEYS[1], 'slug') or ''
if current ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 'slug', ARGV[2], 'by', ARGV[3], 'at', ARGV[4])
if current == '' then
  redis.call('HSET', KEYS[1], 'locked', '0')
end
return 1
