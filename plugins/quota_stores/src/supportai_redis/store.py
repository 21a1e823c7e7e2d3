"""The Redis quota store: one Lua script per operation, so every check-and-charge is atomic.

Why Lua and not WATCH/MULTI: a script runs to completion with no other command
in between, on whichever worker process sent it, so "check all four buckets,
then charge all four" cannot interleave with another worker's reserve, and a
burst of concurrent turns never needs optimistic-retry loops. Scripts are sent
once with SCRIPT LOAD and then called by SHA (redis-py's ``register_script``
re-loads them after a Redis restart or failover, on ``NOSCRIPT``).

``now`` comes from the caller, as the protocol says; the scripts never read the
server clock. Expiries are therefore set relative (``EXPIRE`` seconds, computed
from ``resets_at - now``) so a test that passes an old ``now`` cannot make Redis
delete a key on the spot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from redis import exceptions as redis_errors
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from supportai.quota.base import (
    Bucket,
    BucketStatus,
    QuotaPolicy,
    QuotaStatus,
    QuotaStoreUnavailable,
    Reservation,
    buckets_for,
    denial_for,
)
from supportai.quota.ledger import ExpiredCharge
from supportai_redis.keys import KeyLayout
from supportai_redis.settings import RedisQuotaSettings

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from supportai.caller import Caller
    from supportai.plugins import ProviderContext
    from supportai_redis.events import RedisEventLog

log = logging.getLogger("supportai_redis")

#: Reservations admitted while Redis was unreachable (fail-open) carry this id
#: prefix and no bucket keys; settle and release recognise them and do nothing.
UNMETERED_PREFIX = "unmetered:"

#: Counters outlive their reset by this much (on top of the reservation TTL), so
#: a turn reserved just before midnight still finds its day bucket when it settles.
BUCKET_GRACE_S = 60

#: Tenants swept at once by ``release_expired`` (each holds a connection slot).
SWEEP_CONCURRENCY = 16

#: How often a process re-adds a tenant to the registry set, in case the set was
#: lost (eviction, FLUSHDB) while the process kept its memory of having added it.
REGISTRY_REFRESH_S = 300.0

#: Errors that mean "Redis cannot serve quota now", as opposed to a bug in a
#: script: not answering, a primary demoted during failover (ReadOnlyError), or
#: full under ``maxmemory-policy noeviction`` (OutOfMemoryError; Redis refuses a
#: script's first write, so a refused script has written nothing).
#: With a cluster, also a slot without a serving primary (CLUSTERDOWN, TRYAGAIN,
#: or a client that cannot reach any node: RedisClusterException).
UNREACHABLE: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
    redis_errors.OutOfMemoryError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.RedisClusterException,
)

Operation = Literal["reserve", "settle", "release", "renew", "status", "release_expired"]


def _script_source(name: str) -> str:
    lua = resources.files("supportai_redis").joinpath("lua")
    common = lua.joinpath("_common.lua").read_text(encoding="utf-8")
    return common + lua.joinpath(f"{name}.lua").read_text(encoding="utf-8")


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


class RedisQuotaStore:
    """:class:`supportai.quota.base.QuotaStore` on Redis, shared by every worker.

    The client is created here but connects lazily, on the first operation: an
    app that is built and never serves a turn opens no connection.
    """

    name = "redis"

    def __init__(
        self,
        policy: QuotaPolicy,
        options: RedisQuotaSettings | None = None,
        *,
        client: Redis | RedisCluster | None = None,
    ) -> None:
        self.policy = policy
        self.options = options or RedisQuotaSettings()
        self.keys = KeyLayout(self.options.key_prefix)
        self._owns_client = client is None
        self.redis: Redis | RedisCluster = (
            client if client is not None else self._connect(self.options)
        )
        self._reserve: AsyncScript = self.redis.register_script(_script_source("reserve"))
        self._settle: AsyncScript = self.redis.register_script(_script_source("settle"))
        self._release: AsyncScript = self.redis.register_script(_script_source("release"))
        self._release_expired: AsyncScript = self.redis.register_script(
            _script_source("release_expired")
        )
        self._renew: AsyncScript = self.redis.register_script(_script_source("renew"))
        self._registered: dict[str, float] = {}
        self._last_warning: dict[Operation, float] = {}
        self._ready = not isinstance(self.redis, RedisCluster)
        self._ready_lock = asyncio.Lock()
        # One slot per pooled connection: redis-py's pools raise MaxConnectionsError
        # instead of waiting when they are exhausted, so a burst of turns larger
        # than the pool queues here (for at most pool_timeout_s) instead of failing.
        self._slots = asyncio.Semaphore(self.options.max_connections)

    @classmethod
    def from_context(cls, context: ProviderContext) -> RedisQuotaStore:
        """The factory core calls when ``SUPPORTAI_QUOTA_STORE=redis``."""
        return cls(
            QuotaPolicy.from_settings(context.settings),
            context.plugin_settings(RedisQuotaSettings),
        )

    def event_log(self, ttl_s: int) -> RedisEventLog:
        """The turn event log core uses with this store (resumable streams)."""
        from supportai_redis.events import RedisEventLog

        return RedisEventLog(self, ttl_s)

    @staticmethod
    def _connect(options: RedisQuotaSettings) -> Redis | RedisCluster:
        # Retrying is safe for every operation because each one is idempotent per
        # reservation id (reserve included: the id is chosen here, not by Redis).
        retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), options.retries)
        common: dict[str, Any] = {
            "decode_responses": True,
            "socket_timeout": options.socket_timeout_s,
            "socket_connect_timeout": options.socket_connect_timeout_s,
            "retry": retry,
            "health_check_interval": options.health_check_interval_s,
        }
        # The pool may grow to the number of slots; the semaphore keeps it there.
        common["max_connections"] = options.max_connections
        url = options.url.get_secret_value()
        if options.cluster:
            cluster: RedisCluster = RedisCluster.from_url(url, **common)
            return cluster
        single: Redis = Redis.from_url(url, **common)
        return single

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """Hold one of ``max_connections`` slots for one command (or one pipeline)."""
        try:
            async with asyncio.timeout(self.options.pool_timeout_s):
                await self._slots.acquire()
        except TimeoutError as exc:
            # Every connection busy for that long: as good as unreachable.
            raise redis_errors.ConnectionError(
                f"no free Redis connection within {self.options.pool_timeout_s} s "
                f"({self.options.max_connections} in use)"
            ) from exc
        try:
            yield
        finally:
            self._slots.release()

    async def _ensure_ready(self) -> None:
        """Discover a cluster's nodes and open one connection to each, once.

        redis-py's asyncio cluster client (8.1) can fail a burst of commands that
        all open the first connection to a node at once (AttributeError inside
        the connection); touching every node first avoids it. A single-node
        client needs nothing: it is ready at construction.
        """
        if self._ready:
            return
        async with self._ready_lock:
            if self._ready or not isinstance(self.redis, RedisCluster):
                return
            await self.redis.initialize()
            await self.redis.ping(target_nodes=RedisCluster.ALL_NODES)
            self._ready = True

    async def aclose(self) -> None:
        """Close the connection pool (core calls this at shutdown)."""
        if self._owns_client:
            await self.redis.aclose()

    # -- timing -----------------------------------------------------------------------

    @property
    def _fallback_ttl(self) -> int:
        """TTL for a bucket a late settle has to recreate (its reset time is unknown then)."""
        return self.policy.reservation_ttl_s + BUCKET_GRACE_S

    @property
    def _tombstone_ttl(self) -> int:
        """A late settle arrives at most a turn's length after expiry; keep twice the TTL."""
        return max(self.options.tombstone_ttl_s, 2 * self.policy.reservation_ttl_s)

    def _bucket_ttl(self, bucket: Bucket, now: float) -> int:
        return max(math.ceil(bucket.resets_at - now), 0) + self._fallback_ttl

    # -- failures -----------------------------------------------------------------------

    def _unavailable(self, operation: Operation, exc: Exception) -> QuotaStoreUnavailable:
        return QuotaStoreUnavailable(
            f"redis quota store: {operation} failed, Redis unavailable "
            f"({type(exc).__name__}: {exc})"
        )

    def _warn_open(self, operation: Operation, exc: Exception) -> None:
        """Warn about unmetered turns, at most once a minute per operation (outages are loud)."""
        moment = time.monotonic()
        last = self._last_warning.get(operation)
        if last is None or moment - last >= 60.0:
            self._last_warning[operation] = moment
            log.warning(
                "redis quota store unavailable during %s (%s: %s); fail_open is on, "
                "so turns go on without rate limits, cost caps or recorded spend",
                operation,
                type(exc).__name__,
                exc,
            )

    # -- the protocol ----------------------------------------------------------------------

    async def reserve(self, caller: Caller, amount_micros: int, now: float) -> Reservation:
        """Count one turn and hold ``amount_micros``, or raise ``QuotaDenied``."""
        if amount_micros < 0:
            raise ValueError(f"amount_micros must be >= 0, got {amount_micros}")
        buckets = buckets_for(caller, self.policy, now)
        reservation_id = uuid.uuid4().hex
        expires_at = now + self.policy.reservation_ttl_s
        bucket_ttls = [self._bucket_ttl(bucket, now) for bucket in buckets]
        try:
            await self._ensure_ready()
            async with self._slot():
                registered_now = await self._register_tenant(caller.tenant_id)
                verdict = await self._reserve(
                    keys=[
                        *(self.keys.bucket(bucket.key) for bucket in buckets),
                        self.keys.record(caller.tenant_id, reservation_id),
                        self.keys.expiry_index(caller.tenant_id),
                    ],
                    args=[
                        amount_micros,
                        *(bucket.limit for bucket in buckets),
                        *bucket_ttls,
                        reservation_id,
                        caller.tenant_id,
                        caller.user_id,
                        repr(expires_at),
                        # The record lives as long as the longest bucket, so the sweeper
                        # can still give back a crashed worker's hold at any point.
                        max(bucket_ttls),
                    ],
                )
        except UNREACHABLE as exc:
            if not self.options.fail_open:
                raise self._unavailable("reserve", exc) from exc
            self._warn_open("reserve", exc)
            return Reservation(
                id=UNMETERED_PREFIX + reservation_id,
                tenant_id=caller.tenant_id,
                user_id=caller.user_id,
                amount_micros=amount_micros,
                bucket_keys=(),
                expires_at=expires_at,
            )
        denied, index_created = int(verdict[0]), int(verdict[1])
        if index_created and not registered_now:
            # A new index although this process registered the tenant a while
            # ago: Redis lost its data (flush, fresh server), registry included.
            try:
                async with self._slot():
                    await self._register_tenant(caller.tenant_id, force=True)
            except UNREACHABLE as exc:
                # The reservation itself stands; only the sweep may miss it.
                log.warning("could not re-register tenant %r: %s", caller.tenant_id, exc)
        if denied:
            raise denial_for(buckets[denied - 1], now)
        return Reservation(
            id=reservation_id,
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            amount_micros=amount_micros,
            bucket_keys=tuple(bucket.key for bucket in buckets),
            expires_at=expires_at,
        )

    async def settle(self, reservation: Reservation, actual_micros: int) -> None:
        """Replace the hold by the real cost; a second call (or one after release) is a no-op."""
        if actual_micros < 0:
            # A bug upstream, but settle runs in cleanup paths: record no spend
            # rather than raise and leave the hold until it expires.
            log.warning(
                "settle of %s with negative cost %d recorded as 0", reservation.id, actual_micros
            )
            actual_micros = 0
        if self._unmetered(reservation):
            return
        try:
            await self._ensure_ready()
            async with self._slot():
                result = await self._settle(
                    keys=self._reservation_keys(reservation),
                    args=[actual_micros, reservation.id, self._fallback_ttl, self._tombstone_ttl],
                )
        except UNREACHABLE as exc:
            if not self.options.fail_open:
                raise self._unavailable("settle", exc) from exc
            self._warn_open("settle", exc)
            return
        self._check_result("settle", reservation, int(result))
        if int(result) in (2, 3):
            log.info(
                "reservation %s settled after the sweep had charged its hold; real cost recorded",
                reservation.id,
            )

    async def release(self, reservation: Reservation) -> None:
        """Undo turn count and hold; a second call (or one after settle) is a no-op."""
        if self._unmetered(reservation):
            return
        try:
            await self._ensure_ready()
            async with self._slot():
                result = await self._release(
                    keys=self._reservation_keys(reservation),
                    args=[reservation.id, self._tombstone_ttl],
                )
        except UNREACHABLE as exc:
            if not self.options.fail_open:
                raise self._unavailable("release", exc) from exc
            self._warn_open("release", exc)
            return
        self._check_result("release", reservation, int(result))

    async def status(self, caller: Caller, now: float) -> QuotaStatus:
        """The four buckets as they stand, read in one MULTI so they are mutually consistent.

        Raises ``QuotaStoreUnavailable`` without Redis even when failing open: there
        is no honest number to show.
        """
        buckets = buckets_for(caller, self.policy, now)
        try:
            await self._ensure_ready()
            async with self._slot(), self.redis.pipeline(transaction=True) as pipe:
                for bucket in buckets:
                    pipe.hmget(self.keys.bucket(bucket.key), ["used", "reserved"])
                rows: Sequence[Sequence[Any]] = await pipe.execute()
        except UNREACHABLE as exc:
            raise self._unavailable("status", exc) from exc
        return QuotaStatus(
            buckets=tuple(
                BucketStatus(
                    kind=bucket.kind,
                    limit=bucket.limit,
                    used=_int(used),
                    reserved=_int(reserved),
                    resets_at=bucket.resets_at,
                )
                for bucket, (used, reserved) in zip(buckets, rows, strict=True)
            )
        )

    async def correct_used(self, bucket: Bucket, used: int) -> None:
        """Set a bucket's recorded spend (``supportai quota reconcile --fix``)."""
        key = self.keys.bucket(bucket.key)
        try:
            await self._ensure_ready()
            async with self._slot():
                await self.redis.hset(key, "used", used)
                await self.redis.expire(key, self._bucket_ttl(bucket, time.time()))
        except UNREACHABLE as exc:
            raise self._unavailable("status", exc) from exc

    async def renew(self, reservation: Reservation, now: float) -> bool:
        """Extend a held reservation's lease to ``now`` + TTL; False once it is not held."""
        if self._unmetered(reservation):
            return True
        expires_at = now + self.policy.reservation_ttl_s
        try:
            await self._ensure_ready()
            async with self._slot():
                result = await self._renew(
                    keys=[
                        self.keys.record(reservation.tenant_id, reservation.id),
                        self.keys.expiry_index(reservation.tenant_id),
                    ],
                    args=[
                        reservation.id,
                        repr(expires_at),
                        self.policy.reservation_ttl_s + self._tombstone_ttl,
                    ],
                )
        except UNREACHABLE as exc:
            raise self._unavailable("renew", exc) from exc
        return int(result) == 1

    async def release_expired(self, now: float | None = None) -> int:
        """Charge expired holds (see :meth:`charge_expired`); return how many."""
        return len(await self.charge_expired(now))

    async def charge_expired(self, now: float | None = None) -> list[ExpiredCharge]:
        """Charge in full the holds whose lease ran out before ``now`` (never give them back).

        Tenants come from the registry set (``<prefix>tenants``) rather than a
        keyspace SCAN: the set costs one SADD per tenant per process and lets the
        sweep touch only tenants that ever reserved, however large the database.
        Tenants are swept ``SWEEP_CONCURRENCY`` at a time, each by the script in
        batches of ``expire_batch``. ``now`` defaults to the wall clock. Core
        writes the ledger rows of what this returns.
        """
        now = time.time() if now is None else now
        charged: list[ExpiredCharge] = []
        try:
            await self._ensure_ready()
            async with self._slot():
                tenants = [
                    tenant async for tenant in self.redis.sscan_iter(self.keys.tenants, count=1000)
                ]
            for start in range(0, len(tenants), SWEEP_CONCURRENCY):
                chunk = tenants[start : start + SWEEP_CONCURRENCY]
                results = await asyncio.gather(
                    *(self._sweep_tenant(tenant, now) for tenant in chunk),
                    return_exceptions=True,
                )
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
                    charged.extend(result)
        except UNREACHABLE as exc:
            raise self._unavailable("release_expired", exc) from exc
        if charged:
            log.warning("charged %d expired quota reservation(s) in full", len(charged))
        return charged

    async def _sweep_tenant(self, tenant_id: str, now: float) -> list[ExpiredCharge]:
        charged: list[ExpiredCharge] = []
        while True:
            async with self._slot():
                result = await self._release_expired(
                    keys=[self.keys.expiry_index(tenant_id)],
                    args=[
                        repr(float(now)),
                        self.options.expire_batch,
                        self.keys.record_prefix(tenant_id),
                        self._tombstone_ttl,
                    ],
                )
            details = result[2:]
            for i in range(0, len(details), 3):
                charged.append(
                    ExpiredCharge(
                        reservation_id=str(details[i]),
                        tenant_id=tenant_id,
                        user_id=str(details[i + 1]),
                        amount_micros=int(details[i + 2]),
                    )
                )
            if int(result[1]) < self.options.expire_batch:
                return charged

    # -- helpers ------------------------------------------------------------------------------

    async def _register_tenant(self, tenant_id: str, *, force: bool = False) -> bool:
        """Make sure ``release_expired`` will visit this tenant.

        Called before the reserve script, so the registry entry exists before the
        tenant's first record does; remembered per process (re-sent every
        ``REGISTRY_REFRESH_S``) so steady traffic costs no extra round trip.
        """
        moment = time.monotonic()
        last = self._registered.get(tenant_id)
        if not force and last is not None and moment - last < REGISTRY_REFRESH_S:
            return False
        await self.redis.sadd(self.keys.tenants, tenant_id)
        self._registered[tenant_id] = moment
        return True

    @staticmethod
    def _unmetered(reservation: Reservation) -> bool:
        return reservation.id.startswith(UNMETERED_PREFIX)

    def _reservation_keys(self, reservation: Reservation) -> list[str]:
        if len(reservation.bucket_keys) != 4:
            raise ValueError(f"reservation {reservation.id} was not made by a redis quota store")
        return [
            *(self.keys.bucket(key) for key in reservation.bucket_keys),
            self.keys.record(reservation.tenant_id, reservation.id),
            self.keys.expiry_index(reservation.tenant_id),
        ]

    @staticmethod
    def _check_result(operation: str, reservation: Reservation, result: int) -> None:
        if result == -2:
            raise ValueError(
                f"{operation}: reservation {reservation.id} does not match its stored record"
            )
        if result == -1:
            # Older than the tombstone TTL, or the keys were flushed: nothing left to undo.
            log.warning(
                "%s of unknown quota reservation %s ignored (expired tombstone or flushed keys)",
                operation,
                reservation.id,
            )
