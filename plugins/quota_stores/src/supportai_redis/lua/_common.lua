-- Helpers prepended to every supportai_redis script (each script is sent as
-- "_common.lua .. <operation>.lua", so one copy of these rules serves all four).
--
-- A bucket is a hash with two integer fields: "used" (turns taken, or micros
-- spent, by settled turns) and "reserved" (what open reservations hold: 1 per
-- turn in a turn bucket, the worst-case amount in a cost bucket), the same
-- shape as the SQL store's rows, so GET /quota reads the same either way.
-- KEYS[1..2] are always the turn buckets and KEYS[3..4] the cost buckets.
-- Amounts travel as decimal strings and change only through HINCRBY, so money
-- stays exact integer arithmetic on the server.

local function field_int(key, field)
  return tonumber(redis.call('HGET', key, field) or '0')
end

-- What a reservation holds in bucket i: one turn, or the amount.
local function charge(i, amount)
  if i <= 2 then
    return 1
  end
  return amount
end

-- Give back at most what is there: a hold whose bucket already expired, or a
-- counter touched by an operator, must never be driven below zero.
local function take_back(key, field, amount)
  local delta = math.min(field_int(key, field), amount)
  if delta > 0 then
    redis.call('HINCRBY', key, field, -delta)
  end
end

-- HINCRBY on an expired bucket recreates it without a TTL; give it one so a
-- late settle can never leave a counter behind forever.
local function keep_expiring(key, ttl)
  if redis.call('TTL', key) == -1 then
    redis.call('EXPIRE', key, ttl)
  end
end

-- A finished reservation becomes a tombstone: its state makes a second settle
-- or release a no-op until the tombstone expires. Settled and released ones are
-- trimmed to state and amount (there is one per turn, so size matters); a
-- charged one (its lease ran out) keeps its bucket keys, which a late settle
-- still checks.
local function finish(record, index, id, state, tombstone_ttl)
  if state == 'charged' or state == 'expired' then
    redis.call('HSET', record, 'state', state)
  else
    -- Rewritten rather than HDEL'd: the fresh hash takes less than half the memory.
    local amount = redis.call('HGET', record, 'amount')
    redis.call('DEL', record)
    redis.call('HSET', record, 'state', state, 'amount', amount)
  end
  redis.call('EXPIRE', record, tombstone_ttl)
  redis.call('ZREM', index, id)
end

-- Whether KEYS[1..4] are the buckets the record was charged in (-2 otherwise).
-- A trimmed tombstone has no keys left to compare, and nothing left to change.
local function keys_match(record)
  if not record[3] then
    return true
  end
  for i = 1, 4 do
    if record[2 + i] ~= KEYS[i] then
      return false
    end
  end
  return true
end

