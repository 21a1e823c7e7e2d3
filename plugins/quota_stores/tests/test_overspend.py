"""The guarantee the store exists for: concurrent turns never overspend a cap.

50 turns arrive at once for a cap that fits exactly 10 worst-case reservations;
exactly 10 must be admitted, whether the 50 come from one event loop or from two
operating-system processes sharing the Redis server.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from redis_quota_helpers import NOW, caller, policy

from supportai.quota.base import QuotaDenied, Reservation

pytestmark = pytest.mark.redis

WORST_CASE = 100_000  # micros held per turn
ADMITS = 10
CAP = WORST_CASE * ADMITS


@pytest.mark.parametrize(
    ("limits", "bucket"),
    [
        ({"user_daily_micros": CAP}, "user_cost"),
        ({"tenant_monthly_micros": CAP}, "tenant_cost"),
        ({"user_turns": ADMITS}, "user_turns"),
    ],
)
async def test_fifty_concurrent_reserves_admit_exactly_ten(
    make_store: Any, limits: dict[str, int], bucket: str
) -> None:
    store = make_store(policy(**limits))
    results = await asyncio.gather(
        *(store.reserve(caller(), WORST_CASE, NOW) for _ in range(50)), return_exceptions=True
    )
    admitted = [r for r in results if isinstance(r, Reservation)]
    denied = [r for r in results if isinstance(r, QuotaDenied)]
    assert len(admitted) == ADMITS
    assert len(denied) == 50 - ADMITS
    assert {d.bucket for d in denied} == {bucket}


async def test_settled_spend_never_exceeds_the_daily_cap(make_store: Any) -> None:
    # Waves of 50 concurrent turns; each admitted turn settles somewhere between
    # nothing and its worst case, and the freed room admits later waves, until
    # the day's cap is used up. At no point may spend plus holds pass the cap.
    store = make_store(policy(user_daily_micros=CAP))
    rng = random.Random(20261128)
    total_admitted = 0
    for _ in range(20):
        before = {b.kind: b for b in (await store.status(caller(), NOW)).buckets}["user_cost"]
        assert before.reserved == 0
        room = CAP - before.used
        results = await asyncio.gather(
            *(store.reserve(caller(), WORST_CASE, NOW) for _ in range(50)),
            return_exceptions=True,
        )
        assert all(isinstance(r, Reservation | QuotaDenied) for r in results)
        admitted = [r for r in results if isinstance(r, Reservation)]
        # Exactly as many as the free room allows: no more, and no fewer.
        assert len(admitted) == min(50, room // WORST_CASE)
        if not admitted:
            break
        total_admitted += len(admitted)
        await asyncio.gather(*(store.settle(r, rng.randint(0, WORST_CASE)) for r in admitted))
        after = {b.kind: b for b in (await store.status(caller(), NOW)).buckets}["user_cost"]
        assert after.used <= CAP
    assert total_admitted > ADMITS  # settling below the worst case freed room
    final = {b.kind: b for b in (await store.status(caller(), NOW)).buckets}
    assert final["user_cost"].used <= CAP
    assert CAP - final["user_cost"].used < WORST_CASE  # and the room was used up


async def test_two_processes_sharing_redis_admit_exactly_ten(
    make_store: Any, redis_url: str, key_prefix: str
) -> None:
    quota = policy(user_daily_micros=CAP)
    store = make_store(quota)  # for the checks afterwards, and to clean up the prefix
    spec = {
        "url": redis_url,
        "prefix": key_prefix,
        "tenant": "acme",
        "user": "alice",
        "amount": WORST_CASE,
        "now": NOW,
        "count": 50,
        "start_at": time.time() + 2.0,
        "policy": {
            "user_turns": quota.user_turns,
            "tenant_turns": quota.tenant_turns,
            "window_s": quota.window_s,
            "user_daily_micros": quota.user_daily_micros,
            "tenant_monthly_micros": quota.tenant_monthly_micros,
            "reservation_ttl_s": quota.reservation_ttl_s,
        },
    }
    script = str(Path(__file__).with_name("redis_quota_burst.py"))
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            script,
            json.dumps(spec),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await asyncio.wait_for(w.communicate(), timeout=60) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()
    reports = [json.loads(out) for out, _ in outputs]
    admitted = [rid for report in reports for rid in report["admitted"]]
    assert len(admitted) == ADMITS
    assert len(set(admitted)) == ADMITS
    assert sum(report["denied"] for report in reports) == 100 - ADMITS
    status = {b.kind: b for b in (await store.status(caller(), NOW)).buckets}
    assert (status["user_cost"].used, status["user_cost"].reserved) == (0, CAP)
    assert (status["user_turns"].used, status["user_turns"].reserved) == (0, ADMITS)
    # Neither worker settles: to the sweeper they are crashed workers.
    assert await store.release_expired(NOW + quota.reservation_ttl_s + 1) == ADMITS
    status = {b.kind: b for b in (await store.status(caller(), NOW)).buckets}
    assert status["user_cost"].reserved == 0


async def test_a_burst_larger_than_the_pool_waits_instead_of_failing(make_store: Any) -> None:
    # redis-py's pool raises MaxConnectionsError when exhausted; the store queues.
    store = make_store(policy(user_daily_micros=CAP), max_connections=4)
    results = await asyncio.gather(
        *(store.reserve(caller(), WORST_CASE, NOW) for _ in range(300)), return_exceptions=True
    )
    assert sum(isinstance(r, Reservation) for r in results) == ADMITS
    assert sum(isinstance(r, QuotaDenied) for r in results) == 300 - ADMITS
    assert len(store.redis.connection_pool._in_use_connections) == 0
    assert len(store.redis.connection_pool._available_connections) <= 4


async def test_no_free_connection_within_the_pool_timeout_is_unavailable(
    make_store: Any,
) -> None:
    from supportai.quota.base import QuotaStoreUnavailable

    store = make_store(max_connections=1, pool_timeout_s=0.05)
    async with store._slot():  # the only connection is busy
        with pytest.raises(QuotaStoreUnavailable, match="no free Redis connection"):
            await store.reserve(caller(), WORST_CASE, NOW)
    await store.reserve(caller(), WORST_CASE, NOW)
