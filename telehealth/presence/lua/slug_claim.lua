-- Claim a room link's slug (KEYS[1]) for the room ARGV[1], for ARGV[2] ms while the room's own
-- record is written (the caller persists it after: lua/slug_keep.lua).
-- It is free, or already points at this room: claimed. It points at ARGV[3], a room whose
-- record the caller found not to name it, and carries no TTL (no claim in flight): an orphan
-- left by a crash between the two steps, taken over.
-- Returns {1} when claimed, else {0, owner, pttl}.
local owner = redis.call('GET', KEYS[1])
if (not owner) or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
local pttl = redis.call('PTTL', KEYS[1])
if ARGV[3] ~= '' and owner == ARGV[3] and pttl == -1 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
return {0, owner, pttl}
