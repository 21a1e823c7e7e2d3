"""The SQL quota store's semantics, straight against the store, on SQLite and PostgreSQL.

reserve holds the worst case in four buckets at once (or none); settle replaces the
hold by the real cost; release gives it all back; both happen at most once; the
expiry sweep gives back holds nobody settled, and a late settle after it records
the spend without releasing twice.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from supportai.caller import Caller
from supportai.quota.base import QuotaDenied, QuotaStatus, Reservation
from supportai.quota.sql import SQLQuotaStore

NOW = 1_790_000_000.0  # a fixed moment keeps bucket windows deterministic
ALICE = Caller("t1", "alice")
BOB = Caller("t1", "bob")
CAROL = Caller("t2", "carol")


@pytest.fixture
def make_store(supportai_app: Any) -> Any:
    async def make(**limits: Any) -> SQLQuotaStore:
        settings = {
            "rate_limit_user_turns": 100,
            "rate_limit_tenant_turns": 1000,
            "rate_limit_window_s": 60,
            "user_daily_cost_cap_micros": 10_000,
            "tenant_monthly_cost_cap_micros": 100_000,
            "reservation_ttl_s": 300,
            **limits,
        }
        app = supportai_app(**settings)
        runtime = app.state.supportai
        await runtime.start()
        store = runtime.quota
        assert isinstance(store, SQLQuotaStore)
        return store

    return make


def view(status: QuotaStatus) -> dict[str, tuple[int, int]]:
    """``{kind: (used, reserved)}``."""
    return {b.kind: (b.used, b.reserved) for b in status.buckets}


async def test_reserve_holds_in_every_bucket(make_store: Any) -> None:
    store = await make_store()
    reservation = await store.reserve(ALICE, 700, NOW)
    assert isinstance(reservation, Reservation)
    assert reservation.amount_micros == 700 and reservation.expires_at == NOW + 300
    assert view(await store.status(ALICE, NOW)) == {
        "user_turns": (0, 1),
        "tenant_turns": (0, 1),
        "user_cost": (0, 700),
        "tenant_cost": (0, 700),
    }
    # Bob shares the tenant's buckets, not Alice's; Carol shares nothing.
    assert view(await store.status(BOB, NOW)) == {
        "user_turns": (0, 0),
        "tenant_turns": (0, 1),
        "user_cost": (0, 0),
        "tenant_cost": (0, 700),
    }
    assert set(view(await store.status(CAROL, NOW)).values()) == {(0, 0)}


async def test_settle_replaces_the_hold_by_the_real_cost_once(make_store: Any) -> None:
    store = await make_store()
    reservation = await store.reserve(ALICE, 700, NOW)
    await store.settle(reservation, 120)
    settled = view(await store.status(ALICE, NOW))
    assert settled == {
        "user_turns": (1, 0),
        "tenant_turns": (1, 0),
        "user_cost": (120, 0),
        "tenant_cost": (120, 0),
    }
    await store.settle(reservation, 120)  # a retry must not charge twice
    await store.settle(reservation, 999)
    await store.release(reservation)  # nor give back a turn that was settled
    assert view(await store.status(ALICE, NOW)) == settled


async def test_release_gives_everything_back_once(make_store: Any) -> None:
    store = await make_store()
    first = await store.reserve(ALICE, 700, NOW)
    other = await store.reserve(ALICE, 300, NOW)
    await store.release(first)
    await store.release(first)
    await store.settle(first, 50)  # a released turn stays uncharged
    assert view(await store.status(ALICE, NOW)) == {
        "user_turns": (0, 1),
        "tenant_turns": (0, 1),
        "user_cost": (0, 300),
        "tenant_cost": (0, 300),
    }
    await store.settle(other, 300)
    assert view(await store.status(ALICE, NOW))["user_cost"] == (300, 0)


async def test_settle_clamps_a_negative_cost_to_zero(make_store: Any) -> None:
    store = await make_store()
    reservation = await store.reserve(ALICE, 500, NOW)
    await store.settle(reservation, -40)
    assert view(await store.status(ALICE, NOW))["user_cost"] == (0, 0)


async def test_cost_cap_denies_and_charges_no_bucket(make_store: Any) -> None:
    store = await make_store(user_daily_cost_cap_micros=1_000)
    held = await store.reserve(ALICE, 600, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(ALICE, 401, NOW)
    assert denied.value.reason == "cost_cap_exceeded"
    assert denied.value.bucket == "user_cost"
    # Retry after the end of the UTC day (NOW is 2026-09-21 14:13:20 UTC).
    assert denied.value.retry_after_s == 86400 - (int(NOW) % 86400)
    # All or nothing: the denied reservation left no turn counted or held.
    assert view(await store.status(ALICE, NOW)) == {
        "user_turns": (0, 1),
        "tenant_turns": (0, 1),
        "user_cost": (0, 600),
        "tenant_cost": (0, 600),
    }
    exact = await store.reserve(ALICE, 400, NOW)  # exactly up to the cap fits
    await store.release(held)
    await store.release(exact)


async def test_tenant_cap_counts_every_user_of_the_tenant(make_store: Any) -> None:
    store = await make_store(tenant_monthly_cost_cap_micros=1_000)
    await store.reserve(ALICE, 800, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(BOB, 300, NOW)
    assert (denied.value.reason, denied.value.bucket) == ("cost_cap_exceeded", "tenant_cost")
    await store.reserve(CAROL, 1_000, NOW)  # another tenant's month


async def test_rate_limit_per_user_and_per_tenant(make_store: Any) -> None:
    store = await make_store(
        rate_limit_user_turns=2, rate_limit_tenant_turns=3, rate_limit_window_s=60
    )
    await store.reserve(ALICE, 0, NOW)
    await store.reserve(ALICE, 0, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(ALICE, 0, NOW)
    assert (denied.value.reason, denied.value.bucket) == ("rate_limited", "user_turns")
    assert 1 <= denied.value.retry_after_s <= 60
    await store.reserve(BOB, 0, NOW)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(BOB, 0, NOW)
    assert denied.value.bucket == "tenant_turns"
    # The next window starts from zero.
    await store.reserve(ALICE, 0, NOW + 60)


async def test_released_turns_do_not_count_against_the_rate_limit(make_store: Any) -> None:
    store = await make_store(rate_limit_user_turns=1)
    reservation = await store.reserve(ALICE, 10, NOW)
    await store.release(reservation)
    again = await store.reserve(ALICE, 10, NOW)
    await store.settle(again, 10)
    with pytest.raises(QuotaDenied):
        await store.reserve(ALICE, 10, NOW)


async def test_expired_holds_are_charged_in_full_never_given_back(make_store: Any) -> None:
    store = await make_store(reservation_ttl_s=60)
    old = await store.reserve(ALICE, 400, NOW)
    fresh = await store.reserve(ALICE, 100, NOW + 5)  # same rate window
    assert await store.release_expired(NOW + 30) == 0
    charged = await store.charge_expired(NOW + 61)
    assert [(c.reservation_id, c.amount_micros) for c in charged] == [(old.id, 400)]
    assert await store.release_expired(NOW + 62) == 0  # idempotent
    # The lapsed hold still counts against the cap (as spend now): nothing frees room
    # a turn that may still have spent it could overrun.
    assert view(await store.status(ALICE, NOW)) == {
        "user_turns": (1, 1),
        "tenant_turns": (1, 1),
        "user_cost": (400, 100),
        "tenant_cost": (400, 100),
    }
    # A worker that comes back late replaces the charge by the real spend, once.
    await store.settle(old, 250)
    assert view(await store.status(ALICE, NOW))["user_cost"] == (250, 100)
    await store.settle(old, 250)
    await store.settle(fresh, 80)
    assert view(await store.status(ALICE, NOW)) == {
        "user_turns": (2, 0),
        "tenant_turns": (2, 0),
        "user_cost": (330, 0),
        "tenant_cost": (330, 0),
    }
    assert await store.release_expired(NOW + 10_000) == 0  # settled holds are never swept


async def test_a_charged_hold_writes_its_ledger_row_and_a_release_keeps_it(
    make_store: Any,
) -> None:
    from supportai.quota.ledger import UNSETTLED_MODEL
    from supportai.store import tables

    store = await make_store(reservation_ttl_s=60)
    old = await store.reserve(ALICE, 400, NOW)
    other = await store.reserve(ALICE, 100, NOW + 5)  # same rate window
    assert await store.release_expired(NOW + 61) == 1
    await store.release(old)  # the hold may have been spent: it stays charged
    assert view(await store.status(ALICE, NOW))["user_cost"] == (400, 100)
    assert view(await store.status(ALICE, NOW))["user_turns"] == (1, 1)
    await store.release(other)
    assert view(await store.status(ALICE, NOW))["user_cost"] == (400, 0)
    async with store.database.connection() as conn:
        rows = await conn.fetch_all(sa.select(tables.usage))
    assert [(r["reservation_id"], r["model"], r["cost_micros"]) for r in rows] == [
        (old.id, UNSETTLED_MODEL, 400)
    ]
    # A late settle (here of a turn that cost nothing) replaces charge and ledger row.
    await store.settle(old, 0)
    assert view(await store.status(ALICE, NOW))["user_cost"] == (0, 0)
    async with store.database.connection() as conn:
        assert await conn.fetch_all(sa.select(tables.usage)) == []


async def test_renew_extends_the_lease_of_a_held_reservation_only(make_store: Any) -> None:
    store = await make_store(reservation_ttl_s=60)
    held = await store.reserve(ALICE, 400, NOW)
    assert await store.renew(held, NOW + 50)  # now leased until NOW + 110
    assert await store.release_expired(NOW + 100) == 0
    assert await store.release_expired(NOW + 111) == 1
    assert not await store.renew(held, NOW + 112)  # charged: no longer held
    settled = await store.reserve(ALICE, 10, NOW)
    await store.settle(settled, 5)
    assert not await store.renew(settled, NOW)


async def test_a_reservation_larger_than_the_cap_is_denied_on_an_empty_bucket(
    make_store: Any,
) -> None:
    store = await make_store(user_daily_cost_cap_micros=1_000)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(ALICE, 1_001, NOW)
    assert denied.value.bucket == "user_cost"
    assert set(view(await store.status(ALICE, NOW)).values()) == {(0, 0)}


async def test_zero_limits_mean_nothing_is_allowed(make_store: Any) -> None:
    store = await make_store(rate_limit_user_turns=0)
    with pytest.raises(QuotaDenied) as denied:
        await store.reserve(ALICE, 0, NOW)
    assert denied.value.reason == "rate_limited"


async def test_an_exhausted_bucket_refuses_even_a_zero_amount(tmp_path) -> None:
    """Same rule as the Redis store: a cap of 0 means nothing, also at zero price."""
    import time

    from supportai.caller import Caller
    from supportai.quota.base import QuotaDenied
    from supportai.quota.sql import SQLQuotaStore
    from supportai.settings import Settings
    from supportai.store.database import Database
    from supportai.store.migrations import upgrade

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'z.db'}", user_daily_cost_cap_micros=0
    )
    database = Database(settings.database_url)
    await database.connect()
    await upgrade(database.url)
    store = SQLQuotaStore(database, settings)
    try:
        denied = None
        try:
            await store.reserve(Caller("t", "u"), 0, time.time())
        except QuotaDenied as exc:
            denied = exc
        assert denied is not None and denied.reason == "cost_cap_exceeded"
    finally:
        await database.disconnect()
