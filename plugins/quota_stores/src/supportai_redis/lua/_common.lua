-- Helpers prepended to every supportai_redis script (each script is sent as
-- "_common.lua .. <operation>.lua", so one copy of these rules serves all four).
--
-- A bucket is a hash with two integer fields: "used" (turns counted, or micros
-- spent) and "reserved" (micros held by open reservations; turn buckets keep 0).
-- Amounts travel as decimal strings and change only through HINCRBY, so money
-- stays exact integer arithmetic on the server.

local function field_int(key, field)
  return tonumber(redis.call('HGET', key, field) or '0')
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

