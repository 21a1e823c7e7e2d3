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
-- or release a no-op until the tombstone expires.
local function finish(record, index, id, state, tombstone_ttl)
  redis.call('HSET', record, 'state', state)
  redis.call('EXPIRE', record, tombstone_ttl)
  redis.call('ZREM', index, id)
end

