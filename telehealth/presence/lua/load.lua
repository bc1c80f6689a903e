-- Read a room's version and participants in one consistent step.
-- KEYS[1] = participants HASH, KEYS[2] = version STRING (same hash tag)
-- Returns {version, {pid, json, pid, json, ...}}.
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('HGETALL', KEYS[1])}
