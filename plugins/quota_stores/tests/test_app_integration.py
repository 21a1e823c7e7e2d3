"""Through the app: 50 concurrent turns, SUPPORTAI_QUOTA_STORE=redis, exactly 10 admitted.

Uses core's pytest plugin (``supportai.testing``): a real app on a fresh SQLite file,
an ASGI client, a scripted LLM backend, and this plugin loaded from its installed
entry point (``SUPPORTAI_PLUGINS=["redis"]``), the way a host would deploy it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from supportai.pipeline.budget import worst_case_cost
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
            # Rate windows aligned with UTC days, like the daily cost bucket, so a test
            # that crosses a minute boundary still reads the window its turns used.
            "rate_limit_window_s": 86_400,
            **overrides,
        }
    )


def build(factory: Any, settings: Settings, gate: asyncio.Event | None = None) -> Any:
    """An app whose model answers only once ``gate`` is set (if given)."""
    answer = ScriptedBackend.answer("Here is how.", usage=USAGE)
    script = [gate.wait, *answer] if gate is not None else answer
    backend = ScriptedBackend([script])
    app = factory(settings, plugins=[backend_plugin(backend)], load_entry_points=True)
    app.state.test_backend = backend
    return app


async def all_turns_decided(
    apps: list[Any], responses: list[asyncio.Task[httpx.Response]], gate: asyncio.Event
) -> None:
    """Open ``gate`` once every turn was either refused or reached the model.

    Until then no admitted turn can settle, so no reservation shrinks to its real
    cost and frees room for a latecomer: all 50 compete for the same 10 slots, as
    they would if the model were slow.
    """
    async with asyncio.timeout(30):
        while True:
            reached = sum(len(app.state.test_backend.requests) for app in apps)
            refused = sum(task.done() for task in responses)
            if reached + refused >= len(responses):
                break
            await asyncio.sleep(0.01)
    gate.set()


def utc_day() -> int:
    return int(time.time() // 86_400)


def skip_if_the_day_changed(day: int) -> None:
    """The app reserves at the wall clock; across midnight UTC its buckets change."""
    if utc_day() != day:
        pytest.skip("the test crossed midnight UTC, so its day buckets changed under it")


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
def caps(
    supportai_app: Any, supportai_settings: Settings, redis_url: str, clean_prefix: str
) -> tuple[int, int]:
    """(worst case, actual cost) of one turn, from an app that never serves a request."""
    probe = build(supportai_app, redis_settings(supportai_settings, redis_url, clean_prefix))
    runtime = probe.state.supportai
    assert runtime.quota.name == "redis"
    worst = worst_case_cost(runtime, "How do I reset my password?")
    actual = runtime.settings.price_for("scripted-model").cost_micros(*USAGE)
    assert 0 < actual < worst
    return worst, actual


async def test_fifty_concurrent_turns_through_the_app_admit_exactly_ten(
    supportai_app: Any,
    supportai_client: Any,
    supportai_settings: Settings,
    redis_url: str,
    clean_prefix: str,
    caps: tuple[int, int],
) -> None:
    worst, actual = caps
    settings = redis_settings(
        supportai_settings, redis_url, clean_prefix, user_daily_cost_cap_micros=ADMITS * worst
    )
    gate = asyncio.Event()
    app = build(supportai_app, settings, gate)
    client = supportai_client(app)
    conversations = [await new_conversation(client) for _ in range(TURNS)]

    day = utc_day()
    tasks = [asyncio.create_task(turn(client, cid)) for cid in conversations]
    await all_turns_decided([app], tasks, gate)
    responses = await asyncio.gather(*tasks)
    quota = (await client.get("/quota", headers=as_user())).json()
    skip_if_the_day_changed(day)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * ADMITS + [429] * (TURNS - ADMITS), [r.text for r in responses]
    denied = [r.json() for r in responses if r.status_code == 429]
    assert {body["reason"] for body in denied} == {"cost_cap_exceeded"}
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)

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
    supportai_app: Any,
    supportai_client: Any,
    supportai_settings: Settings,
    redis_url: str,
    clean_prefix: str,
    caps: tuple[int, int],
) -> None:
    # Two apps (as two workers behind a load balancer would be) on one database and
    # one Redis: 25 turns each, at once, against room for 10.
    worst, _ = caps
    settings = redis_settings(
        supportai_settings, redis_url, clean_prefix, user_daily_cost_cap_micros=ADMITS * worst
    )
    gate = asyncio.Event()
    apps = [build(supportai_app, settings, gate), build(supportai_app, settings, gate)]
    first, second = (supportai_client(app) for app in apps)
    conversations = [await new_conversation(first) for _ in range(TURNS)]
    clients = [first, second] * (TURNS // 2)

    day = utc_day()
    tasks = [
        asyncio.create_task(turn(client, cid))
        for client, cid in zip(clients, conversations, strict=True)
    ]
    await all_turns_decided(apps, tasks, gate)
    responses = await asyncio.gather(*tasks)
    quota = (await second.get("/quota", headers=as_user())).json()
    skip_if_the_day_changed(day)

    assert sum(r.status_code == 200 for r in responses) == ADMITS
    assert sum(r.status_code == 429 for r in responses) == TURNS - ADMITS
    assert quota["user_turns"]["used"] == ADMITS
    assert quota["user_cost_micros"]["reserved"] == 0
