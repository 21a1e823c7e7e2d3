"""The settlement paths of ``supportai.quota.settlement`` on both stores, step by step.

A hold whose lease ran out is charged in full with a ledger row; the turn's late
settlement (through the unsaved-answer path, which writes its own ledger row, or
through the outbox when the store was unreachable) replaces charge and row; a turn
that cost nothing leaves neither behind. After each step: recorded spend == ledger.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
import test_overspend_burst as bursts

from supportai.caller import Caller
from supportai.quota import ledger
from supportai.quota.settlement import Spend
from supportai.settings import Settings
from supportai.store import tables

ALICE = Caller("t1", "alice")


@pytest.fixture(params=["sql", "redis"])
async def runtime(
    request: pytest.FixtureRequest, supportai_app: Any, supportai_settings: Settings, engine: str
) -> AsyncIterator[Any]:
    extra: dict[str, Any] = {"reservation_ttl_s": 60}
    prefix = f"settle-{uuid.uuid4().hex[:8]}:"
    if request.param == "redis":
        if engine != "sqlite":
            pytest.skip("the Redis store does not depend on the database engine")
        pytest.importorskip("supportai_redis")
        await bursts.redis_or_skip()
        extra.update(
            plugins=["redis"],
            quota_store="redis",
            plugin_options={"redis": {"url": bursts.REDIS_URL, "key_prefix": prefix}},
        )
    app = supportai_app(
        supportai_settings.model_copy(update=extra), load_entry_points=request.param == "redis"
    )
    runtime = app.state.supportai
    await runtime.start()
    try:
        yield runtime
    finally:
        if request.param == "redis":
            await bursts.drop_redis_prefix(prefix)


async def used_and_ledger(runtime: Any) -> tuple[int, int, list[str]]:
    status = await runtime.quota.status(ALICE, time.time())
    used = next(b.used for b in status.buckets if b.kind == "user_cost")
    async with runtime.database.connection() as conn:
        rows = await conn.fetch_all(sa.select(tables.usage.c.cost_micros, tables.usage.c.model))
    return used, sum(int(r["cost_micros"]) for r in rows), [r["model"] for r in rows]


async def test_a_lapsed_hold_is_charged_then_replaced_by_the_late_real_cost(runtime: Any) -> None:
    reservation = await runtime.quota.reserve(ALICE, 900, time.time())
    report = await runtime.heal_quota(time.time() + 61)
    assert report.charged == 1
    assert await used_and_ledger(runtime) == (900, 900, [ledger.UNSETTLED_MODEL])

    spend = Spend(ALICE, reservation, "scripted-model", 100, 50, 250)
    assert await runtime.settlements.record_unsaved(spend)
    assert await used_and_ledger(runtime) == (250, 250, ["scripted-model"])
    assert (await runtime.heal_quota(time.time() + 1000)).charged == 0


async def test_a_late_settlement_of_nothing_leaves_no_charge(runtime: Any) -> None:
    reservation = await runtime.quota.reserve(ALICE, 900, time.time())
    await runtime.heal_quota(time.time() + 61)
    spend = Spend(ALICE, reservation, "scripted-model", 0, 0, 0)
    assert await runtime.settlements.record_unsaved(spend)
    assert await used_and_ledger(runtime) == (0, 0, [])


async def test_a_queued_settlement_is_applied_by_the_sweep(runtime: Any) -> None:
    if runtime.settlements.in_database:
        pytest.skip("a store in the app database settles in the answer's transaction")
    reservation = await runtime.quota.reserve(ALICE, 900, time.time())
    # The answer's transaction committed its usage row and the outbox row; the store
    # was unreachable right after.
    async with runtime.database.connection() as conn, conn.transaction():
        await conn.execute(
            tables.usage.insert().values(
                tenant_id="t1",
                user_id="alice",
                model="scripted-model",
                input_tokens=10,
                output_tokens=10,
                cost_micros=300,
                created_at=sa.func.now(),
                reservation_id=reservation.id,
            )
        )
        await ledger.add_outbox(conn, reservation, 300)
    assert (await used_and_ledger(runtime))[0] == 0  # not applied yet: only held
    report = await runtime.heal_quota(time.time())
    assert report.applied == 1
    assert await used_and_ledger(runtime) == (300, 300, ["scripted-model"])
    async with runtime.database.connection() as conn:
        assert await conn.fetch_all(sa.select(tables.quota_outbox)) == []
    assert (await runtime.heal_quota(time.time())).applied == 0  # applied once
