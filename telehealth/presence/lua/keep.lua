-- A consumer of the webhook group is still at these entries: reset their idle time, so that
-- no other node takes them over. Only entries still pending on this consumer are touched;
-- ones acknowledged meanwhile are skipped.
-- KEYS[1] = events STREAM
-- ARGV[1] = group, ARGV[2] = consumer, ARGV[3..] = entry ids
-- Returns how many of the ids another consumer has taken over (0: the claim is intact).
local mine, taken = {}, 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p > 0 then
    if p[1][2] == ARGV[2] then
      mine[#mine + 1] = ARGV[i]
    else
      taken = taken + 1
    end
  end
end
local n = #mine
if n > 0 then
  mine[n + 1] = 'JUSTID' -- no entries back, and no delivery counted
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine))
end
return taken
