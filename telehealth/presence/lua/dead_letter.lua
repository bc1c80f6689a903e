-- Keep a webhook dead letter: newest first, at most a given number (the oldest dropped).
-- KEYS[1] = dead letters LIST
-- ARGV[1] = the letter, ARGV[2] = how many letters to keep
-- Returns 1 when the oldest letter was dropped to make room, else 0.
local length = redis.call('LPUSH', KEYS[1], ARGV[1])
if length > tonumber(ARGV[2]) then
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
  return 1
end
return 0
