-- Append audited actions (not moves) to a room's stream, continuing its hash chain.
-- KEYS[1] = events STREAM, KEYS[2] = chain head STRING (one hash tag)
-- ARGV[1] = events kept per room, ARGV[2] = event retention (ms), ARGV[3] = expected head
-- ("SEQ:HASH" or ""), ARGV[4] = the head after these entries, ARGV[5..] = (entry JSON, its
-- hash) pairs.
-- Returns {1, ''}, or {-2, head} when the head moved since the entries were linked.
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[3] then
  return {-2, head}
end
for i = 5, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i], 'h', ARGV[i + 1])
end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, ''}
