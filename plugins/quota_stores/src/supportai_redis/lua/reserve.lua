-- reserve: check all four buckets, then charge all four, in one atomic step.
--
-- KEYS[1..4]  bucket hashes: user turns, tenant turns, user cost, tenant cost
-- KEYS[5]     reservation record hash
-- KEYS[6]     tenant expiry index (sorted set)
-- ARGV[1]     amount to hold (micros)
-- ARGV[2..5]  the four limits
-- ARGV[6..9]  the four bucket TTLs in seconds (until reset, plus grace)
-- ARGV[10]    reservation id
-- ARGV[11]    tenant id        ARGV[12] user id
-- ARGV[13]    expires_at (epoch seconds, may be fractional)
-- ARGV[14]    record TTL in seconds
--
-- Returns {verdict, index_created}. verdict is 0 when admitted, or 1..4: the
-- first bucket that cannot take the turn. Buckets are checked in order, so turn
-- buckets are reported before cost buckets. A bucket denies when the charge does
-- not fit, and also when it is already exhausted (so a limit of 0 denies even a
-- zero amount). index_created is 1 when this call created the tenant's expiry
-- index, which tells the client the tenant registry may have been lost (a flush
-- or a fresh server) and must be written again.

if redis.call('EXISTS', KEYS[5]) == 1 then
  -- Same reservation id again: the client retried after losing the reply. A
  -- record exists only if that first call charged, so admit without charging twice.
  return {0, 0}
end

local amount = tonumber(ARGV[1])
for i = 1, 4 do
  local limit = tonumber(ARGV[1 + i])
  local taken = field_int(KEYS[i], 'used') + field_int(KEYS[i], 'reserved')
  if taken >= limit or taken + charge(i, amount) > limit then
    return {i, 0}
  end
end

for i = 1, 4 do
  redis.call('HINCRBY', KEYS[i], 'reserved', charge(i, amount))
  redis.call('EXPIRE', KEYS[i], ARGV[5 + i])
end

redis.call('HSET', KEYS[5],
  'state', 'held', 'amount', ARGV[1], 'tenant', ARGV[11], 'user', ARGV[12],
  'expires_at', ARGV[13],
  'k1', KEYS[1], 'k2', KEYS[2], 'k3', KEYS[3], 'k4', KEYS[4])
redis.call('EXPIRE', KEYS[5], ARGV[14])
local index_created = 1 - redis.call('EXISTS', KEYS[6])
redis.call('ZADD', KEYS[6], ARGV[13], ARGV[10])
if redis.call('TTL', KEYS[6]) < tonumber(ARGV[14]) then
  redis.call('EXPIRE', KEYS[6], ARGV[14])
end
return {0, index_created}
