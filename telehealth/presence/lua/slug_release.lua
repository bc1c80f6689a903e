-- Free a slug (KEYS[1]) if it points at the room ARGV[1]; never another room's.
-- Returns 1 when freed, 0 when it was not this room's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
