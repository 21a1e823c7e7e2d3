-- release_expired: release one tenant's reservations whose expiry has passed.
--
-- KEYS[1]  the tenant's expiry index (sorted set: reservation id -> expires_at)
-- ARGV[1]  now (epoch seconds); reservations with expires_at < now are released
-- ARGV[2]  at most this many ids per call (bounds how long Redis is blocked)
-- ARGV[3]  the tenant's record key prefix (record = prefix .. id)
-- ARGV[4]  tombstone TTL
--
-- Record and bucket keys are read from the index and the records rather than
-- passed in KEYS (they are not known before the call). They all carry the
-- index's {tenant} hash tag, so they live in KEYS[1]'s slot, which is what Redis
-- Cluster requires of keys a script touches.
--
-- Returns {released, examined}; the caller repeats while examined == ARGV[2].

local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1],
  'LIMIT', 0, tonumber(ARGV[2]))
local released = 0
for _, id in ipairs(ids) do
  local record = ARGV[3] .. id
  local r = redis.call('HMGET', record, 'state', 'amount', 'k1', 'k2', 'k3', 'k4')
  if r[1] == 'held' then
    local amount = tonumber(r[2])
    for i = 1, 4 do
      take_back(r[2 + i], 'reserved', charge(i, amount))
    end
    -- "expired", not "released": a late settle must still record the spend.
    finish(record, KEYS[1], id, 'expired', ARGV[4])
    released = released + 1
  else
    -- Already finished, or its record is gone: just drop the index entry.
    redis.call('ZREM', KEYS[1], id)
  end
end
return {released, #ids}
