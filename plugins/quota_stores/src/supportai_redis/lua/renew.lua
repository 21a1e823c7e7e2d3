-- renew: extend a held reservation's lease (the running turn calls it).
--
-- KEYS[1]  reservation record hash
-- KEYS[2]  tenant expiry index (sorted set)
-- ARGV[1]  reservation id
-- ARGV[2]  new expires_at (epoch seconds)
-- ARGV[3]  record TTL in seconds (at least until the new expiry, plus grace)
--
-- Returns 1 renewed; 0 the reservation is no longer held (settled, released or
-- charged by the sweep): the turn carries on, its settle will correct the charge.

if redis.call('HGET', KEYS[1], 'state') ~= 'held' then
  return 0
end
redis.call('HSET', KEYS[1], 'expires_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return 1
