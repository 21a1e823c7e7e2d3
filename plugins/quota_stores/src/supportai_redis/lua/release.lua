-- release: undo a reservation entirely (the held turn and the held amount).
--
-- KEYS[1..6]  as for reserve
-- ARGV[1]     reservation id
-- ARGV[2]     tombstone TTL
--
-- Release only subtracts, and never from a bucket that is gone, so it needs no
-- bucket TTL: HINCRBY keeps an existing key's expiry.
--
-- Returns 1 released; 0 already settled/released/expired (no-op); -1 no such
-- reservation (no-op); -2 the keys do not belong to this reservation.

local record = redis.call('HMGET', KEYS[5], 'state', 'amount', 'k1', 'k2', 'k3', 'k4')
local state = record[1]
if not state then
  return -1
end
if not keys_match(record) then
  return -2
end
if state ~= 'held' then
  return 0
end

local amount = tonumber(record[2])
for i = 1, 4 do
  take_back(KEYS[i], 'reserved', charge(i, amount))
end
finish(KEYS[5], KEYS[6], ARGV[1], 'released', ARGV[2])
return 1
