-- Hand a consumer of the webhook group the room's entries to deliver, one consumer at a time.
-- KEYS[1] = events STREAM
-- ARGV[1] = group, ARGV[2] = consumer, ARGV[3] = idle time (ms) after which another consumer's
-- pending entries are taken over, ARGV[4] = how many entries at most, ARGV[5] = the id the
-- group starts after when this creates it.
-- Returns {0} when there is nothing to do, {1} when another consumer is still at the room, or
-- {2, entries}: the room's pending entries (its own, or taken over from a consumer that left
-- them idle), else new ones. The check and the read are one step, so two nodes never split a
-- room's entries between them: that is what keeps a room's webhooks in order.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0} -- expired or never written: do not create an empty stream without a TTL
end
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], ARGV[5]) -- BUSYGROUP: it exists
local oldest = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1)
if #oldest > 0 then
  if oldest[1][2] ~= ARGV[2] and tonumber(oldest[1][3]) < tonumber(ARGV[3]) then
    return {1}
  end
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, '0-0', 'COUNT', ARGV[4])
  if #claimed[2] > 0 then
    return {2, claimed[2]}
  end
  -- every pending entry was trimmed from the stream (XAUTOCLAIM dropped them): read on
end
local new = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4],
  'STREAMS', KEYS[1], '>')
if new and #new[1][2] > 0 then
  return {2, new[1][2]}
end
return {0}
