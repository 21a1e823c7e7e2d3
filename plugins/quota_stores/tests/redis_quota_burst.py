"""A worker process for the cross-process test: fire N concurrent reserves at one moment.

Run as ``python redis_quota_burst.py '<json>'``; prints one JSON line with the
admitted reservation ids and the denial count. The JSON carries the Redis URL,
key prefix, tenant, user, amount, policy fields, count and a wall-clock start
time so that both processes fire together.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from supportai_redis.settings import RedisQuotaSettings
from supportai_redis.store import RedisQuotaStore

from supportai.caller import Caller
from supportai.quota.base import QuotaDenied, QuotaPolicy


async def burst(spec: dict[str, Any]) -> dict[str, Any]:
    store = RedisQuotaStore(
        QuotaPolicy(**spec["policy"]),
        RedisQuotaSettings(url=spec["url"], key_prefix=spec["prefix"]),
    )
    who = Caller(tenant_id=spec["tenant"], user_id=spec["user"])
    try:
        # Open the connections first, so the burst measures Redis, not connects.
        await store.redis.ping()
        await asyncio.sleep(max(spec["start_at"] - time.time(), 0))
        results = await asyncio.gather(
            *(store.reserve(who, spec["amount"], spec["now"]) for _ in range(spec["count"])),
            return_exceptions=True,
        )
    finally:
        await store.aclose()
    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, QuotaDenied)
    ]
    if unexpected:
        raise unexpected[0]
    return {
        "admitted": [r.id for r in results if not isinstance(r, BaseException)],
        "denied": sum(isinstance(r, QuotaDenied) for r in results),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(burst(json.loads(sys.argv[1])))))
