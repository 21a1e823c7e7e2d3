-- release_expired: charge in full one tenant's holds whose lease ran out.
--
-- KEYS[1]  the tenant's expiry index (sorted set: reservation id -> expires_at)
-- ARGV[1]  now (epoch seconds); reservations with expires_at < now are charged
-- ARGV[2]  at most this many ids per call (bounds how long Redis is blocked)
-- ARGV[3]  the tenant's record key prefix (record = prefix .. id)
-- ARGV[4]  tombstone TTL
--
-- A lapsed lease means the turn's worker died or could not reach Redis; the
-- model may have spent up to the hold, so it is never given back: it moves from
-- "reserved" to "used" (state "charged") and a late settle replaces it by the
-- real cost. used + reserved never changes here, so the cap holds throughout.
--
-- Record and bucket keys are read from the index and the records rather than
-- passed in KEYS (they are not known before the call). They all carry the
-- index's {tenant} hash tag, so they live in KEYS[1]'s slot, which is what Redis
-- Cluster requires of keys a script touches.
--
-- Returns {charged, examined, id1, user1, amount1, id2, ...}: the caller writes a
-- ledger row for each charged hold and repeats while examined == ARGV[2].

local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1],
  'LIMIT', 0, tonumber(ARGV[2]))
local result = {0, #ids}
for _, id in ipairs(ids) do
  local record = ARGV[3] .. id
  local r = redis.call('HMGET', record, 'state', 'amount', 'k1', 'k2', 'k3', 'k4', 'user')
  if r[1] == 'held' then
    local amount = tonumber(r[2])
    for i = 1, 4 do
      take_back(r[2 + i], 'reserved', charge(i, amount))
      redis.call('HINCRBY', r[2 + i], 'used', charge(i, amount))
      keep_expiring(r[2 + i], ARGV[4])
    end
    finish(record, KEYS[1], id, 'charged', ARGV[4])
    result[1] = result[1] + 1
    table.insert(result, id)
    table.insert(result, r[7] or '')
    table.insert(result, r[2])
  else
    -- Already finished, or its record is gone: just drop the index entry.
    redis.call('ZREM', KEYS[1], id)
  end
end
return result
