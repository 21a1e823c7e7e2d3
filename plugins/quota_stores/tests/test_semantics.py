"""What each operation does to the four buckets, against a real Redis."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot
from redis_quota_helpers import NOW, caller, policy
from supportai_redis.store import BUCKET_GRACE_S

from supportai.quota.base import BucketKind, QuotaDenied, QuotaStatus, QuotaStore

pytestmark = pytest.mark.redis


def view(status: QuotaStatus) -> dict[BucketKind, tuple[int, int]]:
    """``kind -> (used, reserved)``: what most assertions compare."""
    return {bucket.kind: (bucket.used, bucket.reserved) for bucket in status.buckets}


def counts(turns: tuple[int, int], cost: tuple[int, int]) -> dict[BucketKind, tuple[int, int]]:
    """The expected view when one user is the tenant's only user.

    ``turns`` is (settled turns, turns in flight), ``cost`` (micros spent, micros held).
    """
    return {"user_turns": turns, "tenant_turns": turns, "user_cost": cost, "tenant_cost": cost}


async def test_store_satisfies_the_protocol(make_store: Any) -> None:
    store = make_store()
    assert isinstance(store, QuotaStore)
    assert store.name == "redis"


async def test_status_of_an_unused_caller_is_all_zero(make_store: Any) -> None:
    store = make_store(policy(user_turns=5, user_daily_micros=700))
    status = await store.status(caller(), NOW)
    assert view(status) == counts((0, 0), (0, 0))
    limits = {bucket.kind: bucket.limit for bucket in status.buckets}
    assert limits["user_turns"] == 5
    assert limits["user_cost"] == 700
    resets = {bucket.kind: bucket.resets_at for bucket in status.buckets}
    assert resets["user_turns"] == NOW - 30 + 60
    assert resets["user_cost"] == NOW + 12 * 3600 - 30


async def test_reserve_counts_a_turn_and_holds_the_amount(make_store: Any) -> None:
    store = make_store()
    reservation = await store.reserve(caller(), 1500, NOW)
    assert reservation.amount_micros == 1500
    assert reservation.expires_at == NOW + 300
    assert len(reservation.bucket_keys) == 4
    assert view(await store.status(caller(), NOW)) == counts((0, 1), (0, 1500))


async def test_settle_turns_the_hold_into_the_actual_spend(make_store: Any) -> None:
    store = make_store()
    reservation = await store.reserve(caller(), 1500, NOW)
    await store.settle(reservation, 420)
    assert view(await store.status(caller(), NOW)) == counts((1, 0), (420, 0))


async def test_settle_records_an_actual_above_the_hold(make_store: Any) -> None:
    # The hold is the worst case, so this should not happen; if it does, the real
    # spend is what gets recorded.
    store = make_store()
    reservation = await store.reserve(caller(), 100, NOW)
    await store.settle(reservation, 130)
    assert view(await store.status(caller(), NOW)) == counts((1, 0), (130, 0))


async def test_release_undoes_turn_and_hold(make_store: Any) -> None:
    store = make_store()
    kept = await store.reserve(caller(), 200, NOW)
    undone = await store.reserve(caller(), 300, NOW)
    await store.release(undone)
    assert view(await store.status(caller(), NOW)) == counts((0, 1), (0, 200))
    await store.settle(kept, 50)
    assert view(await store.status(caller(), NOW)) == counts((1, 0), (50, 0))


async def test_settle_and_release_are_idempotent(make_store: Any) -> None:
    store = make_store()
    settled = await store.reserve(caller(), 1000, NOW)
    await store.settle(settled, 400)
    await store.settle(settled, 400)
    await store.settle(settled, 999)
    await store.release(settled)
    assert view(await store.status(caller(), NOW)) == counts((1, 0), (400, 0))

    released = await store.reserve(caller(), 1000, NOW)
    await store.release(released)
    await store.release(released)
    await store.settle(released, 700)  # released means "no billable work": stays undone
    assert view(await store.status(caller(), NOW)) == counts((1, 0), (400, 0))


async def test_user_turn_limit_denies_with_retry_after_the_window(make_store: Any) -> None:
    store = make_store(policy(user_turns=2))
    await store.reserve(caller(), 1, NOW)
    await store.reserve(caller(), 1, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(caller(), 1, NOW)
    assert denied.value.bucket == "user_turns"
    assert denied.value.reason == "rate_limited"
    assert denied.value.retry_after_s == 30
    # Another user of the tenant is not affected; the next window admits again.
    await store.reserve(caller("bob"), 1, NOW)
    await store.reserve(caller(), 1, NOW + 30)


async def test_tenant_turn_limit_spans_users(make_store: Any) -> None:
    store = make_store(policy(tenant_turns=3))
    for user in ("a", "b", "c"):
        await store.reserve(caller(user), 1, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(caller("d"), 1, NOW)
    assert denied.value.bucket == "tenant_turns"
    await store.reserve(caller("d", tenant="other"), 1, NOW)  # tenants are separate


async def test_user_daily_cap_and_settle_frees_the_unused_part(make_store: Any) -> None:
    store = make_store(policy(user_daily_micros=100))
    first = await store.reserve(caller(), 60, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(caller(), 60, NOW)
    assert denied.value.bucket == "user_cost"
    assert denied.value.reason == "cost_cap_exceeded"
    assert denied.value.retry_after_s == 12 * 3600 - 30  # until midnight UTC
    await store.settle(first, 10)
    await store.reserve(caller(), 60, NOW)  # 10 used + 60 held <= 100
    await store.reserve(caller(), 30, NOW)  # exactly at the cap
    with pytest.raises(QuotaDenied):
        await store.reserve(caller(), 1, NOW)


async def test_an_exhausted_cost_bucket_denies_even_a_zero_amount(make_store: Any) -> None:
    store = make_store(policy(user_daily_micros=100))
    await store.reserve(caller(), 100, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(caller(), 0, NOW)
    assert denied.value.bucket == "user_cost"


async def test_tenant_monthly_cap_spans_users(make_store: Any) -> None:
    store = make_store(policy(tenant_monthly_micros=250))
    await store.reserve(caller("a"), 100, NOW)
    await store.reserve(caller("b"), 100, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(caller("c"), 100, NOW)
    assert denied.value.bucket == "tenant_cost"
    assert denied.value.retry_after_s == 2 * 86400 + 12 * 3600 - 30  # until 1 December


@pytest.mark.parametrize(
    ("limit", "bucket"),
    [
        ("user_turns", "user_turns"),
        ("tenant_turns", "tenant_turns"),
        ("user_daily_micros", "user_cost"),
        ("tenant_monthly_micros", "tenant_cost"),
    ],
)
async def test_a_zero_limit_denies(make_store: Any, limit: str, bucket: str) -> None:
    store = make_store(policy(**{limit: 0}))
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(caller(), 0, NOW)
    assert denied.value.bucket == bucket


async def test_turn_buckets_are_reported_before_cost_buckets(make_store: Any) -> None:
    store = make_store(policy(user_turns=0, tenant_turns=0, user_daily_micros=0))
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(caller(), 5, NOW)
    assert denied.value.bucket == "user_turns"
    store = make_store(policy(tenant_turns=0, user_daily_micros=0))
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(caller(), 5, NOW)
    assert denied.value.bucket == "tenant_turns"


async def test_a_denied_reserve_charges_nothing(make_store: Any) -> None:
    # Check-all-then-charge: the turn buckets had room, the cost bucket did not,
    # and nothing at all was counted.
    store = make_store(policy(user_daily_micros=50))
    with pytest.raises(QuotaDenied):
        await store.reserve(caller(), 51, NOW)
    assert view(await store.status(caller(), NOW)) == counts((0, 0), (0, 0))


async def test_a_retried_reserve_with_the_same_id_charges_once(
    make_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A retry after a lost reply re-sends the same script with the same id.
    store = make_store()
    fixed = uuid.uuid4()
    monkeypatch.setattr("supportai_redis.store.uuid.uuid4", lambda: fixed)
    first = await store.reserve(caller(), 100, NOW)
    second = await store.reserve(caller(), 100, NOW)
    assert first.id == second.id
    assert view(await store.status(caller(), NOW)) == counts((0, 1), (0, 100))


async def test_release_expired_charges_crashed_holds_in_full(make_store: Any) -> None:
    store = make_store()
    crashed = await store.reserve(caller(), 800, NOW)
    fresh = await store.reserve(caller(), 100, NOW + 20)  # same rate window
    assert await store.release_expired(NOW + 299) == 0
    charged = await store.charge_expired(NOW + 301)
    assert [(c.reservation_id, c.user_id, c.amount_micros) for c in charged] == [
        (crashed.id, "alice", 800)
    ]
    # The crashed turn may have spent its hold: it counts as spend now, never freed.
    assert view(await store.status(caller(), NOW)) == counts((1, 1), (800, 100))
    assert await store.release_expired(NOW + 301) == 0
    await store.release(crashed)  # a no-op now: the charge stays
    await store.settle(fresh, 60)
    assert view(await store.status(caller(), NOW)) == counts((2, 0), (860, 0))
    assert await store.release_expired(NOW + 10_000) == 0  # settled ones are not charged


async def test_renew_keeps_a_held_lease_alive(make_store: Any) -> None:
    store = make_store()
    held = await store.reserve(caller(), 800, NOW)
    assert await store.renew(held, NOW + 200)  # leased until NOW + 500
    assert await store.release_expired(NOW + 400) == 0
    assert await store.release_expired(NOW + 501) == 1
    assert not await store.renew(held, NOW + 502)  # charged: no longer held


async def test_settle_after_expiry_records_the_spend_without_negative_holds(
    make_store: Any,
) -> None:
    store = make_store()
    slow = await store.reserve(caller(), 800, NOW)
    other = await store.reserve(caller(), 100, NOW + 20)
    assert await store.release_expired(NOW + 301) == 1
    await store.settle(slow, 500)  # the worker was slow, not dead
    assert view(await store.status(caller(), NOW)) == counts((1, 1), (500, 100))
    await store.settle(slow, 500)  # still idempotent
    await store.release(other)
    assert view(await store.status(caller(), NOW)) == counts((1, 0), (500, 0))


async def test_release_expired_walks_every_tenant_in_batches(make_store: Any) -> None:
    store = make_store(expire_batch=3)
    for index in range(7):
        await store.reserve(caller(f"u{index}", tenant="t1"), 10, NOW)
    for index in range(4):
        await store.reserve(caller(f"u{index}", tenant="t2"), 10, NOW)
    assert await store.release_expired(NOW + 1000) == 11
    for tenant, turns in (("t1", 7), ("t2", 4)):
        status = view(await store.status(caller("u0", tenant=tenant), NOW))
        assert status["tenant_turns"] == (turns, 0)
        assert status["tenant_cost"] == (turns * 10, 0)


async def test_a_second_process_sweeps_what_the_first_reserved(make_store: Any) -> None:
    # The registry lives in Redis, not in the process that reserved.
    worker = make_store()
    sweeper = make_store()
    await worker.reserve(caller(), 10, NOW)
    assert await sweeper.release_expired(NOW + 1000) == 1


async def test_keys_expire_after_their_reset(make_store: Any, raw_redis: Redis) -> None:
    store = make_store()
    reservation = await store.reserve(caller(), 10, NOW)
    ttls = {
        kind: await raw_redis.ttl(store.keys.bucket(key))
        for kind, key in zip(
            ("user_turns", "tenant_turns", "user_cost", "tenant_cost"),
            reservation.bucket_keys,
            strict=True,
        )
    }
    grace = 300 + BUCKET_GRACE_S
    assert ttls["user_turns"] == pytest.approx(30 + grace, abs=2)
    assert ttls["tenant_turns"] == pytest.approx(30 + grace, abs=2)
    assert ttls["user_cost"] == pytest.approx(12 * 3600 - 30 + grace, abs=2)
    assert ttls["tenant_cost"] == pytest.approx(2 * 86400 + 12 * 3600 - 30 + grace, abs=2)
    record = store.keys.record("acme", reservation.id)
    assert await raw_redis.ttl(record) == pytest.approx(ttls["tenant_cost"], abs=2)
    await store.settle(reservation, 5)
    assert await raw_redis.ttl(record) == pytest.approx(store.options.tombstone_ttl_s, abs=2)
    # One tombstone per turn: trimmed to what idempotency needs.
    assert await raw_redis.hgetall(record) == {"state": "settled", "amount": "10"}
    assert await raw_redis.zcard(store.keys.expiry_index("acme")) == 0


async def test_every_tenant_key_is_in_the_tenant_slot(
    make_store: Any, raw_redis: Redis, key_prefix: str
) -> None:
    store = make_store()
    tenant = "acme:eu-1"
    first = await store.reserve(caller("alice", tenant=tenant), 10, NOW)
    await store.reserve(caller("bob", tenant=tenant), 10, NOW)
    await store.settle(first, 3)
    keys = [key async for key in raw_redis.scan_iter(match=key_prefix + "*")]
    tenant_keys = [key for key in keys if key != store.keys.tenants]
    # 2 user-turn + 1 tenant-turn + 2 user-cost + 1 tenant-cost buckets, 2 records, 1 index
    assert len(tenant_keys) == 9
    assert {key_slot(key.encode()) for key in tenant_keys} == {key_slot(b"{acme:eu-1}")}
    assert await raw_redis.smembers(store.keys.tenants) == {tenant}


async def test_a_negative_actual_is_recorded_as_zero(
    make_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store()
    reservation = await store.reserve(caller(), 100, NOW)
    await store.settle(reservation, -5)
    assert view(await store.status(caller(), NOW)) == counts((1, 0), (0, 0))
    assert "negative cost" in caplog.text


async def test_a_reservation_from_elsewhere_is_rejected(make_store: Any) -> None:
    store = make_store()
    reservation = await store.reserve(caller(), 100, NOW)
    forged = type(reservation)(
        id=reservation.id,
        tenant_id=reservation.tenant_id,
        user_id=reservation.user_id,
        amount_micros=reservation.amount_micros,
        bucket_keys=(*reservation.bucket_keys[:3], "{acme}:t:cost:1999-01"),
        expires_at=reservation.expires_at,
    )
    with pytest.raises(ValueError, match="does not match"):
        await store.settle(forged, 1)
    await store.settle(reservation, 1)
