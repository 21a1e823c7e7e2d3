-- settle: replace the hold by what the turn really took: one turn and the actual cost.
--
-- KEYS[1..6]  as for reserve (the reservation's buckets, record, expiry index)
-- ARGV[1]     actual cost (micros)
-- ARGV[2]     reservation id
-- ARGV[3]     TTL for a bucket that has to be recreated
-- ARGV[4]     tombstone TTL
--
-- Returns 1 settled; 3 settled after the sweep had charged the hold in full
-- (the cost buckets change by actual - amount, the turn stays counted); 2
-- settled after a sweep of an older version had released it (turn and spend are
-- counted); 0 already settled or released (no-op); -1 no such reservation
-- (no-op); -2 the keys do not belong to this reservation.

local record = redis.call('HMGET', KEYS[5], 'state', 'amount', 'k1', 'k2', 'k3', 'k4')
local state = record[1]
if not state then
  return -1
end
if not keys_match(record) then
  return -2
end
if state ~= 'held' and state ~= 'expired' and state ~= 'charged' then
  return 0
end

local amount = tonumber(record[2])
local actual = tonumber(ARGV[1])
if state == 'charged' then
  for i = 3, 4 do
    redis.call('HINCRBY', KEYS[i], 'used', actual - amount)
    keep_expiring(KEYS[i], ARGV[3])
  end
  finish(KEYS[5], KEYS[6], ARGV[2], 'settled', ARGV[4])
  return 3
end
for i = 1, 4 do
  if state == 'held' then
    take_back(KEYS[i], 'reserved', charge(i, amount))
  end
  -- After an expiry release the worker was slow, not dead: the model did
  -- answer, so the turn and the spend are real and are counted all the same.
  redis.call('HINCRBY', KEYS[i], 'used', charge(i, actual))
  keep_expiring(KEYS[i], ARGV[3])
end
finish(KEYS[5], KEYS[6], ARGV[2], 'settled', ARGV[4])
if state == 'held' then
  return 1
end
return 2
