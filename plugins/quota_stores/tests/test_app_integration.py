"""Through the app: 50 concurrent turns, SUPPORTAI_QUOTA_STORE=redis, exactly 10 admitted.

Uses core's pytest plugin (``supportai.testing``): a real app on a fresh SQLite file,
an ASGI client, a scripted LLM backend, and this plugin loaded from its installed
entry point (``SUPPORTAI_PLUGINS=["redis"]``), the way a host would deploy it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from supportai.pipeline.turn import worst_case_cost
from supportai.settings import Settings
from supportai.testing import ScriptedBackend, as_user, backend_plugin

pytestmark = pytest.mark.redis

TURNS = 50
ADMITS = 10
USAGE = (40, 60)  # input/output tokens the scripted model reports for each answer


def redis_settings(base: Settings, redis_url: str, prefix: str, **overrides: Any) -> Settings:
    return base.model_copy(
        update={
            "plugins": ["redis"],
            "quota_store": "redis",
            "llm_backend": "scripted",
            "plugin_options": {"redis": {"url": redis_url, "key_prefix": prefix}},
            **overrides,
        }
    )


def build(factory: Any, settings: Settings) -> Any:
    backend = ScriptedBackend([ScriptedBackend.answer("Here is how.", usage=USAGE)])
    return factory(settings, plugins=[backend_plugin(backend)], load_entry_points=True)


async def new_conversation(client: httpx.AsyncClient) -> int:
    r = await client.post("/conversations", json={"title": "Help"}, headers=as_user())
    assert r.status_code == 200, r.text
    return int(r.json()["conversation_id"])


async def turn(client: httpx.AsyncClient, cid: int) -> httpx.Response:
    return await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "How do I reset my password?"},
        headers={**as_user(), "accept": "application/json"},
    )


@pytest.fixture
def caps(supportai_app: Any, supportai_settings: Settings, redis_url: str,
         clean_prefix: str) -> tuple[int, int]:
    """(worst case, actual cost) of one turn, from an app that never serves a request."""
    probe = build(supportai_app, redis_settings(supportai_settings, redis_url, clean_prefix))
    runtime = probe.state.supportai
    assert runtime.quota.name == "redis"
    worst = worst_case_cost(runtime, "How do I reset my password?")
    actual = runtime.settings.price_for("scripted-model").cost_micros(*USAGE)
    assert 0 < actual < worst
    return worst, actual


async def test_fifty_concurrent_turns_through_the_app_admit_exactly_ten(
    supportai_app: Any, supportai_client: Any, supportai_settings: Settings,
    redis_url: str, clean_prefix: str, caps: tuple[int, int],
) -> None:
    worst, actual = caps
    settings = redis_settings(
        supportai_settings, redis_url, clean_prefix, user_daily_cost_cap_micros=ADMITS * worst
    )
    client = supportai_client(build(supportai_app, settings))
    conversations = [await new_conversation(client) for _ in range(TURNS)]

    responses = await asyncio.gather(*(turn(client, cid) for cid in conversations))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * ADMITS + [429] * (TURNS - ADMITS), [r.text for r in responses]
    denied = [r.json() for r in responses if r.status_code == 429]
    assert {body["reason"] for body in denied} == {"cost_cap_exceeded"}
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)

    quota = (await client.get("/quota", headers=as_user())).json()
    assert quota["user_cost_micros"]["reserved"] == 0
    assert quota["user_cost_micros"]["used"] == ADMITS * actual <= ADMITS * worst
    assert quota["user_turns"]["used"] == ADMITS
    assert quota["user_turns"]["reserved"] == 0

    # The numbers came from Redis, under this test's prefix, not from the SQL store.
    raw: Redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [key async for key in raw.scan_iter(match=clean_prefix + "*")]
    finally:
        await raw.aclose()
    assert any(":u:u1:cost:" in key for key in keys)


async def test_two_app_workers_share_one_budget(
    supportai_app: Any, supportai_client: Any, supportai_settings: Settings,
    redis_url: str, clean_prefix: str, caps: tuple[int, int],
) -> None:
    # Two apps (as two workers behind a load balancer would be) on one database and
    # one Redis: 25 turns each, at once, against room for 10.
    worst, _ = caps
    settings = redis_settings(
        supportai_settings, redis_url, clean_prefix, user_daily_cost_cap_micros=ADMITS * worst
    )
    first = supportai_client(build(supportai_app, settings))
    second = supportai_client(build(supportai_app, settings))
    conversations = [await new_conversation(first) for _ in range(TURNS)]
    clients = [first, second] * (TURNS // 2)

    responses = await asyncio.gather(
        *(turn(client, cid) for client, cid in zip(clients, conversations, strict=True))
    )

    assert sum(r.status_code == 200 for r in responses) == ADMITS
    assert sum(r.status_code == 429 for r in responses) == TURNS - ADMITS
    quota = (await second.get("/quota", headers=as_user())).json()
    assert quota["user_turns"]["used"] == ADMITS
    assert quota["user_cost_micros"]["reserved"] == 0
