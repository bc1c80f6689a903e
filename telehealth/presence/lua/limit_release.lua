-- Give back one place counted in KEYS[1]; the key goes once nothing is held.
local n = redis.call('DECR', KEYS[1])
if n <= 0 then
  redis.call('DEL', KEYS[1])
end
return n
