-- settle: turn the held amount into the real spend; the turn stays counted.
--
-- KEYS[1..6]  as for reserve (the reservation's buckets, record, expiry index)
-- ARGV[1]     actual cost (micros)
-- ARGV[2]     reservation id
-- ARGV[3]     TTL for a bucket that has to be recreated
-- ARGV[4]     tombstone TTL
--
-- Returns 1 settled; 2 settled after the sweeper had released it (the turn and
-- the spend are counted again, nothing is taken from "reserved"); 0 already
-- settled or released (no-op); -1 no such reservation (no-op); -2 the keys do
-- not belong to this reservation.

local record = redis.call('HMGET', KEYS[5], 'state', 'amount', 'k1', 'k2', 'k3', 'k4')
local state = record[1]
if not state then
  return -1
end
for i = 1, 4 do
  if record[2 + i] ~= KEYS[i] then
    return -2
  end
end

local actual = tonumber(ARGV[1])
local result
if state == 'held' then
  local amount = tonumber(record[2])
  for i = 3, 4 do
    take_back(KEYS[i], 'reserved', amount)
    redis.call('HINCRBY', KEYS[i], 'used', actual)
  end
  result = 1
elseif state == 'expired' then
  -- The worker was slow, not dead: the model did answer, so the spend is real.
  -- Count it (and the turn the sweeper uncounted) without touching "reserved",
  -- which the sweeper already gave back.
  for i = 1, 2 do
    redis.call('HINCRBY', KEYS[i], 'used', 1)
  end
  for i = 3, 4 do
    redis.call('HINCRBY', KEYS[i], 'used', actual)
  end
  result = 2
else
  return 0
end

for i = 1, 4 do
  keep_expiring(KEYS[i], ARGV[3])
end
finish(KEYS[5], KEYS[6], ARGV[2], 'settled', ARGV[4])
return result
